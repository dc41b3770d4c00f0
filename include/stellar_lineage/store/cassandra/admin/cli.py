"""Apply or check the Cassandra store's schema from the command line.

    python -m include.stellar_lineage.store.cassandra.admin --conn-id cassandra_lineage
    python -m include.stellar_lineage.store.cassandra.admin --check
    python -m include.stellar_lineage.store.cassandra.admin --create-keyspace --replication 1
    python -m include.stellar_lineage.store.cassandra.admin --recount    # repair counter drift
    python -m include.stellar_lineage.store.cassandra.admin \
        --copy-seed-table stellarmapweb.stellar_creator_account_lineage

The connection is an Airflow Connection (metadata DB, secrets backend or ``AIRFLOW_CONN_<ID>``
environment variable); the keyspace is its ``schema`` field. Migrating a seed deployment runs a
one-off backfill of the existing rows (see ``backfill.py``): stop the workers first.
Exit status: 0 done/up to date, 1 schema missing (``--check``) or error; no secret is ever printed.
"""

from __future__ import annotations

import argparse
import logging
import sys

from include.stellar_lineage.store.base import SchemaError
from include.stellar_lineage.store.cassandra.connect import (
    DEFAULT_CONN_ID,
    CassandraConfigError,
    build_cluster,
)

log = logging.getLogger("stellar_lineage.cassandra_migrate")


def replication(spec: str) -> str:
    """``3`` -> SimpleStrategy RF 3; ``dc1:3,dc2:2`` -> NetworkTopologyStrategy."""
    if spec.isdigit():
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {int(spec)}}}"
    parts = []
    for item in spec.split(","):
        dc, _, rf = item.partition(":")
        if not dc.replace("_", "").replace("-", "").isalnum() or not rf.isdigit():
            raise argparse.ArgumentTypeError(f"bad replication {spec!r}: use N or dc1:N,dc2:M")
        parts.append(f"'{dc}': {int(rf)}")
    return "{'class': 'NetworkTopologyStrategy', " + ", ".join(parts) + "}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Migrate or check the Cassandra lineage store schema.")
    parser.add_argument("--conn-id", default=DEFAULT_CONN_ID, help="Airflow connection id")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 naming what is missing")
    parser.add_argument(
        "--copy-seed-table",
        metavar="KEYSPACE.TABLE",
        help="after migrating, copy the seed's uuid-keyed lineage table (another keyspace) "
        "into this one, one row per account; stop the seed system first",
    )
    parser.add_argument(
        "--recount",
        action="store_true",
        help="after migrating, rebuild the status counters from a full scan (repairs drift "
        "left by a worker killed mid-transition; stop the workers first)",
    )
    parser.add_argument(
        "--create-keyspace", action="store_true", help="create the keyspace first if missing (not possible on Astra DB)"
    )
    parser.add_argument(
        "--replication", type=replication, default="1", help="with --create-keyspace: N (SimpleStrategy) or dc1:N,dc2:M"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    from include.stellar_lineage.store.cassandra import CassandraLineageStore

    try:
        cluster, keyspace, consistency = build_cluster(args.conn_id)
    except CassandraConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        session = cluster.connect()
        if args.create_keyspace:
            session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {args.replication}")
        store = CassandraLineageStore(session, keyspace, consistency=consistency, check=False)
        if not args.check:
            applied = store.migrate()
            print(f"keyspace {keyspace}: applied {', '.join(applied) if applied else 'nothing (up to date)'}")
        store.check_schema()
        print(f"keyspace {keyspace}: schema OK")
        if args.copy_seed_table:
            from include.stellar_lineage.store.cassandra.admin.seed_copy import (
                copy_seed_table,
            )

            done = copy_seed_table(store, args.copy_seed_table, log=log)
            print(
                f"keyspace {keyspace}: copied {done['inserted']} of {done['accounts']} accounts "
                f"({done['scanned']} seed rows) from {args.copy_seed_table}"
            )
        if args.recount:
            from include.stellar_lineage.store.cassandra.admin.backfill import backfill, index_complete, index_failed

            done = backfill(store, log=log)
            failed = index_failed(store, log=log)
            complete = index_complete(store, log=log)
            print(
                f"keyspace {keyspace}: recounted {done['rows']} rows, re-indexed {done['adopted']}, "
                f"{failed} FAILED rows in the failed index, {complete} COMPLETE rows in the complete index"
            )
        return 0
    except SchemaError as exc:
        print(f"schema error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # bad --copy-seed-table argument / not a seed table
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(main())
