"""SQL implementations of the service layer's ports, written in SQLAlchemy Core for predictable queries."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, CursorResult, Insert, Table, any_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from everypenny import tracing
from everypenny.adapters.appeal_file import appeal_from_definition
from everypenny.adapters.db.schema import (
    appeal_changes,
    appeals,
    consent_wordings,
    consents,
    donation_paid_counts,
    donations,
    inbox_messages,
    ledger_account_sums,
    ledger_accounts,
    ledger_transfers,
    outbox_tasks,
)
from everypenny.domain.appeal import Appeal, Channel
from everypenny.domain.donation import ConsentRecord, Donation, DonationStatus, Medium
from everypenny.domain.ledger import (
    RAISING_KINDS,
    AccountCode,
    AppealTotals,
    Phase,
    Transfer,
    TransferKind,
    TransferRequest,
    UnknownAccount,
)
from everypenny.service_layer.ports import (
    AppealChange,
    DuplicateKey,
    OutboxTask,
    ParkedTask,
    StoredAppeal,
    TransferWithPending,
)

POSTED_PHASES = [Phase.SINGLE.value, Phase.POST.value]


def now() -> datetime:
    return datetime.now(UTC)


def one_of(connection: Connection, column, values: Iterable[Any]):
    """`column IN values`. On PostgreSQL as `column = ANY(array)`: one statement text whatever the number of
    values, so the server parses and plans it once per connection instead of once per batch size."""
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def update_many(connection: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]], *conditions) -> None:
    """Sets each row's other columns on the table's row whose `key` column matches (and `conditions` hold).

    On PostgreSQL one UPDATE ... FROM unnest(arrays) for the lot, so the server runs one statement, and the
    table's statement-level triggers fire once, per batch rather than per row; SQLite runs the UPDATE per row.
    Rows go in key order, so two batches updating some of the same rows tend to lock them in the same order.
    """
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row[key])
    columns = [name for name in rows[0] if name != key]
    if connection.dialect.name == "postgresql":
        arrays = [bindparam(f"{name}_values", [row[name] for row in rows], type_=postgresql.ARRAY(table.c[name].type))
                  for name in (key, *columns)]
        given = func.unnest(*arrays).table_valued(key, *columns).render_derived(name="given")
        connection.execute(update(table).where(table.c[key] == given.c[key], *conditions)
                           .values({name: given.c[name] for name in columns}))
    else:
        connection.execute(update(table).where(table.c[key] == bindparam("key_value"), *conditions)
                           .values({name: bindparam(name) for name in columns}),
                           [{"key_value": row[key], **{name: row[name] for name in columns}} for row in rows])


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *returning: str,
                skip_duplicates: bool = False) -> CursorResult:
    """Inserts the rows (all with the same keys) in the order given, returning the `returning` columns; with
    `skip_duplicates`, rows whose unique key is taken are left out.

    On PostgreSQL one INSERT ... SELECT FROM unnest(arrays): one statement text and one execution per batch,
    where an executemany runs the INSERT once per row and VALUES lists of each length are statements of their
    own to parse and plan. SQLite takes the rows as an executemany.
    """
    returned = [table.c[name] for name in returning]
    if connection.dialect.name != "postgresql":
        if skip_duplicates:
            return _insert_skipping_duplicates(connection, table, list(rows), *returning)
        return connection.execute(table.insert().returning(*returned) if returned else table.insert(), list(rows))
    columns = list(rows[0])
    arrays = [bindparam(f"{name}_values", [row[name] for row in rows], type_=postgresql.ARRAY(table.c[name].type))
              for name in columns]
    given = func.unnest(*arrays).table_valued(*columns, with_ordinality="position").render_derived(name="given")
    statement = postgresql.insert(table).from_select(
        columns, select(*(given.c[name] for name in columns)).order_by(given.c.position))
    if skip_duplicates:
        statement = statement.on_conflict_do_nothing()
    return connection.execute(statement.returning(*returned) if returned else statement)


def _insert_or_duplicate(connection: Connection, statement) -> Any:
    """Runs an insert in a savepoint so a unique-key race leaves the surrounding transaction usable."""
    try:
        with connection.begin_nested():
            return connection.execute(statement)
    except IntegrityError as error:
        raise DuplicateKey(str(error.orig)) from error


@functools.cache
def _skipping_duplicates(dialect_name: str, table: Table, *returning: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for `table`, built once per store: rows go in as parameters, so
    SQLAlchemy compiles it once rather than on every call."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def _insert_unless_present(connection: Connection, table: Table, values: dict[str, Any]) -> int | None:
    """One row, or None when its unique key is taken: one round trip where a savepoint costs three, for the
    paths a TV spike runs thousands of times a second."""
    return connection.scalar(_skipping_duplicates(connection.dialect.name, table, "id"), values)


def _insert_skipping_duplicates(connection: Connection, table: Table, rows: list[dict[str, Any]],
                                *returning: str) -> CursorResult:
    """Many rows in one round trip, skipping those whose unique key exists; returns the inserted rows'
    `returning` columns."""
    return connection.execute(_skipping_duplicates(connection.dialect.name, table, *returning), rows)


class SqlAppealRepository:
    """Remembers what it read until it saves: a batch of texts asks for the same appeals again and again."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._read: dict[str | None, Any] = {}

    def _id(self, slug: str) -> int | None:
        return self.connection.scalar(select(appeals.c.id).where(appeals.c.slug == slug))

    def get(self, slug: str) -> StoredAppeal | None:
        if slug not in self._read:
            row = self.connection.execute(select(appeals).where(appeals.c.slug == slug)).first()
            self._read[slug] = self._stored(row) if row else None
        return self._read[slug]

    @staticmethod
    def _stored(row) -> StoredAppeal:
        definition = json.loads(row.definition)
        return StoredAppeal(appeal_from_definition(definition), definition, row.definition_hash,
                            row.updated_at)

    def save(self, appeal: Appeal, definition: dict[str, Any], definition_hash: str) -> None:
        values = {"name": appeal.name, "status": appeal.status.value, "currency": appeal.currency,
                  "definition": json.dumps(definition, sort_keys=True), "definition_hash": definition_hash,
                  "updated_at": now()}
        self._read.clear()
        if self._id(appeal.slug) is None:
            self.connection.execute(appeals.insert().values(slug=appeal.slug, created_at=now(), **values))
        else:
            self.connection.execute(appeals.update().where(appeals.c.slug == appeal.slug).values(**values))

    def record_change(self, slug: str, source: str, previous_hash: str | None, new_hash: str,
                      changed_keys: list[str]) -> None:
        self.connection.execute(appeal_changes.insert().values(
            appeal_id=self._id(slug), changed_at=now(), source=source[:500], previous_hash=previous_hash,
            new_hash=new_hash, changed_keys=json.dumps(changed_keys)))

    def changes(self, slug: str) -> list[AppealChange]:
        rows = self.connection.execute(
            select(appeal_changes).join(appeals, appeals.c.id == appeal_changes.c.appeal_id)
            .where(appeals.c.slug == slug).order_by(appeal_changes.c.id))
        return [AppealChange(r.changed_at, r.source, json.loads(r.changed_keys)) for r in rows]

    def list(self) -> list[StoredAppeal]:  # last: below it in the class, `list` names this method
        if None not in self._read:
            rows = self.connection.execute(select(appeals).order_by(appeals.c.slug))
            self._read[None] = [self._stored(row) for row in rows]
        return list(self._read[None])


