"""The storage contract, part 1: the store's guarantees, the ports' shape, and the roles around
every event and party (inbox, users, conversations, outbox, jobs, PIN, SMS codes). Part 2, the
payment roles and the simulated rails' rows, is tests/test_storage_payments.py. Both run over
every adapter (the `store` fixture in conftest.py), on real databases."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.messages import Button, Outbound
from core.money import Money
from core.records import BankAccount, Method, SmsCode, User
from storage import base
from storage.base import (
    ConversationRows,
    DuplicateError,
    InboxRows,
    JobRows,
    OutboxRows,
    SmsCodeRows,
    StorageError,
    Store,
    Tx,
    UserRows,
)
from storage.rails_rows import RailRows, TxWithRails
from storage.sqlite import SqliteStore, migrations
from storage.tx import SqliteTx

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ASHA = User("asha", "customer", "+919812345678", "IN", "Asha", "en")
Rows = Store[TxWithRails]


def _methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


# -- the ports' shape -----------------------------------------------------------------------------
ROLES = [
    cls
    for cls in vars(base).values()
    if inspect.isclass(cls) and cls.__module__ == base.__name__ and cls.__name__.endswith("Rows")
]


def test_tx_is_exactly_the_union_of_the_product_roles_which_do_not_overlap() -> None:
    assert len(ROLES) == 11
    assert all(role in Tx.__mro__ for role in ROLES)
    owned = [name for role in ROLES for name in vars(role) if name[0] != "_"]
    assert len(owned) == len(set(owned)), "a method belongs to two roles"
    assert set(owned) == _methods(Tx)
    assert not _methods(RailRows) & _methods(Tx), "the rails' rows are not the product's"
    assert _methods(SqliteTx) == _methods(TxWithRails), "the adapter has nothing off the ports"


@pytest.mark.parametrize("role", [*ROLES, RailRows], ids=lambda role: role.__name__)
def test_each_role_has_one_sqlite_class_that_implements_just_it(role: type) -> None:
    # Each role's SQL is read in one place: the class named after it, composed into SqliteTx.
    sqlite_class = next(
        cls for cls in SqliteTx.__mro__ if cls.__name__ == f"Sqlite{role.__name__}"
    )
    assert _methods(sqlite_class) == _methods(role)


# -- the store's guarantees -----------------------------------------------------------------------
async def test_claim_makes_a_redelivery_a_no_op(store: Rows) -> None:
    assert await store.run(lambda tx: tx.claim("k1", NOW)) is True
    assert await store.run(lambda tx: tx.claim("k1", NOW)) is False


async def test_a_failing_unit_rolls_back_alone(store: Rows) -> None:
    def good(tx: InboxRows) -> str:
        tx.claim("good", NOW)
        return "ok"

    def bad(tx: InboxRows) -> None:
        tx.claim("bad", NOW)
        raise RuntimeError("boom")

    results = await asyncio.gather(store.run(good), store.run(bad), return_exceptions=True)
    assert results[0] == "ok"
    assert isinstance(results[1], RuntimeError)
    assert await store.run(lambda tx: tx.claim("good", NOW)) is False
    assert await store.run(lambda tx: tx.claim("bad", NOW)) is True


async def test_database_errors_become_storage_errors(store: Rows) -> None:
    account = BankAccount(
        "acct-1", "HDFC Bank", ASHA.phone, "123456789012", "9012", Money(5, "INR")
    )
    await store.run(lambda tx: tx.add_bank_account(account))
    # A balance below zero breaks a CHECK rule: the database refuses, the port says StorageError.
    with pytest.raises(StorageError) as refused:
        await store.run(lambda tx: tx.adjust_bank_balance("acct-1", -6))
    assert not isinstance(refused.value, DuplicateError)
    assert await store.run(lambda tx: tx.bank_account("acct-1")) == account


async def test_sqlite_errors_never_leave_the_adapter(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "e.db"))

    def broken(tx: SqliteTx) -> None:
        tx.c.execute("SELECT * FROM no_such_table")

    try:
        with pytest.raises(StorageError):
            await store.run(broken)
    finally:
        await store.close()


async def test_migrations_are_versioned_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(2):
        s = await SqliteStore.open(str(path))
        await s.close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert version == migrations()[-1][0]
    assert mode == "wal"


async def test_secrets_are_sealed_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "sealed.db"
    s = await SqliteStore.open(str(path))
    account = BankAccount(
        "acct-1", "HDFC Bank", "+919812345678", "123456789012", "9012", Money(100, "INR")
    )
    card = Method("PM-1", "asha", "card", "Visa •••• 4242", "tok_secret_token", NOW, True)
    sms = Outbound("sms", "asha", "sms.code", "Your code is 735194", phone=ASHA.phone)

    def write(tx: TxWithRails) -> None:
        tx.add_user(ASHA, NOW)
        tx.add_bank_account(account)
        tx.add_method(card)
        tx.add_outbox([sms], NOW)

    await s.run(write)
    assert await s.run(lambda tx: tx.bank_account("acct-1")) == account
    assert await s.run(lambda tx: tx.method("PM-1")) == card
    assert [out for _, out in await s.run(lambda tx: tx.undelivered())] == [sms]
    pepper = await s.run(lambda tx: tx.pin_pepper())
    await s.close()
    wal = path.with_name(path.name + "-wal")
    stored = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for secret in (b"123456789012", b"tok_secret_token", b"735194", pepper):
        assert secret not in stored
    assert not path.with_suffix(".key").exists()  # the key is never beside the data


# -- UserRows -------------------------------------------------------------------------------------
async def test_users_are_found_by_id_and_phone_and_a_unit_sees_its_own_writes(store: Rows) -> None:
    def work(tx: UserRows) -> list[User | None]:
        before = tx.user("asha")  # read, and kept for the unit, before the writes
        tx.add_user(ASHA, NOW)
        added = tx.user("asha")
        tx.set_biometric("asha", True)
        tx.set_locale("asha", "bn")  # /language: read back at once, in the same unit
        return [before, added, tx.user("asha")]

    changed = replace(ASHA, biometric=True, locale="bn")
    assert await store.run(work) == [None, ASHA, changed]
    enrolled = await store.run(lambda tx: tx.user_by_phone(ASHA.phone))
    assert enrolled == changed
    assert await store.run(lambda tx: tx.user_by_phone("+10000000000")) is None


async def test_a_second_user_with_the_same_id_or_phone_is_a_domain_error(store: Rows) -> None:
    await store.run(lambda tx: tx.add_user(ASHA, NOW))
    with pytest.raises(DuplicateError):
        await store.run(lambda tx: tx.add_user(replace(ASHA, id="other"), NOW))
    with pytest.raises(DuplicateError):
        await store.run(lambda tx: tx.add_user(replace(ASHA, phone="+919800000000"), NOW))
    assert await store.run(lambda tx: tx.user("other")) is None


# -- ConversationRows -----------------------------------------------------------------------------
async def test_a_conversation_is_saved_replaced_and_cleared(store: Rows) -> None:
    # Typed text may hold a lone surrogate (half an emoji from a broken client): it must survive.
    data = {"amount": "₹250", "note": "chai \ud83d", "n": 2}
    await store.run(lambda tx: tx.save_conversation("asha", "pay", "method", data, NOW))
    assert await store.run(lambda tx: tx.conversation("asha")) == ("pay", "method", data)

    def move_on(tx: ConversationRows) -> object:
        tx.save_conversation("asha", "pay", "pin", {}, NOW)
        return tx.conversation("asha")

    assert await store.run(move_on) == ("pay", "pin", {})
    await store.run(lambda tx: tx.clear_conversation("asha"))
    assert await store.run(lambda tx: tx.conversation("asha")) is None


# -- OutboxRows -----------------------------------------------------------------------------------
async def test_outbox_round_trips_and_tracks_delivery(store: Rows) -> None:
    out = Outbound("send", "asha", "welcome", "Hi", ((Button("pay", "Pay ₹5"),),), ref="r1")
    sms = Outbound("sms", "asha", "sms.code", "Your code is 735194", phone=ASHA.phone)
    edit = Outbound("edit", "asha", "request.paid", "Paid", ref="r0")
    toast = Outbound("toast", "asha", "pay.wait", "One moment")  # answered at once, or never
    ids = await store.run(lambda tx: tx.add_outbox([out, toast, sms, edit], NOW))
    assert ids == sorted(ids)
    assert await store.run(lambda tx: tx.undelivered()) == [
        (ids[0], out),
        (ids[2], sms),
        (ids[3], edit),
    ]
    assert await store.run(lambda tx: tx.undelivered(limit=1)) == [(ids[0], out)]
    assert await store.run(lambda tx: tx.undelivered(after=ids[0], limit=1)) == [(ids[2], sms)]
    await store.run(lambda tx: tx.mark_delivered(ids[:1]))
    await store.run(lambda tx: tx.mark_failed([ids[3]]))  # refused for good: not tried again
    assert await store.run(lambda tx: tx.undelivered()) == [(ids[2], sms)]


async def test_a_live_stores_own_replies_are_never_orphans(store: Rows) -> None:
    await store.run(lambda tx: tx.add_outbox([Outbound("send", "asha", "k", "hi")], NOW))
    assert await store.run(lambda tx: tx.orphaned()) == []
    assert len(await store.run(lambda tx: tx.undelivered())) == 1


async def test_every_copy_of_a_delivered_message_leads_back_to_its_ref(store: Rows) -> None:
    def deliver(tx: OutboxRows) -> None:
        tx.remember_message("asha", "rq:PR-1", "101")
        tx.remember_message("bruno", "rq:PR-1", "201")
        tx.remember_message("asha", "rq:PR-1", "102")  # sent twice (a crash before recording)

    await store.run(deliver)
    assert await store.run(lambda tx: tx.platform_ids("asha", "rq:PR-1")) == ["102", "101"]
    assert await store.run(lambda tx: tx.ref_for("asha", "101")) == "rq:PR-1"
    assert await store.run(lambda tx: tx.ref_for("asha", "102")) == "rq:PR-1"
    assert await store.run(lambda tx: tx.ref_for("asha", "201")) is None
    assert await store.run(lambda tx: tx.platform_ids("asha", "rq:PR-2")) == []


# -- JobRows --------------------------------------------------------------------------------------
async def test_jobs_fire_once_in_due_order(store: Rows) -> None:
    later = NOW.replace(hour=5)
    await store.run(lambda tx: tx.schedule(later, "b", {"key": "x"}))
    first = await store.run(lambda tx: tx.schedule(NOW, "a", {"key": "y"}))
    due = await store.run(lambda tx: tx.due_jobs(later))
    assert [k for _, k, _ in due] == ["a", "b"]
    assert await store.run(lambda tx: tx.due_jobs(NOW)) == [(first, "a", {"key": "y"})]
    assert await store.run(lambda tx: tx.finish_job(first)) is True
    assert await store.run(lambda tx: tx.finish_job(first)) is False
    await store.run(lambda tx: tx.cancel_jobs("b", "x"))
    assert await store.run(lambda tx: tx.due_jobs(later)) == []


async def test_next_due_is_the_earliest_pending_job(store: Rows) -> None:
    def work(tx: JobRows) -> list[datetime | None]:
        seen = [tx.next_due()]
        tx.schedule(NOW + timedelta(hours=2), "b", {"key": "x"})
        early = tx.schedule(NOW + timedelta(hours=1), "a", {"key": "y"})
        seen.append(tx.next_due())
        tx.finish_job(early)
        seen.append(tx.next_due())
        tx.cancel_jobs("b", "x")
        return [*seen, tx.next_due()]

    hours = [None, 1, 2, None]
    assert await store.run(work) == [h if h is None else NOW + timedelta(hours=h) for h in hours]


# -- PinRows and SmsCodeRows ----------------------------------------------------------------------
async def test_a_pin_keeps_its_counters_until_it_is_set_again(store: Rows) -> None:
    until = NOW + timedelta(hours=24)
    await store.run(lambda tx: tx.add_user(ASHA, NOW))
    assert await store.run(lambda tx: tx.pin("asha")) is None
    await store.run(lambda tx: tx.set_pin("asha", b"\x8ahash", b"salt"))
    first = await store.run(lambda tx: tx.pin("asha"))
    assert first is not None
    assert (first.hash, first.salt, first.wrong, first.locked_until) == (
        b"\x8ahash",
        b"salt",
        0,
        None,
    )
    await store.run(lambda tx: tx.set_pin_counters("asha", 2, until))
    assert await store.run(lambda tx: tx.pin("asha")) == replace(
        first, wrong=2, locked_until=until
    )
    await store.run(lambda tx: tx.set_pin("asha", b"\x8anew", b"salt2"))
    assert await store.run(lambda tx: tx.pin("asha")) == replace(
        first, hash=b"\x8anew", salt=b"salt2"
    )


async def test_the_pin_pepper_is_one_secret_for_every_unit(store: Rows) -> None:
    peppers = {await store.run(lambda tx: tx.pin_pepper()) for _ in range(3)}
    assert len(peppers) == 1
    assert len(peppers.pop()) == 32


async def test_sms_codes_are_kept_per_purpose_and_sends_counted(store: Rows) -> None:
    code = SmsCode(b"salt+hash", NOW + timedelta(minutes=10), 3, NOW)
    await store.run(lambda tx: tx.save_sms_code("asha", "bank", code))
    await store.run(lambda tx: tx.save_sms_code("asha", "bank", replace(code, tries_left=2)))
    assert await store.run(lambda tx: tx.sms_code("asha", "bank")) == replace(code, tries_left=2)
    assert await store.run(lambda tx: tx.sms_code("asha", "pin_reset")) is None
    await store.run(lambda tx: tx.delete_sms_code("asha", "bank"))
    assert await store.run(lambda tx: tx.sms_code("asha", "bank")) is None

    def send_three(tx: SmsCodeRows) -> None:
        for minutes in (0, 30, 50):
            tx.log_sms_send("asha", NOW + timedelta(minutes=minutes))

    await store.run(send_three)
    assert await store.run(lambda tx: tx.sms_sends_since("asha", NOW)) == 2  # after, not at
    assert await store.run(lambda tx: tx.sms_sends_since("asha", NOW - timedelta(hours=1))) == 3
    assert await store.run(lambda tx: tx.sms_sends_since("bruno", NOW - timedelta(hours=1))) == 0
