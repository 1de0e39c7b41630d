-- A ledger transfer is never changed or removed (a mistake is corrected by a reversing transfer), and an
-- account is never changed or removed once made. Migration 0001_foundation.

CREATE TRIGGER ledger_transfers_refuse_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable: correct them with a reversing transfer'); END;

CREATE TRIGGER ledger_transfers_refuse_delete BEFORE DELETE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable: correct them with a reversing transfer'); END;

CREATE TRIGGER ledger_accounts_refuse_update BEFORE UPDATE ON ledger_accounts
BEGIN SELECT RAISE(ABORT, 'ledger accounts cannot be changed or removed'); END;

CREATE TRIGGER ledger_accounts_refuse_delete BEFORE DELETE ON ledger_accounts
BEGIN SELECT RAISE(ABORT, 'ledger accounts cannot be changed or removed'); END;