class _RememberedIds:
    """Row ids by natural key, remembered for one unit of work's connection: these rows are never deleted or
    re-keyed, and a batch of texts would otherwise look the same appeal or donation up again and again."""

    def __init__(self, key_column, what: str) -> None:
        self.key_column = key_column
        self.what = what
        self._known: WeakKeyDictionary[Connection, dict[str, int]] = WeakKeyDictionary()

    def __call__(self, connection: Connection, key: str) -> int:
        known = self._known.setdefault(connection, {})
        if key not in known:
            row_id = connection.scalar(select(self.key_column.table.c.id).where(self.key_column == key))
            if row_id is None:
                raise LookupError(f"no {self.what} {key!r}")
            known[key] = row_id
        return known[key]

    def remember(self, connection: Connection, key: str, row_id: int) -> None:
        self._known.setdefault(connection, {})[key] = row_id


_appeal_id = _RememberedIds(appeals.c.slug, "appeal has the slug")
_donation_id = _RememberedIds(donations.c.reference, "donation has the reference")


class SqlDonationRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @staticmethod
    def _values(donation: Donation) -> dict[str, Any]:
        return {
            "status": donation.status.value, "paid_pence": donation.paid_pence,
            "refunded_pence": donation.refunded_pence, "phone": donation.phone, "email": donation.email,
            "marketing_consent": donation.marketing_consent, "failure_reason": donation.failure_reason,
            "metadata": json.dumps(donation.metadata, sort_keys=True), "updated_at": now(),
        }

    def add(self, donation: Donation) -> None:
        self.add_many([donation])

    def add_many(self, gifts: Sequence[Donation]) -> None:
        """One statement for a batch of texts' donations; their ids are remembered for the rows that follow."""
        if not gifts:
            return
        # A batch with no partner's gift leaves the column to its NULL, as before 0019_partners added it (the
        # migration tests record gifts with this code in databases migrated only that far).
        partnered = any(donation.partner for donation in gifts)
        rows = insert_many(self.connection, donations, [dict(
            reference=donation.reference, appeal_id=_appeal_id(self.connection, donation.appeal),
            channel=donation.channel.value, amount_pence=donation.amount_pence, currency=donation.currency,
            keyword=donation.keyword, created_at=donation.created_at, **self._values(donation),
            **({"partner": donation.partner} if partnered else {}))
            for donation in gifts], "reference", "id")
        for reference, row_id in rows:
            _donation_id.remember(self.connection, reference, row_id)

    def save(self, donation: Donation) -> None:
        self.save_many([donation])

    def save_many(self, gifts: Sequence[Donation]) -> None:
        update_many(self.connection, donations, "reference",
                    [{"reference": donation.reference, **self._values(donation)} for donation in gifts])

    def _query(self):
        return select(donations, appeals.c.slug).join(appeals, appeals.c.id == donations.c.appeal_id)

    @staticmethod
    def _donation(row) -> Donation:
        return Donation(
            reference=row.reference, appeal=row.slug, channel=Channel(row.channel), amount_pence=row.amount_pence,
            currency=row.currency, created_at=row.created_at, status=DonationStatus(row.status),
            paid_pence=row.paid_pence, refunded_pence=row.refunded_pence, phone=row.phone, email=row.email,
            keyword=row.keyword, partner=row.partner, marketing_consent=row.marketing_consent,
            failure_reason=row.failure_reason,
            metadata=json.loads(row.metadata))

    def get(self, reference: str) -> Donation | None:
        return self.get_many([reference]).get(reference)

    def get_many(self, references: Sequence[str]) -> dict[str, Donation]:
        rows = self.connection.execute(self._query().where(one_of(self.connection, donations.c.reference, references)))
        found = {}
        for row in rows:
            _donation_id.remember(self.connection, row.reference, row.id)
            found[row.reference] = self._donation(row)
        return found

    def latest(self, appeal_slug: str, limit: int = 50) -> list[Donation]:
        rows = self.connection.execute(self._query().where(appeals.c.slug == appeal_slug)
                                       .order_by(donations.c.id.desc()).limit(limit))
        return [self._donation(row) for row in rows]


class SqlConsentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, consent: ConsentRecord) -> None:
        self.record_many([consent])

    def record_many(self, records: Sequence[ConsentRecord]) -> None:
        """In the order given: the last word a person gave is the one that counts."""
        if records:
            wordings = {consent.wording.version: consent.wording for consent in records if consent.wording}
            if wordings:  # each version's words stored once, whoever shows them first
                self.connection.execute(_skipping_duplicates(self.connection.dialect.name, consent_wordings), [
                    dict(version=version, model=wording.model.value, wording=wording.text)
                    for version, wording in sorted(wordings.items())])
            insert_many(self.connection, consents, [dict(
                contact=consent.contact, medium=consent.medium.value, granted=consent.granted,
                source=consent.source[:60], recorded_at=consent.recorded_at,
                appeal_id=_appeal_id(self.connection, consent.appeal) if consent.appeal else None,
                wording_version=consent.wording.version if consent.wording else None)
                for consent in records])

    def current(self, contact: str, medium: Medium) -> bool | None:
        """The person's latest word on marketing by this medium; None if they never gave one."""
        return self.current_many([contact], medium).get(contact)

    def current_from(self, contact: str, medium: Medium, source_prefix: str) -> bool | None:
        """The person's latest word given through one source (e.g. "twilio:"); None if they gave none there."""
        return self.connection.scalar(
            select(consents.c.granted)
            .where(consents.c.contact == contact, consents.c.medium == medium.value,
                   consents.c.source.startswith(source_prefix, autoescape=True))
            .order_by(consents.c.id.desc()).limit(1))

    def current_many(self, contacts: Sequence[str], medium: Medium) -> dict[str, bool]:
        """Each contact's latest word by this medium; contacts who never gave one are left out."""
        latest = (select(func.max(consents.c.id))
                  .where(one_of(self.connection, consents.c.contact, contacts), consents.c.medium == medium.value)
                  .group_by(consents.c.contact))
        rows = self.connection.execute(select(consents.c.contact, consents.c.granted)
                                       .where(consents.c.id.in_(latest.scalar_subquery())))
        return {contact: granted for contact, granted in rows}


