"""The hash chain's rules, without a database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from everypenny.domain.chain import GENESIS_HASH, ChainVerifier, SealedTransfer, entry_hash, seal

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def transfer(id: int, amount_pence: int = 500, **changes) -> SealedTransfer:
    fields = dict(
        id=id, idempotency_key=f"donation:EP-{id:010d}", fingerprint="f" * 64, appeal="sun-ukraine-fund",
        debit="receivable:online", credit="fund:restricted", amount_pence=amount_pence, currency="GBP",
        kind="donation", phase="single", pending_id=None, reference=f"EP-{id:010d}", description="",
        created_at=NOON)
    return SealedTransfer(**(fields | changes))


def verify(entries, transfers, unsealed=(), now=NOON, published=None):
    verifier = ChainVerifier("sun-ukraine-fund", published)
    for entry in entries:
        verifier.check(entry, transfers.get(entry.transfer_id))
    return verifier.result(list(unsealed), now)


def test_each_entry_links_to_the_one_before():
    first = seal("sun-ukraine-fund", None, [transfer(1), transfer(2)], NOON)
    more = seal("sun-ukraine-fund", first[-1], [transfer(3)], NOON)

    assert [e.seq for e in first + more] == [1, 2, 3]
    assert first[0].prev_hash == GENESIS_HASH
    assert first[1].prev_hash == first[0].hash
    assert more[0].prev_hash == first[1].hash


def test_an_intact_chain_verifies():
    transfers = {i: transfer(i) for i in (1, 2, 3)}
    result = verify(seal("sun-ukraine-fund", None, list(transfers.values()), NOON), transfers)

    assert result.intact and result.entries_checked == 3 and result.head.seq == 3


def test_every_field_of_a_transfer_is_covered_by_its_hash():
    original = transfer(1)
    changes = dict(
        idempotency_key="other", fingerprint="0" * 64, debit="bank", credit="fund:surplus", amount_pence=501,
        currency="EUR", kind="refund", phase="pending", pending_id=7, reference="EP-OTHER", description="x",
        created_at=NOON + timedelta(microseconds=1), id=2)
    for name, value in changes.items():
        assert entry_hash(1, GENESIS_HASH, replace(original, **{name: value})) != \
            entry_hash(1, GENESIS_HASH, original), name


def test_an_altered_transfer_is_named_as_the_first_break():
    transfers = {i: transfer(i) for i in (1, 2, 3)}
    entries = seal("sun-ukraine-fund", None, list(transfers.values()), NOON)
    transfers[2] = replace(transfers[2], amount_pence=50)

    result = verify(entries, transfers)

    assert not result.intact
    assert (result.first_break.seq, result.first_break.transfer_id) == (2, 2)
    assert "altered" in str(result.first_break)


def test_a_removed_transfer_or_entry_is_caught():
    transfers = {i: transfer(i) for i in (1, 2, 3)}
    entries = seal("sun-ukraine-fund", None, list(transfers.values()), NOON)

    removed_transfer = verify(entries, {1: transfers[1], 3: transfers[3]})
    removed_entry = verify([entries[0], entries[2]], transfers)

    assert "removed" in removed_transfer.first_break.reason
    assert removed_entry.first_break.seq == 3 and "missing" in removed_entry.first_break.reason


def test_a_rewritten_entry_breaks_the_link_after_it():
    transfers = {i: transfer(i) for i in (1, 2)}
    entries = seal("sun-ukraine-fund", None, list(transfers.values()), NOON)
    forged = replace(entries[0], hash=entry_hash(1, GENESIS_HASH, replace(transfers[1], amount_pence=1)))

    result = verify([forged, entries[1]], {1: replace(transfers[1], amount_pence=1), 2: transfers[2]})

    assert result.first_break.seq == 2 and "previous-hash" in result.first_break.reason


def test_transfers_never_sealed_are_reported_after_the_grace_period():
    result = verify([], {}, unsealed=[(1, NOON - timedelta(hours=1)), (2, NOON - timedelta(seconds=5))])

    assert not result.intact
    assert result.unsealed_overdue == [1] and result.unsealed_recent == 1


def test_a_chain_rewritten_from_the_start_is_caught_only_by_a_published_head():
    transfers = {i: transfer(i) for i in (1, 2)}
    original = seal("sun-ukraine-fund", None, list(transfers.values()), NOON)
    transfers[1] = replace(transfers[1], amount_pence=1)
    rewritten = seal("sun-ukraine-fund", None, list(transfers.values()), NOON)

    assert verify(rewritten, transfers).intact
    caught = verify(rewritten, transfers, published={2: original[1].hash})
    assert caught.first_break.seq == 2 and "published" in caught.first_break.reason
