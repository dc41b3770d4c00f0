"""Build a Cassandra driver ``Cluster`` from the Airflow Connection (self-hosted or DataStax Astra DB).

Self-hosted clusters go through the provider's ``CassandraHook`` unchanged (host = comma-separated
contact points, port, login/password, ``schema`` = keyspace, extras ``load_balancing_policy[_args]``,
``ssl_options``, ``protocol_version``, ``cql_version``).

Astra DB is not supported by the hook (it never passes ``cloud=``, and the driver refuses contact
points together with a cloud config), so when the connection's extras name a secure-connect bundle we
build the ``Cluster`` here instead::

    {"secure_connect_bundle": "/path/secure-connect-db.zip"}   # application token = the password

The application token (``AstraCS:…``) is the connection password and is only handed to
``PlainTextAuthProvider``; it is never logged nor put in an error message. Our own extras:

* ``secure_connect_bundle`` (path) - Astra mode; ``login`` defaults to the literal ``token``.
* ``consistency`` (default ``LOCAL_QUORUM``) / ``serial_consistency`` (``SERIAL`` or ``LOCAL_SERIAL``,
  default ``SERIAL``) - used by the store's reads, writes and lightweight transactions.
* ``connect_timeout`` (seconds, default 10).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

DEFAULT_CONN_ID = "cassandra_lineage"
_KEYSPACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


class CassandraConfigError(ValueError):
    """The Airflow connection cannot describe a usable Cassandra/Astra cluster."""


@dataclasses.dataclass(frozen=True)
class Consistency:
    normal: int = ConsistencyLevel.LOCAL_QUORUM
    serial: int = ConsistencyLevel.SERIAL


def valid_keyspace(name: str | None, *, conn_id: str = "") -> str:
    # The keyspace is interpolated into CQL text (identifiers cannot be bound), so it must be a plain
    # identifier; anything else is refused before it reaches a statement.
    if not name or not _KEYSPACE_RE.match(name):
        where = f"connection {conn_id!r} field 'schema'" if conn_id else "keyspace"
        raise CassandraConfigError(f"{where} must be a Cassandra keyspace name (letters, digits, _; got {name!r})")
    return name


def consistency_from_extras(extras: dict[str, Any]) -> Consistency:
    def level(key: str, default: str, allowed: tuple[str, ...] | None = None) -> int:
        name = str(extras.get(key, default)).upper()
        if name not in ConsistencyLevel.name_to_value or (allowed and name not in allowed):
            raise CassandraConfigError(
                f"connection extra {key!r}={name!r} is not a consistency level"
                + (f" (use one of {', '.join(allowed)})" if allowed else "")
            )
        return ConsistencyLevel.name_to_value[name]

    return Consistency(
        normal=level("consistency", "LOCAL_QUORUM"),
        serial=level("serial_consistency", "SERIAL", ("SERIAL", "LOCAL_SERIAL")),
    )


def astra_cluster_kwargs(conn: Any) -> dict[str, Any]:
    """Keyword arguments for ``Cluster`` for an Astra DB connection (no network I/O)."""
    extras = conn.extra_dejson
    bundle = extras.get("secure_connect_bundle")
    if not conn.password:
        raise CassandraConfigError(
            f"connection {conn.conn_id!r} has a secure_connect_bundle but no password: put the Astra "
            "application token (AstraCS:...) in the password field"
        )
    for forbidden in ("ssl_options",):
        if extras.get(forbidden):
            raise CassandraConfigError(
                f"connection {conn.conn_id!r}: {forbidden} cannot be combined with secure_connect_bundle "
                "(the bundle carries the TLS material)"
            )
    kwargs: dict[str, Any] = {
        "cloud": {"secure_connect_bundle": str(bundle)},
        "auth_provider": PlainTextAuthProvider(conn.login or "token", conn.password),
        "connect_timeout": float(extras.get("connect_timeout", 10)),
    }
    if extras.get("protocol_version"):
        kwargs["protocol_version"] = int(extras["protocol_version"])
    return kwargs


def build_cluster(conn_id: str = DEFAULT_CONN_ID) -> tuple[Cluster, str, Consistency]:
    """The (not yet connected) ``Cluster``, the keyspace and the consistency levels of ``conn_id``."""
    from airflow.providers.apache.cassandra.hooks.cassandra import CassandraHook
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extras = conn.extra_dejson
    keyspace = valid_keyspace(conn.schema, conn_id=conn_id)
    consistency = consistency_from_extras(extras)
    if extras.get("secure_connect_bundle"):
        return Cluster(**astra_cluster_kwargs(conn)), keyspace, consistency
    # Self-hosted: the provider's hook owns the mapping from connection fields to Cluster arguments.
    hook = CassandraHook(cassandra_conn_id=conn_id)
    cluster = hook.get_cluster()
    if extras.get("connect_timeout"):
        cluster.connect_timeout = float(extras["connect_timeout"])
    return cluster, keyspace, consistency
