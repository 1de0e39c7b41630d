-- A transfer moves between two accounts of its own appeal and currency; a post or void resolves a pending
-- transfer between the same accounts, posting no more than was pending and voiding all of it. Checked once
-- per INSERT statement over the rows it inserted, not by a trigger call per row: a batch of charge reports
-- posts hundreds of transfers in one statement. Migration 0014_hot_path.

CREATE FUNCTION everypenny_check_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM inserted_transfers n
        LEFT JOIN ledger_accounts d ON d.id = n.debit_account_id AND d.appeal_id = n.appeal_id
            AND d.currency = n.currency
        LEFT JOIN ledger_accounts c ON c.id = n.credit_account_id AND c.appeal_id = n.appeal_id
            AND c.currency = n.currency
        WHERE d.id IS NULL OR c.id IS NULL
    ) THEN
        RAISE EXCEPTION 'a ledger transfer must move between two accounts of its own appeal and currency'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF EXISTS (
        SELECT 1 FROM inserted_transfers n WHERE n.phase IN ('post', 'void') AND NOT EXISTS (
            SELECT 1 FROM ledger_transfers p WHERE p.id = n.pending_id
            AND p.phase = 'pending' AND p.debit_account_id = n.debit_account_id
            AND p.credit_account_id = n.credit_account_id AND n.amount_pence <= p.amount_pence
            AND (n.phase = 'post' OR n.amount_pence = p.amount_pence))
    ) THEN
        RAISE EXCEPTION 'a post or void must resolve a pending transfer between the same accounts, posting no more than was pending and voiding all of it'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_transfers_check AFTER INSERT ON ledger_transfers
    REFERENCING NEW TABLE AS inserted_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_check_transfers();
