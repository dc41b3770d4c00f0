"""Export lineage records (NDJSON, CSV) and a lineage subgraph (GraphML, DOT), streaming.

Everything here is a generator of text chunks over ``LineageStore.iter_records`` (keyset / driver
pages) or keyed lookups, so memory stays flat whatever the table size; the plugin streams the same
generators as HTTP responses. ``parse_ndjson`` / ``parse_csv`` read an export back into records
(round trip: every field, exact balance string, aware UTC times).

    python -m include.stellar_lineage.export records --format ndjson --network public \\
        [--status COMPLETE] [--source API] [--updated-since 2026-01-01T00:00:00Z] [--out FILE]
    python -m include.stellar_lineage.export graph G... --network public --depth 2 --format graphml

The store comes from the ``stellar_lineage_*`` Variables (environment ``AIRFLOW_VAR_*`` or the
metadata DB), or ``--sqlite PATH`` / ``--cassandra-conn-id ID``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from include.stellar_lineage.records import LineageRecord
from include.stellar_lineage.store.base import LineageStore

FIELDS = [f.name for f in dataclasses.fields(LineageRecord)]
_TIMES = {f.name for f in dataclasses.fields(LineageRecord) if "datetime" in str(f.type)}
_INTS = {"retry_count", "priority", "failed_rounds"}
FORMATS = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
GRAPH_FORMATS = {"graphml": "application/graphml+xml", "dot": "text/vnd.graphviz"}
MAX_GRAPH_NODES = 50_000
# CSV has no null and the store keeps both null and "" (e.g. tags of a record completed without
# tags): null is written as \N, as PostgreSQL's COPY does, so a CSV export re-imports exactly.
CSV_NULL = "\\N"


def to_row(record: LineageRecord) -> dict[str, Any]:
    row = dataclasses.asdict(record)
    for name in _TIMES:
        if row[name] is not None:
            row[name] = row[name].astimezone(dt.timezone.utc).isoformat()
    return row


def from_row(row: dict[str, Any]) -> LineageRecord:
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = row.get(name)
        if value == CSV_NULL:
            value = None
        if value is not None and name in _TIMES:
            value = dt.datetime.fromisoformat(value)
        elif value is not None and name in _INTS:
            value = int(value)
        values[name] = value
    return LineageRecord(**values)


def iter_ndjson(records: Iterable[LineageRecord]) -> Iterator[str]:
    for record in records:
        yield json.dumps(to_row(record), separators=(",", ":"), ensure_ascii=False) + "\n"


def iter_csv(records: Iterable[LineageRecord]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: CSV_NULL if v is None else v for k, v in to_row(record).items()})
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_records(
    store: LineageStore,
    fmt: str,
    *,
    network: str | None = None,
    status: str | None = None,
    source: str | None = None,
    updated_since: dt.datetime | None = None,
) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    records = store.iter_records(network=network, status=status, source=source, updated_since=updated_since)
    return iter_ndjson(records) if fmt == "ndjson" else iter_csv(records)


def parse_ndjson(lines: Iterable[str]) -> Iterator[LineageRecord]:
    for line in lines:
        if line.strip():
            yield from_row(json.loads(line))


def parse_csv(lines: Iterable[str]) -> Iterator[LineageRecord]:
    for row in csv.DictReader(lines):
        yield from_row(row)  # \N cells are null


# --- lineage subgraph ----------------------------------------------------------------------------
def _children(record: LineageRecord) -> list[str]:
    try:
        data = json.loads(record.child_accounts_json or "{}")
    except ValueError:
        return []
    kids = data.get("children") if isinstance(data, dict) else None
    return [c["account"] for c in kids or [] if isinstance(c, dict) and c.get("account")]


def subgraph(
    store: LineageStore, network: str, account: str, *, depth: int = 1, max_nodes: int = MAX_GRAPH_NODES
) -> Iterator[tuple[str, Any]]:
    """``("node", record_or_account)`` and ``("edge", (creator, account))`` items: the creator chain
    up to the root plus descendants to ``depth`` levels (breadth first, each account once, at most
    ``max_nodes`` nodes). Accounts not in the store are nodes with no attributes."""
    found = store.lineage(network, account)
    if found is None:
        return
    seen = {account}
    previous = found["record"]
    yield "node", previous
    for ancestor in found["chain"]:
        seen.add(ancestor.stellar_account)
        yield "node", ancestor if ancestor.status != "UNKNOWN" else ancestor.stellar_account
        yield "edge", (ancestor.stellar_account, previous.stellar_account)
        previous = ancestor
    frontier: deque[tuple[LineageRecord, int]] = deque([(found["record"], 0)])
    while frontier:
        record, level = frontier.popleft()
        if level >= depth:
            continue
        kids = [k for k in _children(record) if k not in seen]
        for i in range(0, len(kids), 500):
            chunk = kids[i : i + 500]
            known = store.get_many(network, chunk)
            for kid in chunk:
                if len(seen) >= max_nodes:
                    return
                seen.add(kid)
                child = known.get(kid)
                yield "node", child or kid
                yield "edge", (record.stellar_account, kid)
                if child is not None:
                    frontier.append((child, level + 1))


_NODE_KEYS = ("status", "stellar_account_created_at", "pipeline_source", "home_domain", "tags", "xlm_balance")


def _attrs(item: Any) -> dict[str, str]:
    if isinstance(item, str):
        return {}
    row = to_row(item)
    return {k: str(row[k]) for k in _NODE_KEYS if row.get(k) not in (None, "")}


def iter_graphml(items: Iterable[tuple[str, Any]], network: str) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
    for key in _NODE_KEYS:
        yield f'  <key id="{key}" for="node" attr.name="{key}" attr.type="string"/>\n'
    yield f'  <graph id={quoteattr("lineage-" + network)} edgedefault="directed">\n'
    for kind, item in items:
        if kind == "node":
            name = item if isinstance(item, str) else item.stellar_account
            data = "".join(f'<data key="{k}">{escape(v)}</data>' for k, v in _attrs(item).items())
            yield f"    <node id={quoteattr(name)}>{data}</node>\n"
        else:
            yield f"    <edge source={quoteattr(item[0])} target={quoteattr(item[1])}/>\n"
    yield "  </graph>\n</graphml>\n"


def iter_dot(items: Iterable[tuple[str, Any]], network: str) -> Iterator[str]:
    yield f"digraph {json.dumps('lineage-' + network)} {{\n"
    for kind, item in items:
        if kind == "node":
            name = item if isinstance(item, str) else item.stellar_account
            attrs = ", ".join(f"{k}={json.dumps(v)}" for k, v in _attrs(item).items())
            yield f"  {json.dumps(name)}" + (f" [{attrs}]" if attrs else "") + ";\n"
        else:
            yield f"  {json.dumps(item[0])} -> {json.dumps(item[1])};\n"
    yield "}\n"


def export_graph(store: LineageStore, fmt: str, network: str, account: str, *, depth: int = 1) -> Iterator[str]:
    if fmt not in GRAPH_FORMATS:
        raise ValueError(f"format must be one of {', '.join(GRAPH_FORMATS)}")
    items = subgraph(store, network, account, depth=depth)
    return iter_graphml(items, network) if fmt == "graphml" else iter_dot(items, network)


def parse_graphml(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Nodes and edges of a GraphML export (for round-trip checks)."""
    import xml.etree.ElementTree as ET

    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ET.fromstring(text)
    nodes = {n.get("id") for n in root.iterfind(".//g:node", ns)}
    edges = {(e.get("source"), e.get("target")) for e in root.iterfind(".//g:edge", ns)}
    return nodes, edges  # type: ignore[return-value]


if __name__ == "__main__":
    from include.stellar_lineage.export_cli import main

    raise SystemExit(main())
