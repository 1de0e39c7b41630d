-- A ledger transfer is never changed or removed (a mistake is corrected by a reversing transfer), and an
-- account is never changed or removed once made. Migration 0001_foundation.

CREATE FUNCTION everypenny_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change(
        'ledger transfers are immutable: correct them with a reversing transfer');
CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_refuse_change(
        'ledger transfers are immutable: correct them with a reversing transfer');
CREATE TRIGGER ledger_accounts_fixed BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change('ledger accounts cannot be changed or removed');
