"""The storage contract, part 2: payouts, methods, requests, payments and refunds, the ledger,
and the simulated rails' rows (part 1 is tests/test_storage.py). Over every adapter (the `store`
fixture in conftest.py), on real databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvariantBroken
from core.money import Money
from core.records import (
    BankAccount,
    Method,
    Payment,
    PaymentRequest,
    PaymentStatus,
    Payout,
    Refund,
    User,
)
from storage.base import DuplicateError, MethodRows, PaymentRows, Store
from storage.rails_rows import RailRows, TxWithRails

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SHOP = User("shop", "business", "+919800000001", "IN", "Chai Point", "en")
ASHA = User("asha", "customer", "+919800000002", "IN", "Asha", "en")
ACCOUNT = BankAccount("acct-1", "HDFC Bank", SHOP.phone, "123456789012", "9012", Money(0, "INR"))
CARD = Method(
    "PM-1", "asha", "card", "Visa •••• 4242", "tok_1", NOW, True, "visa", "credit", "4242", "12/30"
)
UPI = Method("PM-2", "asha", "upi", "asha@okhdfc", "acct-2", NOW + timedelta(hours=1), False)
Rows = Store[TxWithRails]


def _inr(minor: int) -> Money:
    return Money(minor, "INR")


def _request(n: int, at: datetime = NOW) -> PaymentRequest:
    return PaymentRequest(
        f"PR-{n}",
        "shop",
        "asha",
        "request",
        _inr(25_000),
        "chai",
        "open",
        at,
        at + timedelta(days=1),
    )


def _payment(
    n: int, status: PaymentStatus = "authorising", at: datetime = NOW, minor: int = 25_000
) -> Payment:
    return Payment(f"TX-{n}", f"PR-{n}", "asha", "PM-1", "card", _inr(minor), status, None, at)


@pytest.fixture
async def parties(store: Rows) -> Rows:
    """A business with a bank account, and a customer with a card (what the rows refer to)."""

    def seed(tx: TxWithRails) -> None:
        tx.add_user(SHOP, NOW)
        tx.add_user(ASHA, NOW)
        tx.add_bank_account(ACCOUNT)
        tx.add_method(CARD)

    await store.run(seed)
    return store


# -- PayoutRows -----------------------------------------------------------------------------------
async def test_a_payout_account_is_set_replaced_and_removed(parties: Rows) -> None:
    other = replace(ACCOUNT, id="acct-9", last4="7777")
    await parties.run(lambda tx: tx.add_bank_account(other))
    assert await parties.run(lambda tx: tx.payout("shop")) is None
    await parties.run(lambda tx: tx.set_payout("shop", "HDFC Bank", "acct-1", NOW))
    assert await parties.run(lambda tx: tx.payout("shop")) == Payout(
        "shop", "HDFC Bank", "acct-1", "9012"
    )
    await parties.run(lambda tx: tx.set_payout("shop", "HDFC Bank", "acct-9", NOW))
    assert await parties.run(lambda tx: tx.payout("shop")) == Payout(
        "shop", "HDFC Bank", "acct-9", "7777"
    )
    await parties.run(lambda tx: tx.remove_payout("shop"))
    assert await parties.run(lambda tx: tx.payout("shop")) is None


# -- MethodRows -----------------------------------------------------------------------------------
async def test_methods_list_the_default_first_and_a_removed_one_is_only_found_by_id(
    parties: Rows,
) -> None:
    older = replace(CARD, id="PM-0", added_at=NOW - timedelta(days=1), is_default=False)
    await parties.run(lambda tx: tx.add_method(UPI))
    await parties.run(lambda tx: tx.add_method(older))
    assert await parties.run(lambda tx: tx.methods("asha")) == [CARD, older, UPI]
    assert await parties.run(lambda tx: tx.method("PM-2")) == UPI

    def switch(tx: MethodRows) -> None:
        tx.set_default_method("asha", "PM-2")
        tx.remove_method("asha", "PM-0")

    await parties.run(switch)
    undefaulted = replace(CARD, is_default=False)
    assert await parties.run(lambda tx: tx.methods("asha")) == [
        replace(UPI, is_default=True),
        undefaulted,
    ]
    assert await parties.run(lambda tx: tx.method("PM-0")) == older
    assert await parties.run(lambda tx: tx.methods("shop")) == []
    assert await parties.run(lambda tx: tx.method("PM-404")) is None


# -- PaymentRows: requests ------------------------------------------------------------------------
async def test_requests_and_links_are_found_and_change_status_only_from_the_expected_one(
    parties: Rows,
) -> None:
    link = replace(_request(2, NOW + timedelta(minutes=1)), customer_id=None, kind="link")
    await parties.run(lambda tx: tx.add_request(_request(1)))
    await parties.run(lambda tx: tx.add_request(link, "sha256-of-token"))
    assert await parties.run(lambda tx: tx.request("PR-1")) == _request(1)
    assert await parties.run(lambda tx: tx.request_by_token_hash("sha256-of-token")) == link
    assert await parties.run(lambda tx: tx.request_by_token_hash("other")) is None
    assert await parties.run(lambda tx: tx.request("PR-404")) is None

    def pay(tx: PaymentRows) -> list[bool]:
        return [
            tx.set_request_status("PR-1", "paid", expect="open"),
            tx.set_request_status("PR-1", "expired", expect="open"),  # too late: it was paid
        ]

    assert await parties.run(pay) == [True, False]
    for _ in range(2):
        await parties.run(lambda tx: tx.add_failed_attempt("PR-2"))
    assert await parties.run(lambda tx: tx.request("PR-1")) == replace(_request(1), status="paid")
    paid_link = await parties.run(lambda tx: tx.request("PR-2"))
    assert paid_link == replace(link, failed_attempts=2)


async def test_a_party_sees_its_requests_newest_first(parties: Rows) -> None:
    bruno = User("bruno", "customer", "+919800000003", "IN", "Bruno", "en")

    def seed(tx: TxWithRails) -> None:
        tx.add_user(bruno, NOW)
        for n in range(1, 4):
            tx.add_request(_request(n, NOW + timedelta(minutes=n)))
        tx.add_request(replace(_request(4), customer_id="bruno"))

    await parties.run(seed)
    asha = await parties.run(lambda tx: tx.requests_for("asha"))
    shop = await parties.run(lambda tx: tx.requests_for("shop", limit=2))
    assert [r.id for r in asha] == ["PR-3", "PR-2", "PR-1"]
    assert [r.id for r in shop] == ["PR-3", "PR-2"]
    next_page = await parties.run(lambda tx: tx.requests_for("shop", limit=2, offset=2))
    assert [r.id for r in next_page] == ["PR-1", "PR-4"]
    assert [r.id for r in await parties.run(lambda tx: tx.requests_for("bruno"))] == ["PR-4"]


# -- PaymentRows: payments and refunds ------------------------------------------------------------
async def test_a_request_has_at_most_one_live_payment(parties: Rows) -> None:
    await parties.run(lambda tx: tx.add_request(_request(1)))
    await parties.run(lambda tx: tx.add_payment(_payment(1)))
    second = replace(_payment(1), id="TX-2")
    with pytest.raises(DuplicateError):
        await parties.run(lambda tx: tx.add_payment(second))
    assert await parties.run(lambda tx: tx.payment_for_request("PR-1")) == _payment(1)

    def decline(tx: PaymentRows) -> list[bool]:
        return [
            tx.set_payment_status("TX-1", "failed", "do_not_honour", expect="authorising"),
            tx.set_payment_status("TX-1", "succeeded", None, expect="authorising"),  # stale
        ]

    assert await parties.run(decline) == [True, False]
    failed = replace(_payment(1), status="failed", reason="do_not_honour")
    assert await parties.run(lambda tx: tx.payment("TX-1")) == failed
    assert await parties.run(lambda tx: tx.payment_for_request("PR-1")) is None
    await parties.run(lambda tx: tx.add_payment(second))  # a failed attempt leaves room
    assert await parties.run(lambda tx: tx.payment_for_request("PR-1")) == second
    assert await parties.run(lambda tx: tx.payment("TX-404")) is None


async def test_payments_are_summed_for_limits_and_listed_for_both_parties(parties: Rows) -> None:
    def seed(tx: PaymentRows) -> None:
        hours_ago = {1: 3, 2: 1, 3: 0}
        for n in hours_ago:
            tx.add_request(_request(n, NOW - timedelta(hours=hours_ago[n])))
        tx.add_payment(_payment(1, "succeeded", NOW - timedelta(hours=3), 25_000))
        tx.add_payment(_payment(2, "unknown", NOW - timedelta(hours=1), 10_000))  # counts too
        tx.add_payment(_payment(3, "failed", NOW, 40_000))

    await parties.run(seed)
    since = NOW - timedelta(hours=1)
    assert await parties.run(lambda tx: tx.paid_since("asha", NOW - timedelta(days=1))) == (
        35_000,
        2,
    )
    assert await parties.run(lambda tx: tx.paid_since("asha", since)) == (10_000, 1)  # from, on
    assert await parties.run(lambda tx: tx.paid_since("asha", since, "PM-2")) == (0, 0)
    assert await parties.run(lambda tx: tx.paid_since("shop", since)) == (0, 0)
    as_payer = await parties.run(lambda tx: tx.payments_for("asha"))
    as_payee = await parties.run(lambda tx: tx.payments_for("shop"))
    assert [p.id for p in as_payer] == [p.id for p in as_payee] == ["TX-3", "TX-2", "TX-1"]
    assert [p.id for p in await parties.run(lambda tx: tx.payments_for("shop", 1))] == ["TX-3"]
    second = await parties.run(lambda tx: tx.payments_for("asha", limit=1, offset=1))
    assert [p.id for p in second] == ["TX-2"]
    assert await parties.run(lambda tx: tx.successful_payment_counts()) == [("PR-1", 1)]


async def test_a_refund_is_kept_in_the_payments_currency_and_counted_on_it(
    parties: Rows,
) -> None:
    refund = Refund("RF-1", "TX-1", _inr(5_000), "pending")

    def seed(tx: PaymentRows) -> list[bool]:
        tx.add_request(_request(1))
        tx.add_payment(_payment(1, "succeeded"))
        tx.add_refund(refund, NOW)
        moved = [
            tx.set_refund_status("RF-1", "succeeded", expect="pending"),
            tx.set_refund_status("RF-1", "failed", expect="pending"),  # it moved already
        ]
        tx.add_refunded("TX-1", 5_000)
        return moved

    assert await parties.run(seed) == [True, False]
    assert await parties.run(lambda tx: tx.refund("RF-1")) == replace(refund, status="succeeded")
    assert await parties.run(lambda tx: tx.refund("RF-404")) is None
    paid = await parties.run(lambda tx: tx.payment("TX-1"))
    assert paid is not None
    assert paid.refunded == 5_000


async def test_a_partys_refunds_are_listed_newest_first_and_counted(parties: Rows) -> None:
    def seed(tx: PaymentRows) -> None:
        for n in (1, 2):
            tx.add_request(_request(n, NOW + timedelta(minutes=n)))
            tx.add_payment(_payment(n, "succeeded", NOW + timedelta(minutes=n)))
        tx.add_request(_request(3))  # open: a request, no payment
        tx.add_refund(Refund("RF-1", "TX-1", _inr(5_000), "succeeded"), NOW + timedelta(hours=1))
        tx.add_refund(Refund("RF-2", "TX-1", _inr(1_000), "pending"), NOW + timedelta(hours=2))
        tx.add_refund(Refund("RF-3", "TX-2", _inr(2_000), "failed"), NOW + timedelta(hours=3))

    await parties.run(seed)
    as_payer = await parties.run(lambda tx: tx.refunds_for("asha"))
    as_payee = await parties.run(lambda tx: tx.refunds_for("shop"))
    assert as_payer == as_payee
    assert [(r.id, r.payment_id, r.amount, r.status, at) for r, at in as_payer] == [
        ("RF-3", "TX-2", _inr(2_000), "failed", NOW + timedelta(hours=3)),
        ("RF-2", "TX-1", _inr(1_000), "pending", NOW + timedelta(hours=2)),
        ("RF-1", "TX-1", _inr(5_000), "succeeded", NOW + timedelta(hours=1)),
    ]
    second = await parties.run(lambda tx: tx.refunds_for("shop", limit=1, offset=1))
    assert [r.id for r, _ in second] == ["RF-2"]
    assert await parties.run(lambda tx: tx.history_counts("shop")) == (3, 2, 3)
    assert await parties.run(lambda tx: tx.history_counts("asha")) == (3, 2, 3)
    assert await parties.run(lambda tx: tx.refunds_for("nobody")) == []
    assert await parties.run(lambda tx: tx.history_counts("nobody")) == (0, 0, 0)


# -- LedgerRows -----------------------------------------------------------------------------------
async def test_the_ledger_posts_balanced_entries_only(store: Rows) -> None:
    await store.run(
        lambda tx: tx.post(
            "open:PM-1", [("source:PM-1", _inr(90)), ("external:card", _inr(-90))], NOW
        )
    )
    await store.run(
        lambda tx: tx.post("TX-1", [("source:PM-1", _inr(-25)), ("business:shop", _inr(25))], NOW)
    )
    with pytest.raises(InvariantBroken, match="unbalanced"):
        await store.run(lambda tx: tx.post("TX-2", [("business:shop", _inr(5))], NOW))
    assert await store.run(lambda tx: tx.account_balance("source:PM-1", "INR")) == 65
    assert await store.run(lambda tx: tx.account_balance("business:shop", "INR")) == 25
    assert await store.run(lambda tx: tx.account_balance("business:shop", "BRL")) == 0
    assert await store.run(lambda tx: tx.ledger_sums()) == {"INR": 0}
    totals = await store.run(lambda tx: tx.ledger_account_totals())
    assert sorted(totals) == [("business:shop", 25), ("external:card", -90), ("source:PM-1", 65)]


# -- RailRows -------------------------------------------------------------------------------------
async def test_bank_accounts_are_found_by_phone_and_bank_and_hold_a_balance(store: Rows) -> None:
    other_bank = replace(ACCOUNT, id="acct-2", bank="ICICI Bank")
    other_phone = replace(ACCOUNT, id="acct-0", phone=ASHA.phone)

    def seed(tx: RailRows) -> None:
        for account in (other_bank, ACCOUNT, other_phone):
            tx.add_bank_account(account)
        tx.adjust_bank_balance("acct-1", 700)
        tx.adjust_bank_balance("acct-1", -200)

    await store.run(seed)
    funded = replace(ACCOUNT, balance=_inr(500))
    assert await store.run(lambda tx: tx.bank_accounts(SHOP.phone)) == [funded, other_bank]
    assert await store.run(lambda tx: tx.bank_accounts(SHOP.phone, "ICICI Bank")) == [other_bank]
    assert await store.run(lambda tx: tx.bank_accounts("+10000000000")) == []
    assert await store.run(lambda tx: tx.bank_account("acct-1")) == funded
    assert await store.run(lambda tx: tx.bank_account("acct-404")) is None


async def test_the_processor_keeps_card_funds_and_the_outcome_of_each_charge(
    store: Rows,
) -> None:
    def work(tx: RailRows) -> list[object]:
        seen: list[object] = [tx.card("tok_1"), tx.charge("TX-1")]
        tx.set_card_funds("tok_1", _inr(1_000))
        tx.set_card_funds("tok_2", _inr(0), "insufficient_funds")
        seen.append(tx.card("tok_1"))
        tx.set_card_funds("tok_1", _inr(750), "approve")
        tx.record_charge("TX-1", "tok_2", _inr(250), "declined", "insufficient_funds")
        tx.record_charge("TX-2", "tok_1", _inr(250), "error", "processing_error")
        tx.record_charge("TX-2", "tok_1", _inr(250), "succeeded", None)  # resolved later
        return [*seen, tx.card("tok_1"), tx.card("tok_2"), tx.charge("TX-1"), tx.charge("TX-2")]

    assert await store.run(work) == [
        None,
        None,
        (_inr(1_000), "approve"),
        (_inr(750), "approve"),
        (_inr(0), "insufficient_funds"),
        ("declined", "insufficient_funds"),
        ("succeeded", None),
    ]