def _transfers_with_codes():
    debit = ledger_accounts.alias("debit")
    credit = ledger_accounts.alias("credit")
    pending = ledger_transfers.alias("pending")
    return select(
        ledger_transfers, appeals.c.slug.label("appeal_slug"), debit.c.code.label("debit_code"),
        credit.c.code.label("credit_code"), pending.c.idempotency_key.label("pending_key"),
    ).select_from(
        ledger_transfers.join(appeals, appeals.c.id == ledger_transfers.c.appeal_id)
        .join(debit, debit.c.id == ledger_transfers.c.debit_account_id)
        .join(credit, credit.c.id == ledger_transfers.c.credit_account_id)
        .outerjoin(pending, pending.c.id == ledger_transfers.c.pending_id))


# Transfers with their appeal's slug, account codes and pending key. Built once: building the aliases costs
# milliseconds, and every charge of every text looks its transfers up.
TRANSFERS_WITH_CODES = _transfers_with_codes()
_RESOLUTION = ledger_transfers.alias("resolution")


class SqlLedgerRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._account_ids: dict[tuple[str, str], int] = {}

    def ensure_accounts(self, appeal_slug: str, currency: str, codes: list[str]) -> None:
        appeal_id = self._appeal_id(appeal_slug)
        existing = set(self.connection.scalars(
            select(ledger_accounts.c.code).where(ledger_accounts.c.appeal_id == appeal_id)))
        missing = [code for code in codes if code not in existing]
        if missing:
            self.connection.execute(ledger_accounts.insert(), [
                {"appeal_id": appeal_id, "code": code, "currency": currency} for code in missing])

    def _appeal_id(self, slug: str) -> int:
        try:
            return _appeal_id(self.connection, slug)
        except LookupError:
            raise UnknownAccount(slug, "(no such appeal)") from None

    def _account_id(self, appeal_slug: str, code: str) -> int:
        key = (appeal_slug, code)
        if key not in self._account_ids:
            account_id = self.connection.scalar(
                select(ledger_accounts.c.id).join(appeals, appeals.c.id == ledger_accounts.c.appeal_id)
                .where(appeals.c.slug == appeal_slug, ledger_accounts.c.code == code))
            if account_id is None:
                raise UnknownAccount(appeal_slug, code)
            self._account_ids[key] = account_id
        return self._account_ids[key]

    @staticmethod
    def _transfer(row) -> Transfer:
        return Transfer(
            idempotency_key=row.idempotency_key, appeal=row.appeal_slug, debit=row.debit_code,
            credit=row.credit_code, amount_pence=row.amount_pence, currency=row.currency,
            kind=TransferKind(row.kind), phase=Phase(row.phase), pending_key=row.pending_key,
            reference=row.reference, description=row.description, id=row.id)

    def get(self, idempotency_key: str) -> Transfer | None:
        return self.get_many([idempotency_key]).get(idempotency_key)

    def get_many(self, idempotency_keys: Sequence[str]) -> dict[str, Transfer]:
        rows = self.connection.execute(
            TRANSFERS_WITH_CODES.where(one_of(self.connection, ledger_transfers.c.idempotency_key, idempotency_keys)))
        return {row.idempotency_key: self._transfer(row) for row in rows}

    def transfers(self, appeal_slug: str, reference: str | None = None) -> list[Transfer]:
        query = TRANSFERS_WITH_CODES.where(appeals.c.slug == appeal_slug)
        if reference is not None:
            query = query.where(ledger_transfers.c.reference == reference)
        return [self._transfer(row) for row in self.connection.execute(query.order_by(ledger_transfers.c.id))]

    def with_pending_many(self, keys: Sequence[tuple[str, str | None]]) -> dict[str, TransferWithPending]:
        """For each (idempotency key, pending key): the transfer under the key, its pending transfer and whether
        something resolved that already; what recording transfers needs to know, in one round trip."""
        wanted = {key for pair in keys for key in pair if key is not None}
        resolved = select(_RESOLUTION.c.id).where(_RESOLUTION.c.pending_id == ledger_transfers.c.id).exists()
        rows = self.connection.execute(
            TRANSFERS_WITH_CODES.add_columns(resolved.label("resolved"))
            .where(one_of(self.connection, ledger_transfers.c.idempotency_key, wanted))).all()
        found = {row.idempotency_key: row for row in rows}
        answers = {}
        for key, pending_key in keys:
            existing, pending = found.get(key), found.get(pending_key) if pending_key else None
            answers[key] = TransferWithPending(self._transfer(existing) if existing else None,
                                               self._transfer(pending) if pending else None,
                                               bool(pending and pending.resolved))
        return answers

    def add_many(self, requests: Sequence[tuple[TransferRequest, int | None]]) -> list[Transfer]:
        """Records (request, pending transfer id) pairs in one statement; DuplicateKey if another writer took any
        of the keys or resolved one of the pending transfers first (the caller's transaction then rolls back)."""
        rows = [dict(
            idempotency_key=request.idempotency_key, fingerprint=request.fingerprint,
            appeal_id=self._appeal_id(request.appeal),
            debit_account_id=self._account_id(request.appeal, request.debit),
            credit_account_id=self._account_id(request.appeal, request.credit),
            amount_pence=request.amount_pence, currency=request.currency, kind=request.kind.value,
            phase=request.phase.value, pending_id=pending_id, reference=request.reference,
            description=request.description[:500], created_at=now()) for request, pending_id in requests]
        if not rows:
            return []
        ids = dict(insert_many(self.connection, ledger_transfers, rows, "idempotency_key", "id",
                               skip_duplicates=True).all())
        taken = [request.idempotency_key for request, _ in requests if request.idempotency_key not in ids]
        if taken:
            raise DuplicateKey(f"another writer recorded {taken[0]!r} or resolved its pending transfer first")
        return [Transfer.from_request(request, id=ids[request.idempotency_key]) for request, _ in requests]

    def sums(self, appeal_slug: str) -> dict[tuple[str, str], tuple[int, int]]:
        """(posted, pending) per account code and transfer kind, from the trigger-kept running sums."""
        sums = ledger_account_sums
        rows = self.connection.execute(
            select(ledger_accounts.c.code, sums.c.kind, func.sum(sums.c.posted_pence), func.sum(sums.c.pending_pence))
            .join(ledger_accounts, ledger_accounts.c.id == sums.c.account_id)
            .where(ledger_accounts.c.appeal_id == self._appeal_id(appeal_slug))
            .group_by(ledger_accounts.c.code, sums.c.kind))
        return {(code, kind): (int(posted), int(pending)) for code, kind, posted, pending in rows}

    def balances(self, appeal_slug: str) -> dict[str, tuple[int, int]]:
        """Each account's (posted, pending) balance; debits positive."""
        codes = self.connection.scalars(select(ledger_accounts.c.code).where(
            ledger_accounts.c.appeal_id == self._appeal_id(appeal_slug)))
        balances = dict.fromkeys(codes, (0, 0))
        for (code, _kind), (posted, pending) in self.sums(appeal_slug).items():
            balances[code] = (balances[code][0] + posted, balances[code][1] + pending)
        return balances

    def raised_by_gift_time(self, appeal_slug: str, boundaries: Sequence[datetime]) -> list[int]:
        """Without boundaries, from the running sums; with them, over the fund's posted transfers of gifts,
        joined to their donations for the time each gift was made (a periodic job's question, not a page's)."""
        fund = self._account_id(appeal_slug, AccountCode.RESTRICTED_FUND)
        if not boundaries:
            return [-sum(posted for (code, kind), (posted, _) in self.sums(appeal_slug).items()
                         if code == AccountCode.RESTRICTED_FUND and kind in {k.value for k in RAISING_KINDS})]
        t, d = ledger_transfers.c, donations.c
        period = case(*((d.created_at >= moment, number)
                        for number, moment in reversed(list(enumerate(boundaries, 1)))), else_=0)
        signed = case((t.credit_account_id == fund, t.amount_pence), else_=-t.amount_pence)
        rows = self.connection.execute(
            select(period, func.sum(signed)).select_from(ledger_transfers)
            .join(donations, d.reference == t.reference)
            .where(t.appeal_id == self._appeal_id(appeal_slug),
                   or_(t.debit_account_id == fund, t.credit_account_id == fund),
                   t.kind.in_([kind.value for kind in RAISING_KINDS]),
                   t.phase.in_([phase.value for phase in Phase if phase.counts_as_posted]))
            .group_by(period))
        raised = [0] * (len(boundaries) + 1)
        for number, pence in rows:
            raised[int(number)] = int(pence)
        return raised

    def totals(self, appeal_slug: str) -> AppealTotals:
        appeal_id = self._appeal_id(appeal_slug)
        currency = self.connection.execute(select(appeals.c.currency).where(appeals.c.id == appeal_id)).scalar_one()
        raising = {kind.value for kind in RAISING_KINDS}
        by_channel = dict.fromkeys((channel.value for channel in Channel), 0)
        pending_by_channel = dict.fromkeys((channel.value for channel in Channel), 0)
        for (code, kind), (posted, pending) in self.sums(appeal_slug).items():
            channel = AccountCode.channel_of(code)
            if channel is not None and kind in raising:
                by_channel[channel.value] += posted
                pending_by_channel[channel.value] += pending
        donation_count = self.connection.scalar(
            select(func.sum(donation_paid_counts.c.paid_count)).where(donation_paid_counts.c.appeal_id == appeal_id))
        return AppealTotals(currency=currency, raised_pence=sum(by_channel.values()),
                            pending_pence=sum(pending_by_channel.values()), donation_count=int(donation_count or 0),
                            by_channel=by_channel, pending_by_channel=pending_by_channel)


