-- Refresh policy (issue 16): COMPLETE records collected more than stellar_lineage_refresh_after_days
-- ago are re-collected. completed_at is when a record last became COMPLETE (a collection), kept by a
-- trigger on every transition into COMPLETE, so no code path can forget it; the partial index makes
-- "COMPLETE since before X" an index range per network whatever the table size. Depends only on the
-- lineage table of 001 (not on any other migration).
ALTER TABLE lineage ADD COLUMN completed_at TEXT;

-- Rows completed before this migration: their last change is the best known collection time.
UPDATE lineage SET completed_at = updated_at WHERE status = 'COMPLETE';

CREATE INDEX lineage_complete_age ON lineage (network_name, completed_at) WHERE status = 'COMPLETE';

CREATE TRIGGER lineage_completed_at AFTER UPDATE OF status ON lineage
WHEN new.status = 'COMPLETE' AND old.status IS NOT 'COMPLETE' BEGIN
    UPDATE lineage SET completed_at = new.updated_at
    WHERE network_name = new.network_name AND stellar_account = new.stellar_account;
END;
