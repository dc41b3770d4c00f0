"""Command line of ``python -m include.stellar_lineage.export`` (see that module's docstring).

Exit status: 0 written, 1 bad input or store error (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from typing import TextIO

from include.stellar_lineage import export
from include.stellar_lineage.config import ConfigError, Settings, parse_settings
from include.stellar_lineage.records import NETWORKS, PipelineSource, Status
from include.stellar_lineage.validation import InvalidAddress, redact, validate_account


def since(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m include.stellar_lineage.export", description=export.__doc__)
    store = p.add_mutually_exclusive_group()
    store.add_argument("--sqlite", metavar="PATH", help="SQLite store file (default: from the Variables)")
    store.add_argument("--cassandra-conn-id", metavar="ID", help="Airflow connection of a Cassandra store")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    sub = p.add_subparsers(dest="what", required=True)
    rec = sub.add_parser("records", help="NDJSON or CSV of records")
    rec.add_argument("--format", choices=sorted(export.FORMATS), default="ndjson")
    rec.add_argument("--network", choices=NETWORKS)
    rec.add_argument("--status", choices=[s.value for s in Status])
    rec.add_argument("--source", choices=[s.value for s in PipelineSource])
    rec.add_argument("--updated-since", type=since, metavar="ISO_TIME")
    graph = sub.add_parser("graph", help="GraphML or DOT of an account's lineage subgraph")
    graph.add_argument("account")
    graph.add_argument("--network", choices=NETWORKS, default="public")
    graph.add_argument("--depth", type=int, default=1, choices=range(0, 11), metavar="0..10")
    graph.add_argument("--format", choices=sorted(export.GRAPH_FORMATS), default="graphml")
    return p


def settings_for(args: argparse.Namespace) -> Settings:
    if args.sqlite:
        return parse_settings({"store_backend": "sqlite", "sqlite_path": args.sqlite})
    if args.cassandra_conn_id:
        return parse_settings({"store_backend": "cassandra", "cassandra_conn_id": args.cassandra_conn_id})
    from include.stellar_lineage.ui.providers import read_ui_settings  # Variables outside a task

    return read_ui_settings()


def chunks(store, args: argparse.Namespace) -> Iterator[str]:
    if args.what == "records":
        return export.export_records(
            store,
            args.format,
            network=args.network,
            status=args.status,
            source=args.source,
            updated_since=args.updated_since,
        )
    return export.export_graph(store, args.format, args.network, validate_account(args.account), depth=args.depth)


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    from include.stellar_lineage.store import open_store

    try:
        store = open_store(settings_for(args))
    except (ConfigError, Exception) as exc:  # noqa: BLE001 - any store failure is reported, not traced
        print(f"cannot open the lineage store: {exc}", file=sys.stderr)
        return 1
    out: TextIO = stdout or sys.stdout
    try:
        body = chunks(store, args)
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as fh:
                fh.writelines(body)
        else:
            out.writelines(body)
    except InvalidAddress as exc:
        print(f"invalid account {redact(args.account)!r}: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0
