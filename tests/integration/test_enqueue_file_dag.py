"""dag.test() of stellar_lineage_enqueue_file: a 100,000-line file in one run, bad lines by number
(never by content, seeds masked), CSV columns, the queue asset event, clear failures."""

from __future__ import annotations

import io
import os

import pytest
from stellar_sdk import StrKey

from include.stellar_lineage.bulk_enqueue import enqueue_lines
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.dag_env import run_dag
from tests.support.seed_shapes import DERIVED

pytestmark = pytest.mark.slow_module(40)  # rough wall time (s): started first under pytest-xdist

DAG_ID = "stellar_lineage_enqueue_file"


def addresses(n: int, salt: int = 0) -> list[str]:
    return [StrKey.encode_ed25519_public_key(((salt << 40) + i).to_bytes(32, "big")) for i in range(n)]


@pytest.fixture
def store(monkeypatch, tmp_path, airflow_db):
    path = tmp_path / "lineage.db"
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(path))
    s = SqliteLineageStore(path)
    yield s
    s.close()


def test_a_100000_line_file_in_one_run_with_bad_lines_by_number(store, tmp_path):
    good = addresses(100_000)
    lines = list(good)
    bad = {1234: good[5][:-1] + ("A" if good[5][-1] != "A" else "B"), 50_000: "hello", 99_999: DERIVED}
    for number, text in bad.items():
        lines[number - 1] = text  # line numbers are 1-based
    path = tmp_path / "accounts.txt"
    path.write_text("\n".join(lines) + "\n")
    ok, states, dr = run_dag(DAG_ID, path=str(path), network="public", format="auto", column="", conn_id="")
    assert ok, states
    report = dr.get_task_instance("enqueue_file").xcom_pull(task_ids="enqueue_file")
    assert report["lines"] == 100_000 and report["valid"] == 100_000 - 3 and report["added"] == 100_000 - 3
    assert [(r["line"], r["reason"][:20]) for r in report["invalid"]] == [
        (1234, "bad checksum or enco"),
        (50_000, "account addresses st"),
        (99_999, "contains a secret se"),
    ]
    assert DERIVED not in repr(report) and "hello" not in repr(report)
    assert store.queue_depth("public") == 100_000 - 3
    assert store.get("public", good[-1]).status == "PENDING"


def test_csv_with_header_column_and_duplicates(store):
    good = addresses(4, salt=7)
    text = "name,account,note\nalice," + good[0] + ',x\nbob,"' + good[1] + '",y\ncarol,,z\ndave,' + good[0] + ",w\n"
    report = enqueue_lines(store, io.StringIO(text), "testnet")
    assert report["valid"] == 2 and report["duplicates"] == 1 and report["blank"] == 1
    by_index = enqueue_lines(store, io.StringIO(f"{good[2]};{good[3]}\n"), "testnet", fmt="csv", column="1")
    assert by_index["valid"] == 1 and store.get("testnet", good[3]) is not None
    with pytest.raises(ValueError, match="not in the header"):
        enqueue_lines(store, io.StringIO(text), "testnet", column="wallet")


def test_unreadable_path_and_no_valid_line_fail_clearly(store, tmp_path):
    ok, states, _ = run_dag(DAG_ID, path=str(tmp_path / "missing.csv"), network="public")
    assert not ok and states["enqueue_file"] == "failed"
    junk = tmp_path / "junk.txt"
    junk.write_text("nope\nstill nope\n")
    ok, states, _ = run_dag(DAG_ID, path=f"file://{junk}", network="public")
    assert not ok and states["enqueue_file"] == "failed"
    assert os.path.exists(junk) and store.queue_depth() == 0