_PARKED = outbox_tasks.c.parked_at.is_not(None) & outbox_tasks.c.done_at.is_(None)


class SqlOutbox:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enqueue(self, topic: str, payload: dict[str, Any], dedupe_key: str | None = None,
                delay: timedelta = timedelta(0)) -> bool:
        """False when a task with this dedupe key was queued before: the work is already promised."""
        moment = now()
        values = dict(topic=topic, payload=json.dumps(tracing.carried(payload)), dedupe_key=dedupe_key,
                      created_at=moment,
                      available_at=moment + delay, attempts=0)
        return _insert_unless_present(self.connection, outbox_tasks, values) is not None

    def claim(self, limit: int, lease: timedelta, last: Sequence[str] = ()) -> list[OutboxTask]:
        """Leases due tasks, oldest first but tasks of the `last` topics only when nothing else is due; on
        PostgreSQL SKIP LOCKED lets many workers claim side by side.

        Two statements when there are `last` topics: the others' tasks by topic ranges the index of tasks to run
        answers (without reading past the backlog of the `last` ones, thousands during a spike), then, if the
        batch has room, the `last` topics' tasks in the order the index of due tasks gives them.
        """
        moment = now()
        if not last:
            return self._lease(limit, lease, moment)
        topic, last = outbox_tasks.c.topic, sorted(set(last))
        bounds = [topic < last[0], *((topic > low) & (topic < high) for low, high in pairwise(last)),
                  topic > last[-1]]
        tasks = self._lease(limit, lease, moment, or_(*bounds))
        if len(tasks) < limit:
            tasks += self._lease(limit - len(tasks), lease, moment, one_of(self.connection, topic, last))
        return sorted(tasks, key=lambda task: task.id)

    def _lease(self, limit: int, lease: timedelta, moment: datetime, *conditions) -> list[OutboxTask]:
        """Leases up to `limit` due tasks meeting `conditions`, oldest first."""
        due = (select(outbox_tasks.c.id)
               .where(outbox_tasks.c.done_at.is_(None), outbox_tasks.c.parked_at.is_(None),
                      outbox_tasks.c.available_at <= moment,
                      (outbox_tasks.c.locked_until.is_(None)) | (outbox_tasks.c.locked_until < moment), *conditions)
               .order_by(outbox_tasks.c.available_at, outbox_tasks.c.id).limit(limit))
        if self.connection.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = self.connection.execute(
            update(outbox_tasks).where(outbox_tasks.c.id.in_(due.scalar_subquery()))
            .values(locked_until=moment + lease, attempts=outbox_tasks.c.attempts + 1)
            .returning(outbox_tasks.c.id, outbox_tasks.c.topic, outbox_tasks.c.payload,
                       outbox_tasks.c.attempts))
        tasks = [OutboxTask(r.id, r.topic, json.loads(r.payload), r.attempts) for r in rows]
        return sorted(tasks, key=lambda task: task.id)

    def complete_many(self, task_ids: Sequence[int]) -> set[int]:
        """Marks the tasks done and returns those this transaction marked: a task missing from the answer
        was already done by a worker whose lease outlived ours. The rows stay locked until commit."""
        if not task_ids:
            return set()
        rows = self.connection.execute(
            update(outbox_tasks)
            .where(one_of(self.connection, outbox_tasks.c.id, task_ids), outbox_tasks.c.done_at.is_(None))
            .values(done_at=now(), locked_until=None).returning(outbox_tasks.c.id))
        return {task_id for (task_id,) in rows}

    def retry_later(self, task_id: int, error: str, delay: timedelta) -> None:
        self.connection.execute(
            update(outbox_tasks).where(outbox_tasks.c.id == task_id, outbox_tasks.c.done_at.is_(None))
            .values(available_at=now() + delay, locked_until=None, last_error=error[-4000:]))

    def park(self, task_id: int, error: str) -> None:
        self.connection.execute(
            update(outbox_tasks).where(outbox_tasks.c.id == task_id, outbox_tasks.c.done_at.is_(None))
            .values(parked_at=now(), locked_until=None, last_error=error[-4000:]))

    def parked(self) -> list[ParkedTask]:
        rows = self.connection.execute(
            select(outbox_tasks).where(_PARKED).order_by(outbox_tasks.c.parked_at, outbox_tasks.c.id))
        return [ParkedTask(r.id, r.topic, json.loads(r.payload), r.attempts, r.created_at, r.parked_at, r.last_error)
                for r in rows]

    def unpark(self, task_id: int) -> bool:
        """Due again now, with a fresh count of attempts; False when no parked task has this id."""
        return self.connection.execute(
            update(outbox_tasks).where(outbox_tasks.c.id == task_id, _PARKED)
            .values(parked_at=None, attempts=0, available_at=now())).rowcount == 1

    def dismiss(self, task_id: int, dismissed_by: str) -> bool:
        """Done without running, recording who said so; False when no parked task has this id."""
        return self.connection.execute(
            update(outbox_tasks).where(outbox_tasks.c.id == task_id, _PARKED)
            .values(done_at=now(), dismissed_by=dismissed_by)).rowcount == 1

    def depth(self) -> int:
        """Tasks still to run (parked ones wait for an admin, not a worker)."""
        return self.connection.execute(
            select(func.count()).select_from(outbox_tasks)
            .where(outbox_tasks.c.done_at.is_(None), outbox_tasks.c.parked_at.is_(None))).scalar_one()

    def oldest_due(self) -> datetime | None:
        """When the longest-due task still to run fell due: how far the workers lag (None when none is due).
        A task waiting out a retry's backoff is not due, so it is not lag."""
        return self.connection.scalar(select(func.min(outbox_tasks.c.available_at)).where(
            outbox_tasks.c.done_at.is_(None), outbox_tasks.c.parked_at.is_(None),
            outbox_tasks.c.available_at <= now()))

    def enqueue_many(self, tasks: Sequence[tuple[str, dict[str, Any], str]]) -> None:
        """Queues (topic, payload, dedupe key) tasks in one statement; a key queued before is skipped."""
        if not tasks:
            return
        moment = now()
        rows = [{"topic": topic, "payload": json.dumps(tracing.carried(payload)), "dedupe_key": key,
                 "created_at": moment, "available_at": moment, "attempts": 0} for topic, payload, key in tasks]
        insert_many(self.connection, outbox_tasks, rows, skip_duplicates=True)


