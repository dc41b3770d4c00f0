-- Incremental refresh of the creator graph (issue 15; reference/hubble_graph.md (c)).
--
-- The snapshot's shape, restricted to creations closed at or after @since (the loaded graph's
-- as_of_time). `closed_at >= @since` is a parameter filter on the MONTH partition column of both
-- tables, so BigQuery (and its dry-run estimate) reads only the partitions from @since's month on:
-- ~1.3 GB per month kept instead of ~96 GB. Pruning does not pass through a join, so
-- history_ledgers gets its own filter. Rows of @since's month already loaded come back again and are
-- upserted idempotently (per account the highest op_id wins).
--   @since  TIMESTAMP  as_of_time of the loaded graph
WITH creations AS (
  SELECT account, funder, op_id
  FROM `{project}.{dbt_dataset}.enriched_history_operations`
  WHERE funder IS NOT NULL
    AND successful
    AND closed_at >= @since
  QUALIFY ROW_NUMBER() OVER (PARTITION BY account ORDER BY op_id DESC) = 1
),
ledgers AS (
  SELECT sequence, closed_at
  FROM `{project}.{dataset}.history_ledgers`
  WHERE closed_at >= @since
)
SELECT creations.account AS account, creations.funder AS creator, creations.op_id >> 32 AS ledger,
       ledgers.closed_at AS created_at, creations.op_id AS op_id
FROM creations
LEFT JOIN ledgers
  ON ledgers.sequence = creations.op_id >> 32
