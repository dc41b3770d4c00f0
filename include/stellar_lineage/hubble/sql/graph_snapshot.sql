-- The whole network's creator graph in ONE scan (issue 15; reference/hubble_graph.md (a)).
--
-- One row per account that ever had a successful create_account: the funder of its LATEST successful
-- creation. op_id is the operation's TOID (ledger << 32 | tx << 12 | op): it orders creations even
-- inside one ledger and carries the ledger, so no dense closed_at/ledger_sequence column of
-- enriched_history_operations is referenced (each would add 8 B x every operation, ~80 GB).
-- Billed columns: op_id (~80 GB) + successful (~10 GB) + the sparse account/funder (~5 GB) +
-- history_ledgers sequence/closed_at (~1 GB) = ~96 GB, ~$0.55: the scan ONE batch query pays.
-- `funder IS NOT NULL` selects create_account rows (funder is set only there; cheaper than `type`).
-- `funder` is the G address also when the funder was muxed (funder_muxed holds the M form); the loader
-- still resolves any M address it sees. No parameters; {project}/{dataset}/{dbt_dataset} are
-- validated identifiers. The caller wraps this in CREATE TABLE ... AS (a short-lived table).
WITH creations AS (
  SELECT account, funder, op_id
  FROM `{project}.{dbt_dataset}.enriched_history_operations`
  WHERE funder IS NOT NULL
    AND successful
  QUALIFY ROW_NUMBER() OVER (PARTITION BY account ORDER BY op_id DESC) = 1
)
SELECT creations.account AS account, creations.funder AS creator, creations.op_id >> 32 AS ledger,
       ledgers.closed_at AS created_at, creations.op_id AS op_id
FROM creations
LEFT JOIN `{project}.{dataset}.history_ledgers` AS ledgers
  ON ledgers.sequence = creations.op_id >> 32
