-- A transfer moves between two accounts of its own appeal and currency; a post or void resolves a pending
-- transfer between the same accounts, posting no more than was pending and voiding all of it. Checked row by
-- row before insert. Migration 0001_foundation.

CREATE TRIGGER ledger_transfers_check_accounts BEFORE INSERT ON ledger_transfers
WHEN (SELECT count(*) FROM ledger_accounts a WHERE a.id IN (NEW.debit_account_id, NEW.credit_account_id)
      AND a.appeal_id = NEW.appeal_id AND a.currency = NEW.currency) <> 2
BEGIN SELECT RAISE(ABORT, 'a ledger transfer must move between two accounts of its own appeal and currency'); END;

CREATE TRIGGER ledger_transfers_check_resolution BEFORE INSERT ON ledger_transfers
WHEN NEW.phase IN ('post', 'void') AND NOT EXISTS (
    SELECT 1 FROM ledger_transfers p WHERE p.id = NEW.pending_id
    AND p.phase = 'pending' AND p.debit_account_id = NEW.debit_account_id
    AND p.credit_account_id = NEW.credit_account_id AND NEW.amount_pence <= p.amount_pence
    AND (NEW.phase = 'post' OR NEW.amount_pence = p.amount_pence))
BEGIN SELECT RAISE(ABORT, 'a post or void must resolve a pending transfer between the same accounts, posting no more than was pending and voiding all of it'); END;
