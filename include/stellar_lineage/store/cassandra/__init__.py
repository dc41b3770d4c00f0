"""The Cassandra / DataStax Astra DB store (production): CQL migrations in ``cql/``, admin tools in
``admin/`` (``python -m include.stellar_lineage.store.cassandra.admin --help``)."""

from include.stellar_lineage.store.cassandra.store import CassandraLineageStore

__all__ = ["CassandraLineageStore"]