class SqlInbox:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def accept(self, provider: str, message_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Stores a provider's callback once; False means we have seen this message id before."""
        return _insert_unless_present(self.connection, inbox_messages, dict(
            provider=provider, message_id=message_id, kind=kind, payload=json.dumps(payload),
            received_at=now())) is not None

    def payloads(self, provider: str, message_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The stored callbacks with these message ids, in the order they arrived."""
        if not message_ids:
            return []
        rows = self.connection.scalars(
            select(inbox_messages.c.payload).where(inbox_messages.c.provider == provider,
                                                   one_of(self.connection, inbox_messages.c.message_id, message_ids))
            .order_by(inbox_messages.c.id))
        stored = [json.loads(payload) for payload in rows]
        for payload in stored:
            tracing.taken_from(payload)  # the trace context travels with the task, not the callback
        return stored

    def accept_and_queue(self, callbacks: Sequence[tuple[str, str, str, dict[str, Any], str, str]]) -> list[bool]:
        """Stores (provider, message id, kind, payload, topic, dedupe key) callbacks and queues, for each new
        one, the task (topic, the same payload, dedupe key) that works it; for each, whether it is new (a
        repeat, stored before or earlier in the same batch, is False and queues nothing)."""
        first: dict[tuple[str, str], tuple[str, str, str, str, str, str]] = {}
        for provider, message_id, kind, payload, topic, dedupe_key in callbacks:
            if (provider, message_id) not in first:
                first[provider, message_id] = (provider, message_id, kind, json.dumps(payload), topic, dedupe_key)
        if not first:
            return []
        if self.connection.dialect.name == "postgresql":
            stored = self._store_in_one_statement(list(first.values()))
        else:
            stored = self._store_row_by_row(list(first.values()))
        answers = []
        for provider, message_id, *_ in callbacks:
            answers.append((provider, message_id) in stored)
            stored.discard((provider, message_id))  # a second copy in this batch is a repeat
        return answers

    def _store_in_one_statement(self, callbacks: list[tuple[str, str, str, str, str, str]]) -> set[tuple[str, str]]:
        columns = ("providers", "message_ids", "kinds", "payloads", "topics", "dedupe_keys")
        arrays = {name: list(values) for name, values in zip(columns, zip(*callbacks, strict=True), strict=True)}
        rows = self.connection.exec_driver_sql(_ACCEPT_AND_QUEUE, {**arrays, "moment": now()})
        return {(provider, message_id) for provider, message_id in rows}

    def _store_row_by_row(self, callbacks: list[tuple[str, str, str, str, str, str]]) -> set[tuple[str, str]]:
        """SQLite's way: the inbox rows in one executemany, then the tasks of those that went in."""
        moment = now()
        stored = {(row.provider, row.message_id) for row in _insert_skipping_duplicates(
            self.connection, inbox_messages, [
                {"provider": provider, "message_id": message_id, "kind": kind, "payload": payload,
                 "received_at": moment} for provider, message_id, kind, payload, _, _ in callbacks],
            "provider", "message_id")}
        tasks = [{"topic": topic, "payload": payload, "dedupe_key": dedupe_key, "created_at": moment,
                  "available_at": moment, "attempts": 0}
                 for provider, message_id, _, payload, topic, dedupe_key in callbacks
                 if (provider, message_id) in stored]
        if tasks:
            _insert_skipping_duplicates(self.connection, outbox_tasks, tasks)
        return stored


# PostgreSQL: a batch of callbacks in one round trip, as arrays (so the text, and the plan PostgreSQL keeps for
# it, is the same whatever the batch's size): the inbox rows not stored before, then a task for each of those.
# psycopg's own placeholders, binary (%(name)b): a text array would be escaped element by element, which costs
# more than all the rest of the batch's Python.
_ACCEPT_AND_QUEUE = """
WITH arrived AS (
    SELECT * FROM unnest(%(providers)b::TEXT[], %(message_ids)b::TEXT[], %(kinds)b::TEXT[], %(payloads)b::TEXT[],
                         %(topics)b::TEXT[], %(dedupe_keys)b::TEXT[])
        WITH ORDINALITY AS arrived (provider, message_id, kind, payload, topic, dedupe_key, position)
), stored AS (
    INSERT INTO inbox_messages (provider, message_id, kind, payload, received_at)
    SELECT provider, message_id, kind, payload, %(moment)b FROM arrived ORDER BY position
    ON CONFLICT DO NOTHING
    RETURNING provider, message_id
), queued AS (
    INSERT INTO outbox_tasks (topic, payload, dedupe_key, created_at, available_at, attempts)
    SELECT topic, payload, dedupe_key, %(moment)b, %(moment)b, 0
    FROM arrived JOIN stored USING (provider, message_id) ORDER BY position
    ON CONFLICT DO NOTHING
)
SELECT provider, message_id FROM stored
"""
