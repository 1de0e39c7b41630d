-- The running sums kept row by row, in one of 16 shards chosen by row id: migration 0006_ledger_sums made these
-- triggers, and 0008_sums_by_transaction replaced them with triggers per statement sharded by transaction
-- (../ledger_sums.pg.sql); 0008's downgrade brings them back.

CREATE OR REPLACE FUNCTION everypenny_add_to_ledger_sums() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION everypenny_count_paid_donations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.paid_pence > 0 OR TG_OP = 'UPDATE' AND OLD.paid_pence = 0 AND NEW.paid_pence > 0 THEN
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        VALUES (NEW.appeal_id, NEW.id % 16, 1)
        ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
    ELSIF TG_OP = 'UPDATE' AND OLD.paid_pence > 0 AND NEW.paid_pence = 0 THEN
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        VALUES (NEW.appeal_id, NEW.id % 16, -1)
        ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION everypenny_add_to_ledger_sums();
CREATE TRIGGER donations_paid_count AFTER INSERT OR UPDATE OF paid_pence ON donations
    FOR EACH ROW EXECUTE FUNCTION everypenny_count_paid_donations();
