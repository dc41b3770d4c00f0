-- One row per (network, account): the primary key makes duplicates impossible.
-- Times are UTC ISO-8601 text in one fixed format ('YYYY-MM-DDTHH:MM:SS.ffffff+00:00') so that
-- text comparison orders them. xlm_balance is the exact 7-decimal string Horizon returns.
CREATE TABLE lineage (
    network_name TEXT NOT NULL,
    stellar_account TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'PENDING',
    stellar_creator_account TEXT,
    stellar_account_created_at TEXT,
    home_domain TEXT,
    xlm_balance TEXT,
    stellar_account_attributes_json TEXT,
    stellar_account_assets_json TEXT,
    child_accounts_json TEXT,
    tags TEXT,
    pipeline_source TEXT,
    last_pipeline_attempt TEXT,
    processing_started_at TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    priority INTEGER NOT NULL DEFAULT 1,
    claim_owner TEXT,
    claim_pipeline TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (network_name, stellar_account)
);

-- Claim order and stuck lookups read these indexes, never the whole table.
CREATE INDEX lineage_claim_order ON lineage (status, priority, created_at);
CREATE INDEX lineage_processing_age ON lineage (status, processing_started_at);

-- Aggregates maintained by triggers in the same transaction as the row change, so stats are a
-- handful of small reads whatever the table size.
CREATE TABLE status_counts (
    network_name TEXT NOT NULL,
    status TEXT NOT NULL,
    pipeline_source TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (network_name, status, pipeline_source)
);

CREATE TABLE completions_by_minute (
    network_name TEXT NOT NULL,
    minute INTEGER NOT NULL,          -- unix epoch minute (UTC)
    pipeline_source TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (network_name, minute, pipeline_source)
);

CREATE TRIGGER lineage_count_insert AFTER INSERT ON lineage BEGIN
    INSERT INTO status_counts VALUES (new.network_name, new.status, coalesce(new.pipeline_source, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER lineage_count_delete AFTER DELETE ON lineage BEGIN
    UPDATE status_counts SET n = n - 1
    WHERE network_name = old.network_name AND status = old.status
      AND pipeline_source = coalesce(old.pipeline_source, '');
END;

CREATE TRIGGER lineage_count_update AFTER UPDATE OF status, pipeline_source ON lineage
WHEN old.status IS NOT new.status OR old.pipeline_source IS NOT new.pipeline_source BEGIN
    UPDATE status_counts SET n = n - 1
    WHERE network_name = old.network_name AND status = old.status
      AND pipeline_source = coalesce(old.pipeline_source, '');
    INSERT INTO status_counts VALUES (new.network_name, new.status, coalesce(new.pipeline_source, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER lineage_completion AFTER UPDATE OF status ON lineage
WHEN new.status = 'COMPLETE' AND old.status IS NOT 'COMPLETE' BEGIN
    INSERT INTO completions_by_minute VALUES (
        new.network_name,
        CAST(strftime('%s', substr(new.updated_at, 1, 19)) AS INTEGER) / 60,
        coalesce(new.pipeline_source, ''),
        1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TABLE spend_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    network_name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    usd REAL NOT NULL,
    accounts INTEGER NOT NULL,
    decision TEXT NOT NULL,
    run_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX spend_ledger_at ON spend_ledger (at);

-- Running totals so the spend summary never sums the whole ledger.
CREATE TABLE spend_totals (
    day TEXT NOT NULL,                -- UTC 'YYYY-MM-DD'
    kind TEXT NOT NULL,
    refused INTEGER NOT NULL,         -- 1 when the dry run was refused
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    usd REAL NOT NULL,
    accounts INTEGER NOT NULL,
    PRIMARY KEY (day, kind, refused)
);

CREATE TRIGGER spend_ledger_totals AFTER INSERT ON spend_ledger BEGIN
    INSERT INTO spend_totals VALUES (
        substr(new.at, 1, 10), new.kind, new.decision LIKE 'refused%', 1, new.bytes, new.usd, new.accounts)
    ON CONFLICT DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes,
        usd = usd + excluded.usd, accounts = accounts + excluded.accounts;
END;
