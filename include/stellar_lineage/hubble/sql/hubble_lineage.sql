-- Creators and children of a whole batch of accounts AND of every ancestor up their creator chains,
-- from Hubble, in ONE scan.
--
-- Parameters (values are never formatted into this text):
--   @accounts      ARRAY<STRING>  the batch (G... addresses)
--   @max_children  INT64          children returned per account (the total count is always exact)
--   @max_depth     INT64          creator levels walked above each batch account (cycle bound)
-- Identifiers {project}, {dbt_dataset}, {dataset} come from validated settings (letters, digits,
-- '-', '_'), because BigQuery cannot take table names as parameters.
--
-- Output rows, one of two kinds, for every SUBJECT = an account of the batch or one of its ancestors
-- (its creator, the creator's creator, ... up to the network root):
--   kind='creator': related = the subject's funder; created_at, starting_balance, ledger and op_id of
--                   that creation
--   kind='child'  : related = a child of the subject; created_at,
--                   starting_balance, ledger, op_id; child_total = exact number of distinct children
--   every row: as_of_ledger = the last ledger Hubble has loaded (children are complete up to it;
--              Horizon supplies what came later)
-- (Full-line comments are stripped before sending: bqemulator miscounts @names inside comments.)
--
-- Why this shape (cost, reference/hubble_bigquery.md "Plan E" and reference/hubble_graph.md; BigQuery
-- bills the full referenced columns after partition pruning, NULL = 0 bytes, clustering is not in
-- the estimate):
--   * enriched_history_operations, not history_operations: it carries `successful`, so failed
--     transactions are excluded in the same scan (history_operations has no success flag).
--   * `funder IS NOT NULL` instead of `type = 0`: funder is set only on create_account rows, so it
--     costs ~58 B x 4e7 create rows (~2 GB) while `type` is 8 B x every operation (~80 GB).
--     `account`, `funder`, `starting_balance` are sparse in the same way (~5 GB together).
--   * the dense columns we cannot avoid: `op_id` (8 B/row) and `successful` (1 B/row): ~90 GB at
--     ~1e10 operations. Total ~96 GB, ~$0.55 at $6.25/TiB, the same for 1 or 10,000 accounts -
--     hence one query per batch. op_id is the TOID (ledger << 32 | tx << 12 | op): it orders
--     creations even inside one ledger (a merge and re-creation in the same ledger/second) and
--     carries the ledger, so `closed_at` (another 80 GB) is not referenced: the time comes from
--     history_ledgers joined on that ledger (16 B x 6.1e7 ledgers, ~1 GB). Without closed_at there
--     is no partition pruning, which no caller used (the bound was always the network's start).
--   * NOT selected: the creating transaction hash. `transaction_hash` is a dense 66-byte column
--     (~660 GB per scan, ~$3.75); it is left null here and documented as a gap.
--   * merged + re-created accounts: the creator is the funder of the LATEST successful
--     create_account of the account by op_id; a child created twice by the same funder is listed
--     once (its latest creation).
--   * the chain: the create rows are read once, unfiltered (the filter never reduced the bytes: columnar
--     billing), and a recursive CTE walks latest-creation edges upwards from the batch, so the batch's
--     ancestors are answered by the same scan instead of one Horizon history crawl each. Latest-creation
--     edges can form a cycle (A creates B, A merges into B, B re-creates A): the walk stops at
--     @max_depth, and subjects are de-duplicated after it. The dry run (and maximum_bytes_billed) price
--     the query as BigQuery plans it, recursion included.
WITH RECURSIVE
creations AS (
  SELECT account, funder, op_id, starting_balance
  FROM `{project}.{dbt_dataset}.enriched_history_operations`
  WHERE funder IS NOT NULL
    AND successful
),
latest AS (
  SELECT account, funder, op_id, starting_balance
  FROM creations
  QUALIFY ROW_NUMBER() OVER (PARTITION BY account ORDER BY op_id DESC) = 1
),
chain AS (
  SELECT requested AS account, 0 AS depth
  FROM UNNEST(@accounts) AS requested
  UNION ALL
  SELECT latest.funder AS account, chain.depth + 1 AS depth
  FROM chain
  JOIN latest ON latest.account = chain.account
  WHERE chain.depth < @max_depth
),
subjects AS (
  SELECT DISTINCT account FROM chain
),
creators AS (
  SELECT account AS subject, funder, op_id, starting_balance
  FROM latest
  WHERE account IN (SELECT account FROM subjects)
),
children AS (
  SELECT funder AS subject, account, op_id, starting_balance
  FROM creations
  WHERE funder IN (SELECT account FROM subjects)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY funder, account ORDER BY op_id DESC) = 1
),
ranked_children AS (
  SELECT subject, account, op_id, starting_balance,
         ROW_NUMBER() OVER (PARTITION BY subject ORDER BY op_id) AS rn,
         COUNT(*) OVER (PARTITION BY subject) AS child_total
  FROM children
),
found AS (
  SELECT 'creator' AS kind, subject, funder AS related, op_id, starting_balance,
         CAST(NULL AS INT64) AS child_total
  FROM creators
  UNION ALL
  SELECT 'child' AS kind, subject, account AS related, op_id, starting_balance, child_total
  FROM ranked_children
  WHERE rn <= @max_children
),
loaded AS (
  SELECT MAX(sequence) AS as_of_ledger FROM `{project}.{dataset}.history_ledgers`
)
SELECT found.kind AS kind, found.subject AS subject, found.related AS related,
       ledgers.closed_at AS created_at, found.starting_balance AS starting_balance,
       found.child_total AS child_total, found.op_id >> 32 AS ledger, found.op_id AS op_id,
       loaded.as_of_ledger AS as_of_ledger
FROM found
LEFT JOIN `{project}.{dataset}.history_ledgers` AS ledgers
  ON ledgers.sequence = found.op_id >> 32
CROSS JOIN loaded
ORDER BY subject, kind DESC, op_id, related
