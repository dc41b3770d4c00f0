"""Enqueue every address of a file (``stellar_lineage_enqueue_file`` DAG): streaming, no 1,000 limit.

The file is read through Airflow's ``ObjectStoragePath`` (a local path, ``file://``, ``s3://``,
``gs://`` … with an optional Connection), line by line, and enqueued in batches of ``BATCH`` valid
addresses, so a 100,000-line file needs neither the whole file nor the whole address list in memory.

Formats: one address per line, or CSV. ``auto`` reads CSV when the first line holds a comma, a
semicolon or a tab. The CSV column is ``column`` (a header name or a 0-based index); by default the
header ``account`` / ``stellar_account`` / ``address`` / ``account_id``, else the first column. A first
row whose cell is not an address but a word is the header.

Every bad line is reported by its **line number** and reason, never by its content (a seed-shaped
line is masked in the task log and refused whole). The report keeps the first ``MAX_REPORTED`` bad
lines and the exact total.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from stellar_sdk import StrKey

from include.stellar_lineage.records import NETWORKS, Priority
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.validation import SEED_REASON, InvalidAddress, looks_like_secret, validate_account

log = logging.getLogger(__name__)

BATCH = 5000
MAX_REPORTED = 1000
MAX_LOGGED = 200
HEADER_NAMES = ("account", "stellar_account", "address", "account_id")
_WRAPPERS = "\"'` \t\r\n\ufeff[](){}<>"
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]{0,63}$")


class NothingValid(ValueError):
    """No line of the file holds a valid address; nothing was enqueued."""


def open_lines(path: str, conn_id: str | None = None) -> Iterator[str]:
    """Lines of ``path`` through ``ObjectStoragePath`` (streamed, UTF-8, a BOM is dropped)."""
    from airflow.sdk import ObjectStoragePath  # imported here: never at parse time

    target = ObjectStoragePath(path, conn_id=conn_id) if conn_id else ObjectStoragePath(path)
    with target.open("r", encoding="utf-8-sig", newline="") as fh:
        yield from fh


def _cells(lines: Iterable[str], fmt: str, column: str) -> Iterator[tuple[int, str | None]]:
    """``(line number, cell)`` per data line; the cell is None for a line that has no such column."""
    it = iter(lines)
    first = next(it, None)
    if first is None:
        return
    if fmt == "auto":
        fmt = "csv" if any(sep in first for sep in ",;\t") else "lines"
    if fmt == "lines":
        yield 1, first
        for number, line in enumerate(it, start=2):
            yield number, line
        return
    dialect = csv.Sniffer().sniff(first, delimiters=",;\t") if any(s in first for s in ",;\t") else csv.excel
    head = next(csv.reader([first], dialect))
    index = _column_index(head, column)
    is_header = index < len(head) and not _is_address(head[index]) and bool(_WORD.match(head[index].strip()))
    rows = csv.reader(it, dialect)
    if not is_header:
        yield 1, head[index] if index < len(head) else None
    for number, row in enumerate(rows, start=2):
        yield number, row[index] if index < len(row) else None


def _column_index(head: list[str], column: str) -> int:
    if column.strip().isdigit():
        return int(column)
    names = [h.strip().strip("\"'").lower() for h in head]
    wanted = [column.strip().lower()] if column.strip() else list(HEADER_NAMES)
    for name in wanted:
        if name in names:
            return names.index(name)
    if column.strip():
        raise ValueError(f"CSV column {column[:40]!r} not in the header (columns: {', '.join(names[:20])})")
    return 0


def _is_address(cell: str) -> bool:
    try:
        validate_account(cell.strip(_WRAPPERS))
    except InvalidAddress:
        return False
    return True


def enqueue_lines(
    store: LineageStore,
    lines: Iterable[str],
    network: str,
    *,
    fmt: str = "auto",
    column: str = "",
    priority: Priority = Priority.REQUESTED,
    mask_secret: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Validate and enqueue every line; returns counts and the bad lines by number."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {network[:20]!r}")
    if fmt not in ("auto", "lines", "csv"):
        raise ValueError("format must be auto, lines or csv")
    out: dict[str, Any] = {
        "network": network,
        "lines": 0,
        "valid": 0,
        "added": 0,
        "reset": 0,
        "unchanged": 0,
        "duplicates": 0,
        "blank": 0,
        "invalid_total": 0,
        "invalid": [],
    }
    seen: set[str] = set()  # 100,000 addresses ≈ 10 MB: the one thing kept, so duplicates count once
    batch: list[str] = []

    def flush() -> None:
        if batch:
            result = store.enqueue(network, batch, priority=priority)
            out["added"] += len(result.added)
            out["reset"] += len(result.reset)
            out["unchanged"] += len(result.unchanged)
            batch.clear()

    def bad(number: int, reason: str) -> None:
        out["invalid_total"] += 1
        if len(out["invalid"]) < MAX_REPORTED:
            out["invalid"].append({"line": number, "reason": reason})
        if out["invalid_total"] <= MAX_LOGGED:
            log.warning("Line %d rejected: %s", number, reason)

    for number, cell in _cells(lines, fmt, column):
        out["lines"] = number
        if cell is None:
            bad(number, f"no column {column or 0} on this line")
            continue
        if looks_like_secret(cell):
            if mask_secret is not None:
                mask_secret(cell.strip())
            bad(number, SEED_REASON)
            continue
        value = cell.strip(_WRAPPERS)
        if not value:
            out["blank"] += 1
            continue
        if len(value) == 56 and value[0] == "G" and StrKey.is_valid_ed25519_public_key(value):
            address = value  # the common case in one decode; anything else gets validate_account's reason
        else:
            try:
                address = validate_account(value)
            except InvalidAddress as exc:
                bad(number, exc.reason)
                continue
        if address in seen:
            out["duplicates"] += 1
            continue
        seen.add(address)
        out["valid"] += 1
        batch.append(address)
        if len(batch) >= BATCH:
            flush()
    flush()
    out["invalid_truncated"] = out["invalid_total"] > len(out["invalid"])
    log.info(
        "File on %s: %d lines, %d valid (%d new, %d reset, %d already known), %d duplicates, %d blank, %d rejected",
        network,
        out["lines"],
        out["valid"],
        out["added"],
        out["reset"],
        out["unchanged"],
        out["duplicates"],
        out["blank"],
        out["invalid_total"],
    )
    if not out["valid"]:
        raise NothingValid(
            f"No valid address in {out['lines']} lines ({out['invalid_total']} rejected, by line number in the "
            "log); nothing was enqueued"
        )
    return out
