-- Running sums of the ledger and of paid donations, so totals cost the same at a million donations as at ten.
-- Each transfer adds its own sides, and releases its pending transfer's amount, to one of 16 shard rows per
-- account and kind (chosen by its id). Migration 0006_ledger_sums. (`WHERE true` keeps SQLite from reading
-- ON CONFLICT as a join's ON.)

CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
BEGIN
    INSERT INTO ledger_account_sums (account_id, kind, shard, posted_pence, pending_pence)
    SELECT account_id, kind, NEW.id % 16, sum(posted), sum(pending) FROM (
        SELECT NEW.debit_account_id AS account_id, NEW.kind AS kind,
               CASE WHEN NEW.phase IN ('single', 'post') THEN NEW.amount_pence ELSE 0 END AS posted,
               CASE WHEN NEW.phase = 'pending' THEN NEW.amount_pence ELSE 0 END AS pending
        UNION ALL
        SELECT NEW.credit_account_id, NEW.kind,
               CASE WHEN NEW.phase IN ('single', 'post') THEN -NEW.amount_pence ELSE 0 END,
               CASE WHEN NEW.phase = 'pending' THEN -NEW.amount_pence ELSE 0 END
        UNION ALL
        SELECT p.debit_account_id, p.kind, 0, -p.amount_pence FROM ledger_transfers p WHERE p.id = NEW.pending_id
        UNION ALL
        SELECT p.credit_account_id, p.kind, 0, p.amount_pence FROM ledger_transfers p WHERE p.id = NEW.pending_id
    ) m
    WHERE true GROUP BY account_id, kind
    ON CONFLICT (account_id, kind, shard) DO UPDATE SET
        posted_pence = ledger_account_sums.posted_pence + excluded.posted_pence,
        pending_pence = ledger_account_sums.pending_pence + excluded.pending_pence;
END;

CREATE TRIGGER donations_paid_count_insert AFTER INSERT ON donations
WHEN NEW.paid_pence > 0
BEGIN
    INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
    VALUES (NEW.appeal_id, NEW.id % 16, 1)
    ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
END;

CREATE TRIGGER donations_paid_count_paid AFTER UPDATE OF paid_pence ON donations
WHEN OLD.paid_pence = 0 AND NEW.paid_pence > 0
BEGIN
    INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
    VALUES (NEW.appeal_id, NEW.id % 16, 1)
    ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
END;

CREATE TRIGGER donations_paid_count_unpaid AFTER UPDATE OF paid_pence ON donations
WHEN OLD.paid_pence > 0 AND NEW.paid_pence = 0
BEGIN
    INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
    VALUES (NEW.appeal_id, NEW.id % 16, -1)
    ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
END;
