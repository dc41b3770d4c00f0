"""Cluster construction from the Airflow connection (no Cassandra node needed, nothing connects)."""

from __future__ import annotations

import json
import logging

import pytest
from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider

from include.stellar_lineage.store.cassandra import connect as cassandra_connect
from include.stellar_lineage.store.cassandra.connect import (
    CassandraConfigError,
    build_cluster,
)

TOKEN = "AstraCS:secret-token-value:0123456789abcdef"


def set_conn(monkeypatch, conn_id="cassandra_lineage", **fields):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "cassandra", **fields}))


class RecordingCluster:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


def test_self_hosted_goes_through_the_provider_hook(monkeypatch):
    set_conn(
        monkeypatch,
        host="10.0.0.1,10.0.0.2",
        port=9142,
        schema="lineage",
        login="app",
        password="pw",
        extra={
            "protocol_version": 5,
            "ssl_options": {"ca_certs": "/etc/ca.pem"},
            "consistency": "QUORUM",
            "serial_consistency": "LOCAL_SERIAL",
        },
    )
    cluster, keyspace, consistency = build_cluster()
    assert cluster.contact_points == ["10.0.0.1", "10.0.0.2"] and cluster.port == 9142
    assert cluster.protocol_version == 5 and cluster.ssl_options == {"ca_certs": "/etc/ca.pem"}
    assert isinstance(cluster.auth_provider, PlainTextAuthProvider)
    assert keyspace == "lineage"
    assert consistency.normal == ConsistencyLevel.QUORUM
    assert consistency.serial == ConsistencyLevel.LOCAL_SERIAL
    assert not cluster.is_shutdown and cluster.metadata.keyspaces == {}  # built, never connected


def test_astra_bundle_builds_a_cloud_cluster_with_the_token(monkeypatch, caplog):
    set_conn(
        monkeypatch,
        schema="stellarmapweb",
        password=TOKEN,
        extra={"secure_connect_bundle": "/secrets/secure-connect-db.zip", "protocol_version": 4},
    )
    monkeypatch.setattr(cassandra_connect, "Cluster", RecordingCluster)
    caplog.set_level(logging.DEBUG)
    cluster, keyspace, consistency = build_cluster()
    kwargs = cluster.kwargs
    assert kwargs["cloud"] == {"secure_connect_bundle": "/secrets/secure-connect-db.zip"}
    auth = kwargs["auth_provider"]
    assert isinstance(auth, PlainTextAuthProvider)
    assert (auth.username, auth.password) == ("token", TOKEN)
    # the driver refuses contact points / ssl options together with a cloud config
    assert not {"contact_points", "ssl_options", "port"} & set(kwargs)
    assert kwargs["protocol_version"] == 4 and keyspace == "stellarmapweb"
    assert consistency.serial == ConsistencyLevel.SERIAL
    assert TOKEN not in caplog.text


def test_astra_without_token_is_refused_without_leaking(monkeypatch):
    set_conn(monkeypatch, schema="ks", extra={"secure_connect_bundle": "/b.zip"})
    with pytest.raises(CassandraConfigError, match="application token"):
        build_cluster()


def test_astra_with_ssl_options_is_refused(monkeypatch):
    set_conn(
        monkeypatch,
        schema="ks",
        password=TOKEN,
        extra={"secure_connect_bundle": "/b.zip", "ssl_options": {"ca_certs": "x"}},
    )
    with pytest.raises(CassandraConfigError) as err:
        build_cluster()
    assert "ssl_options" in str(err.value) and TOKEN not in str(err.value)


@pytest.mark.parametrize("schema", [None, "", "bad-name", "ks; DROP KEYSPACE x"])
def test_keyspace_must_be_an_identifier(monkeypatch, schema):
    set_conn(monkeypatch, host="127.0.0.1", schema=schema)
    with pytest.raises(CassandraConfigError, match="field 'schema'"):
        build_cluster()


def test_bad_consistency_names_the_extra(monkeypatch):
    set_conn(monkeypatch, host="127.0.0.1", schema="ks", extra={"serial_consistency": "QUORUM"})
    with pytest.raises(CassandraConfigError, match="serial_consistency"):
        build_cluster()
