-- Dashboard trends, per-pipeline latency and the recent-accounts list (issue 16 item 8; trends.py).
-- Independent of the other migrations: two lineage columns, new tables, index and triggers.
-- enqueued_at: when the record last entered the queue from outside it (a re-request of FAILED/INVALID,
-- a FAILED re-queue, a refresh of COMPLETE); NULL = its first enqueue, created_at.
-- finished_at: when it last went PROCESSING -> COMPLETE/FAILED/INVALID (set by that UPDATE); NULL while
-- queued or in flight.
ALTER TABLE lineage ADD COLUMN enqueued_at TEXT;
ALTER TABLE lineage ADD COLUMN finished_at TEXT;

-- Rows finished before this migration: their updated_at is the best known finish time, so the recent
-- list covers them at once (the trend counters below start at the migration instead).
UPDATE lineage SET finished_at = updated_at WHERE status IN ('COMPLETE', 'FAILED', 'INVALID');

-- The recent list walks this index backwards (newest first); only finished rows are in it.
CREATE INDEX lineage_recent ON lineage (network_name, finished_at, stellar_account) WHERE finished_at IS NOT NULL;

-- Terminal transitions per UTC hour, pipeline and outcome; latency_ms sums enqueue -> COMPLETE times.
CREATE TABLE outcomes_by_hour (
    network_name TEXT NOT NULL,
    hour INTEGER NOT NULL,            -- unix epoch hour (UTC)
    pipeline TEXT NOT NULL,           -- trends.trend_pipeline: API, BIGQUERY, GRAPH
    outcome TEXT NOT NULL,            -- COMPLETE, FAILED, INVALID
    n INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    PRIMARY KEY (network_name, hour, pipeline, outcome)
) WITHOUT ROWID;

-- Histogram of enqueue -> COMPLETE latency per UTC hour and pipeline (bounds: trends.LATENCY_BOUNDS_S).
CREATE TABLE latency_by_hour (
    network_name TEXT NOT NULL,
    hour INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (network_name, hour, pipeline, bucket)
) WITHOUT ROWID;

-- A record leaving a terminal state for the queue starts a new request: new enqueue time, not finished.
CREATE TRIGGER lineage_requeued AFTER UPDATE OF status ON lineage
WHEN new.status = 'PENDING' AND old.status IN ('COMPLETE', 'FAILED', 'INVALID') BEGIN
    UPDATE lineage SET enqueued_at = new.updated_at, finished_at = NULL
    WHERE network_name = new.network_name AND stellar_account = new.stellar_account;
END;

-- Every terminal transition, in the same transaction as the row change (whichever code path made it).
-- finished_at is written by the transition's own UPDATE (store.py): a second row update here would
-- nearly double the cost of a bulk completion (graph mode).
CREATE TRIGGER lineage_outcome AFTER UPDATE OF status ON lineage
WHEN old.status = 'PROCESSING' AND new.status IN ('COMPLETE', 'FAILED', 'INVALID') BEGIN
    INSERT INTO outcomes_by_hour (network_name, hour, pipeline, outcome, n, latency_ms)
    SELECT new.network_name, hour, pipeline, new.status, 1, CASE WHEN new.status = 'COMPLETE' THEN ms ELSE 0 END
    FROM (SELECT
        CAST(strftime('%s', substr(new.updated_at, 1, 19)) AS INTEGER) / 3600 AS hour,
        CASE WHEN new.claim_pipeline = 'GRAPH'
                  OR (new.status = 'COMPLETE' AND new.claim_pipeline = 'API' AND new.pipeline_source = 'BIGQUERY')
             THEN 'GRAPH' ELSE coalesce(new.claim_pipeline, 'UNKNOWN') END AS pipeline,
        max(0, CAST(round((julianday(new.updated_at) - julianday(coalesce(new.enqueued_at, new.created_at)))
                          * 86400000) AS INTEGER)) AS ms)
    WHERE true
    ON CONFLICT DO UPDATE SET n = n + 1, latency_ms = latency_ms + excluded.latency_ms;
    INSERT INTO latency_by_hour (network_name, hour, pipeline, bucket, n)
    SELECT new.network_name, hour, pipeline,
        CASE
            WHEN ms <= 1000 THEN 0
            WHEN ms <= 2000 THEN 1
            WHEN ms <= 5000 THEN 2
            WHEN ms <= 10000 THEN 3
            WHEN ms <= 20000 THEN 4
            WHEN ms <= 30000 THEN 5
            WHEN ms <= 60000 THEN 6
            WHEN ms <= 120000 THEN 7
            WHEN ms <= 300000 THEN 8
            WHEN ms <= 600000 THEN 9
            WHEN ms <= 1200000 THEN 10
            WHEN ms <= 1800000 THEN 11
            WHEN ms <= 3600000 THEN 12
            WHEN ms <= 7200000 THEN 13
            WHEN ms <= 21600000 THEN 14
            WHEN ms <= 86400000 THEN 15
            WHEN ms <= 259200000 THEN 16
            WHEN ms <= 604800000 THEN 17
            ELSE 18
        END, 1
    FROM (SELECT
        CAST(strftime('%s', substr(new.updated_at, 1, 19)) AS INTEGER) / 3600 AS hour,
        CASE WHEN new.claim_pipeline = 'GRAPH'
                  OR (new.claim_pipeline = 'API' AND new.pipeline_source = 'BIGQUERY')
             THEN 'GRAPH' ELSE coalesce(new.claim_pipeline, 'UNKNOWN') END AS pipeline,
        max(0, CAST(round((julianday(new.updated_at) - julianday(coalesce(new.enqueued_at, new.created_at)))
                          * 86400000) AS INTEGER)) AS ms)
    WHERE new.status = 'COMPLETE'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
