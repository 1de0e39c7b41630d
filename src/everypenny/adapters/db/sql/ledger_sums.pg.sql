-- Running sums of the ledger and of paid donations, so totals cost the same at a million donations as at ten.
-- Migration 0008_sums_by_transaction: kept per statement (a COPY or a worker's batch updates each sum row once),
-- in a shard of 16 that the transaction claims for itself (everypenny_shard(): the first free one, held by a
-- transaction-level advisory lock in namespace 0x65700000, "ep", until the transaction ends), so writers side
-- by side never share a counter row: they neither wait on one another nor deadlock.

CREATE FUNCTION everypenny_shard() RETURNS smallint LANGUAGE plpgsql AS $$
DECLARE
    claimed text := nullif(current_setting('everypenny.shard', true), '');
    first integer := txid_current() % 16;
BEGIN
    IF claimed IS NOT NULL THEN
        RETURN claimed::smallint;
    END IF;
    FOR step IN 0..15 LOOP
        IF pg_try_advisory_xact_lock(1701838848, (first + step) % 16) THEN
            PERFORM set_config('everypenny.shard', ((first + step) % 16)::text, true);
            RETURN (first + step) % 16;
        END IF;
    END LOOP;
    PERFORM pg_advisory_xact_lock(1701838848, first);  -- every shard busy: wait for ours
    PERFORM set_config('everypenny.shard', first::text, true);
    RETURN first;
END $$;

-- The signed movements of the transfers a statement inserted: their own sides, and the release of the pending
-- transfers they post or void.
CREATE FUNCTION everypenny_add_to_ledger_sums() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account_sums (account_id, kind, shard, posted_pence, pending_pence)
    SELECT account_id, kind, everypenny_shard(), sum(posted), sum(pending) FROM (
        SELECT n.debit_account_id AS account_id, n.kind,
               CASE WHEN n.phase IN ('single', 'post') THEN n.amount_pence ELSE 0 END AS posted,
               CASE WHEN n.phase = 'pending' THEN n.amount_pence ELSE 0 END AS pending
        FROM inserted_transfers n
        UNION ALL
        SELECT n.credit_account_id, n.kind,
               CASE WHEN n.phase IN ('single', 'post') THEN -n.amount_pence ELSE 0 END,
               CASE WHEN n.phase = 'pending' THEN -n.amount_pence ELSE 0 END
        FROM inserted_transfers n
        UNION ALL
        SELECT p.debit_account_id, p.kind, 0, -p.amount_pence
        FROM inserted_transfers n JOIN ledger_transfers p ON p.id = n.pending_id
        UNION ALL
        SELECT p.credit_account_id, p.kind, 0, p.amount_pence
        FROM inserted_transfers n JOIN ledger_transfers p ON p.id = n.pending_id
    ) m
    GROUP BY account_id, kind
    ON CONFLICT (account_id, kind, shard) DO UPDATE SET
        posted_pence = ledger_account_sums.posted_pence + excluded.posted_pence,
        pending_pence = ledger_account_sums.pending_pence + excluded.pending_pence;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
    REFERENCING NEW TABLE AS inserted_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_add_to_ledger_sums();

CREATE FUNCTION everypenny_count_paid_donations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        SELECT appeal_id, everypenny_shard(), count(*) FROM inserted_donations WHERE paid_pence > 0 GROUP BY appeal_id
        ON CONFLICT (appeal_id, shard) DO UPDATE
            SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
    ELSE
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        SELECT n.appeal_id, everypenny_shard(),
               sum(CASE WHEN o.paid_pence = 0 AND n.paid_pence > 0 THEN 1
                        WHEN o.paid_pence > 0 AND n.paid_pence = 0 THEN -1 ELSE 0 END)
        FROM updated_donations n JOIN donations_before o ON o.id = n.id
        WHERE (o.paid_pence = 0) <> (n.paid_pence = 0)
        GROUP BY n.appeal_id
        ON CONFLICT (appeal_id, shard) DO UPDATE
            SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
    END IF;
    RETURN NULL;
END $$;
-- PostgreSQL refuses transition tables on a trigger with a column list: these fire on every UPDATE.
CREATE TRIGGER donations_paid_count_insert AFTER INSERT ON donations
    REFERENCING NEW TABLE AS inserted_donations
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_count_paid_donations();
CREATE TRIGGER donations_paid_count_update AFTER UPDATE ON donations
    REFERENCING OLD TABLE AS donations_before NEW TABLE AS updated_donations
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_count_paid_donations();
