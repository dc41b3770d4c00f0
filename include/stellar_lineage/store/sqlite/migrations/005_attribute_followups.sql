-- Graph mode (issue 15): records completed from the creator graph alone wait here for their Horizon
-- attribute fetch, the lowest-priority work of the API path. claim_owner/claimed_at make a claim
-- atomic and recoverable: a claim older than the stale threshold is taken again. Independent of the
-- other migrations (only the table and index of this file).
CREATE TABLE IF NOT EXISTS attribute_followups (
    network_name TEXT NOT NULL,
    stellar_account TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    claim_owner TEXT,
    claimed_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (network_name, stellar_account)
);
CREATE INDEX IF NOT EXISTS attribute_followups_order ON attribute_followups (enqueued_at);
