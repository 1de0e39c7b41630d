-- The proof's records are append-only: the hash chain, payouts to the beneficiary (a mistake is corrected by a
-- reversing transfer) and the log of donor erasures. Migration 0005_ledger_proof; everypenny_refuse_change()
-- is in ledger_rules.pg.sql.

CREATE TRIGGER ledger_chain_append_only BEFORE UPDATE OR DELETE ON ledger_chain
    FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change(
        'the ledger chain is append-only: a sealed entry is never changed or removed');
CREATE TRIGGER ledger_chain_no_truncate BEFORE TRUNCATE ON ledger_chain
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_refuse_change(
        'the ledger chain is append-only: a sealed entry is never changed or removed');

CREATE TRIGGER payouts_append_only BEFORE UPDATE OR DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change(
        'payouts are immutable: correct one with a reversing transfer');
CREATE TRIGGER payouts_no_truncate BEFORE TRUNCATE ON payouts
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_refuse_change(
        'payouts are immutable: correct one with a reversing transfer');

CREATE TRIGGER donor_erasures_append_only BEFORE UPDATE OR DELETE ON donor_erasures
    FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change('the erasure log is append-only');
CREATE TRIGGER donor_erasures_no_truncate BEFORE TRUNCATE ON donor_erasures
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_refuse_change('the erasure log is append-only');
