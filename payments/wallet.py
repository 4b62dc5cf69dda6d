"""Adding funding sources: cards (tokenised at the processor) and bank-transfer handles (linked
to a simulated bank account). Shared by the methods flow and by scenario seeding."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.money import Money
from core.records import Method, MethodKind
from payments import ledger
from payments.cards import CardInput, label
from storage.base import LedgerRows, MethodRows
from storage.rails_rows import RailRows

if TYPE_CHECKING:
    from core.clock import IdSource
    from payments.rails import Rails

DEFAULT_FUNDS = {"INR": 5_000_000, "BRL": 500_000, "SGD": 500_000}


class WalletRows(MethodRows, LedgerRows, RailRows, Protocol):
    """What adding a method touches: the methods, the ledger (the funds it brings in) and the
    rail that holds the funds (a card at the processor, an account at a bank)."""


def default_funds(currency: str) -> Money:
    return Money(DEFAULT_FUNDS.get(currency, 1_000_000), currency)


def add_card(
    tx: WalletRows,
    rails: Rails,
    ids: IdSource,
    user_id: str,
    card: CardInput,
    funds: Money,
    now: datetime,
    added_at: datetime | None = None,
) -> Method:
    token = "tok_" + ids.token()
    rails.processor.tokenize(tx, token, card.number, funds)
    method = Method(
        ids.ref("PM"),
        user_id,
        "card",
        label(card.brand, card.last4),
        token,
        added_at or now,
        not tx.methods(user_id),
        card.brand,
        card.funding,
        card.last4,
        card.expiry,
    )
    tx.add_method(method)
    ledger.open_source(tx, method.id, "card", funds, now)
    return method


def add_bank_method(
    tx: WalletRows,
    rails: Rails,
    ids: IdSource,
    user_id: str,
    kind: MethodKind,
    handle: str,
    bank: str,
    phone: str,
    funds: Money,
    now: datetime,
    added_at: datetime | None = None,
) -> Method:
    method_id = ids.ref("PM")
    account_id = f"acct-{method_id}"
    rails.banks.open_account(tx, account_id, bank, phone, funds)
    method = Method(
        method_id, user_id, kind, handle, account_id, added_at or now, not tx.methods(user_id)
    )
    tx.add_method(method)
    ledger.open_source(tx, method.id, kind, funds, now)
    return method
