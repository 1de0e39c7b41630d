-- The proof's records are append-only: the hash chain, payouts to the beneficiary (a mistake is corrected by a
-- reversing transfer) and the log of donor erasures. Migration 0005_ledger_proof.

CREATE TRIGGER ledger_chain_refuse_update BEFORE UPDATE ON ledger_chain
BEGIN SELECT RAISE(ABORT, 'the ledger chain is append-only: a sealed entry is never changed or removed'); END;

CREATE TRIGGER ledger_chain_refuse_delete BEFORE DELETE ON ledger_chain
BEGIN SELECT RAISE(ABORT, 'the ledger chain is append-only: a sealed entry is never changed or removed'); END;

CREATE TRIGGER payouts_refuse_update BEFORE UPDATE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts are immutable: correct one with a reversing transfer'); END;

CREATE TRIGGER payouts_refuse_delete BEFORE DELETE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts are immutable: correct one with a reversing transfer'); END;

CREATE TRIGGER donor_erasures_refuse_update BEFORE UPDATE ON donor_erasures
BEGIN SELECT RAISE(ABORT, 'the erasure log is append-only'); END;

CREATE TRIGGER donor_erasures_refuse_delete BEFORE DELETE ON donor_erasures
BEGIN SELECT RAISE(ABORT, 'the erasure log is append-only'); END;
