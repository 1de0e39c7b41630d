-- A transfer's rules checked row by row before insert: migration 0001_foundation made this trigger, and
-- 0014_hot_path replaced it with a check per statement (../transfer_checks.pg.sql); 0014's downgrade brings
-- it back.

CREATE FUNCTION everypenny_check_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM ledger_accounts a WHERE a.id IN (NEW.debit_account_id, NEW.credit_account_id)
        AND a.appeal_id = NEW.appeal_id AND a.currency = NEW.currency) <> 2 THEN
        RAISE EXCEPTION 'a ledger transfer must move between two accounts of its own appeal and currency'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.phase IN ('post', 'void') AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers p WHERE p.id = NEW.pending_id
        AND p.phase = 'pending' AND p.debit_account_id = NEW.debit_account_id
        AND p.credit_account_id = NEW.credit_account_id AND NEW.amount_pence <= p.amount_pence
        AND (NEW.phase = 'post' OR NEW.amount_pence = p.amount_pence)
    ) THEN
        RAISE EXCEPTION 'a post or void must resolve a pending transfer between the same accounts, posting no more than was pending and voiding all of it'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_transfers_check BEFORE INSERT ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION everypenny_check_transfer();
