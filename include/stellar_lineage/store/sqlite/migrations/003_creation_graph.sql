-- The network's creator graph (issue 15; reference/hubble_graph.md): one edge per account, the funder
-- of its latest successful create_account. op_id is the operation's TOID, which orders creations;
-- an upsert keeps the highest. Independent of the other migrations (new tables only).
CREATE TABLE creation_edges (
    network_name TEXT NOT NULL,
    account TEXT NOT NULL,
    creator TEXT NOT NULL,
    ledger INTEGER NOT NULL,
    created_at TEXT NOT NULL,         -- UTC ISO-8601, the fixed format of 001
    op_id INTEGER NOT NULL,
    PRIMARY KEY (network_name, account)
) WITHOUT ROWID;

-- Children of a creator in creation order: paged reads and counts walk this index only.
CREATE INDEX creation_edges_children ON creation_edges (network_name, creator, op_id);

-- One row per network: how far the edge table is loaded, and where an interrupted load resumes.
CREATE TABLE graph_state (
    network_name TEXT PRIMARY KEY,
    as_of_ledger INTEGER NOT NULL,
    as_of_time TEXT,
    edges INTEGER NOT NULL,
    loaded_at TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    resume_cursor TEXT
);
