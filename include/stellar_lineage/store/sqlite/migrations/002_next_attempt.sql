-- Whose fault is it (issue 11). Independent of the other migrations (lineage columns + new objects).
-- Per-record backoff: a record-level transient failure sets next_attempt_at; claims skip PENDING rows
-- that are not due yet. NULL = due now (every row written before this migration).
ALTER TABLE lineage ADD COLUMN next_attempt_at TEXT;

-- FAILED is not a dead end: FAILED rows are re-queued automatically (failed_rounds counts those
-- automatic rounds, bounded by a Variable). The partial index makes "FAILED since before X" an index
-- range whatever the table size.
ALTER TABLE lineage ADD COLUMN failed_rounds INTEGER NOT NULL DEFAULT 0;
CREATE INDEX lineage_failed_age ON lineage (updated_at) WHERE status = 'FAILED';

-- Records that became FAILED per hour, for the health check's "FAILED growth" (no scan).
CREATE TABLE failures_by_hour (
    network_name TEXT NOT NULL,
    hour INTEGER NOT NULL,            -- unix epoch hour (UTC)
    n INTEGER NOT NULL,
    PRIMARY KEY (network_name, hour)
);

CREATE TRIGGER lineage_failure AFTER UPDATE OF status ON lineage
WHEN new.status = 'FAILED' AND old.status IS NOT 'FAILED' BEGIN
    INSERT INTO failures_by_hour VALUES (
        new.network_name, CAST(strftime('%s', substr(new.updated_at, 1, 19)) AS INTEGER) / 3600, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
