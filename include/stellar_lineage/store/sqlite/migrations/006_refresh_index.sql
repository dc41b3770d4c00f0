-- Refresh policy (issue 16): COMPLETE records collected more than stellar_lineage_refresh_after_days
-- ago are re-collected. completed_at is when a record last became COMPLETE (a collection), written by
-- the UPDATE that completes it (complete, complete_many: one write, no trigger round trip); the partial
-- index makes "COMPLETE since before X" an index range per network whatever the table size. Depends
-- only on the lineage table of 001 (not on any other migration).
ALTER TABLE lineage ADD COLUMN completed_at TEXT;

-- Rows completed before this migration: their last change is the best known collection time.
UPDATE lineage SET completed_at = updated_at WHERE status = 'COMPLETE';

CREATE INDEX lineage_complete_age ON lineage (network_name, completed_at) WHERE status = 'COMPLETE';
