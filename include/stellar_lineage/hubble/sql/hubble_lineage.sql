-- Creators and children of a whole batch of accounts from Hubble, in ONE scan.
--
-- Parameters (values are never formatted into this text):
--   @accounts      ARRAY<STRING>  the batch (G... addresses)
--   @since         TIMESTAMP      lower bound on closed_at; the network's first ledger unless the
--                                 caller knows a later bound (prunes MONTH partitions)
--   @max_children  INT64          children returned per account (the total count is always exact)
-- Identifiers {project}, {dbt_dataset}, {dataset} come from validated settings (letters, digits,
-- '-', '_'), because BigQuery cannot take table names as parameters.
--
-- Output rows, one of two kinds:
--   kind='creator': subject = account of the batch; related = its funder; created_at,
--                   starting_balance, ledger of that creation
--   kind='child'  : subject = funder in the batch; related = the child; created_at,
--                   starting_balance, ledger; child_total = exact number of distinct children
-- (Full-line comments are stripped before sending: bqemulator miscounts @names inside comments.)
--
-- Why this shape (cost, per reference/hubble_bigquery.md "Plan E"; BigQuery bills the
-- full referenced columns after partition pruning, NULL = 0 bytes, clustering is not in the estimate):
--   * enriched_history_operations, not history_operations: it carries `successful`, so failed
--     transactions are excluded in the same scan (history_operations has no success flag).
--   * `funder IS NOT NULL` instead of `type = 0`: funder is set only on create_account rows, so it
--     costs ~58 B x 4e7 create rows (~2 GB) while `type` is 8 B x every operation (~80 GB).
--     `account`, `funder`, `starting_balance` are sparse in the same way (~5 GB together).
--   * the dense columns we cannot avoid: `closed_at` (creation time + partition column, 8 B/row) and
--     `successful` (1 B/row): ~90 GB at ~1e10 operations. Total ~95 GB, ~$0.54 at $6.25/TiB, the
--     same for 1 or 10,000 accounts — hence one query per batch.
--   * ledger: from history_ledgers joined on closed_at (ledger close times strictly increase, so
--     closed_at identifies one ledger): 16 B x 6.1e7 ledgers, ~1 GB. Reading enriched's own
--     `ledger_sequence`/`op_id` instead would add 8 B x every operation (~80 GB, over the 145 GB cap).
--   * NOT selected: the creating transaction hash. `transaction_hash` is a dense 66-byte column
--     (~660 GB per scan, ~$3.75); it is left null here and documented as a gap.
--   * merged + re-created accounts: the creator is the funder of the LATEST successful
--     create_account of the account (QUALIFY ... closed_at DESC); a child created twice by the same
--     funder is listed once (its latest creation).
WITH creations AS (
  SELECT account, funder, closed_at, starting_balance
  FROM `{project}.{dbt_dataset}.enriched_history_operations`
  WHERE funder IS NOT NULL
    AND successful
    AND closed_at >= @since
    AND (account IN UNNEST(@accounts) OR funder IN UNNEST(@accounts))
),
creators AS (
  SELECT account AS subject, funder, closed_at, starting_balance
  FROM creations
  WHERE account IN UNNEST(@accounts)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY account ORDER BY closed_at DESC, funder) = 1
),
children AS (
  SELECT funder AS subject, account, closed_at, starting_balance
  FROM creations
  WHERE funder IN UNNEST(@accounts)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY funder, account ORDER BY closed_at DESC) = 1
),
ranked_children AS (
  SELECT subject, account, closed_at, starting_balance,
         ROW_NUMBER() OVER (PARTITION BY subject ORDER BY closed_at, account) AS rn,
         COUNT(*) OVER (PARTITION BY subject) AS child_total
  FROM children
),
found AS (
  SELECT 'creator' AS kind, subject, funder AS related, closed_at, starting_balance,
         CAST(NULL AS INT64) AS child_total
  FROM creators
  UNION ALL
  SELECT 'child' AS kind, subject, account AS related, closed_at, starting_balance, child_total
  FROM ranked_children
  WHERE rn <= @max_children
)
SELECT found.kind AS kind, found.subject AS subject, found.related AS related,
       found.closed_at AS created_at, found.starting_balance AS starting_balance,
       found.child_total AS child_total, ledgers.sequence AS ledger
FROM found
LEFT JOIN `{project}.{dataset}.history_ledgers` AS ledgers
  ON ledgers.closed_at = found.closed_at
ORDER BY subject, kind DESC, created_at, related
