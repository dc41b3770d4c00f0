"""Read a BigQuery table with the Storage Read API in streams (reference/hubble_graph.md: ~1 s per
million rows instead of ~36 us/row of REST paging), resumable at a per-stream row offset.

The read client gets the same credentials as the BigQuery client of the Airflow Connection. For a
local emulator set ``BIGQUERY_STORAGE_EMULATOR_HOST=host:port`` (its gRPC port; test-only, like
``BIGQUERY_EMULATOR_HOST`` for REST): the client then talks plain gRPC to it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

EMULATOR_ENV = "BIGQUERY_STORAGE_EMULATOR_HOST"
MAX_MESSAGE = 256 * 2**20  # one ReadRows response can exceed gRPC's default 4 MiB receive limit
MAX_STREAMS = 4


class ReadSessionGone(RuntimeError):
    """The read session of a resumed load expired (sessions live ~6 h): start a new one."""


def read_client(credentials: Any = None) -> Any:
    from google.cloud.bigquery_storage import BigQueryReadClient

    emulator = os.environ.get(EMULATOR_ENV)
    if emulator:
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

        channel = grpc.insecure_channel(emulator, options=[("grpc.max_receive_message_length", MAX_MESSAGE)])
        return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
    from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

    channel = BigQueryReadGrpcTransport.create_channel(
        credentials=credentials, options=[("grpc.max_receive_message_length", MAX_MESSAGE)]
    )
    return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))


@dataclasses.dataclass
class StreamPosition:
    """Where a read stands: the session and the rows already consumed per stream."""

    session: str
    streams: list[str]
    offsets: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def open_session(client: Any, *, billing_project: str, table: str, max_streams: int = MAX_STREAMS) -> StreamPosition:
    """A new ARROW read session over ``project.dataset.table``."""
    from google.cloud.bigquery_storage_v1 import types

    project, dataset, name = table.split(".")
    session = client.create_read_session(
        parent=f"projects/{billing_project}",
        read_session=types.ReadSession(
            table=f"projects/{project}/datasets/{dataset}/tables/{name}", data_format=types.DataFormat.ARROW
        ),
        max_stream_count=max_streams,
    )
    streams = [s.name for s in session.streams]
    log.info("Storage Read session over %s: %d stream(s)", table, len(streams))
    return StreamPosition(session.name, streams, {s: 0 for s in streams})


def read_batches(client: Any, position: StreamPosition) -> Iterator[tuple[str, Any]]:
    """``(stream, pyarrow.RecordBatch)`` from each stream, starting at its recorded offset. The
    caller advances ``position.offsets[stream]`` once it has consumed a batch."""
    from google.api_core import exceptions as gexc

    for stream in position.streams:
        try:
            reader = client.read_rows(stream, offset=position.offsets.get(stream, 0))
            for page in reader.rows().pages:
                yield stream, page.to_arrow()
        except (gexc.NotFound, gexc.FailedPrecondition) as exc:
            raise ReadSessionGone(f"read session {position.session} is gone: {exc}") from exc
