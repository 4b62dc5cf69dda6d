"""A fresh world per scenario run: in-memory SQLite, virtual clock, seeded ids, the simulator,
and the parties and `given` state seeded directly (no onboarding replayed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache, partial
from typing import Any

import phonenumbers

from bot.engine import Engine, hash_pool
from bot.runtime import open_engine
from core.clock import IdSource, SeededIds, VirtualClock
from core.money import Money
from core.records import MethodKind, User
from core.settings import Settings
from payments import handles
from payments.cards import CardInput, parse_card
from payments.pin import hash_pin
from payments.rails import Rails
from payments.wallet import add_bank_method, add_card, default_funds
from sim.scenarios.loader import Node, ScenarioError, where
from sim.simulator import Simulator
from storage.base import Store
from storage.rails_rows import TxWithRails


@dataclass
class World:
    """Everything a scenario touches. `store` seeds `given` rows and answers `expect_state`
    directly; the parties act only through `sim`."""

    sim: Simulator
    engine: Engine
    store: Store[TxWithRails]
    clock: VirtualClock
    ids: IdSource
    rails: Rails
    settings: Settings


@asynccontextmanager
async def open_world(
    settings: Settings, start: datetime, seed: int = 0, db: str = ":memory:"
) -> AsyncIterator[World]:
    clock, ids, rails = VirtualClock(start), SeededIds(seed), Rails.simulated()
    async with open_engine(
        settings, db, clock=clock, ids=ids, rails=rails, hashing=_shared_hash_pool()
    ) as engine:
        sim = Simulator(engine, engine.outbox, clock, rails)
        yield World(sim, engine, engine.store, clock, ids, rails, settings)


@cache
def _shared_hash_pool() -> ThreadPoolExecutor:
    """One pool of PIN-hash threads for every world of this process: starting and joining a
    thread per case cost more than the case's PIN checks. Idle threads end with the process."""
    return hash_pool()


def _e164(phone: str, node: object) -> tuple[str, str]:
    found = _parsed_phone(phone)
    if found is None:
        raise ScenarioError(*where(node), f"{phone!r} is not a valid phone number")
    return found


@lru_cache(maxsize=1024)  # a run seeds the same few numbers in every case
def _parsed_phone(phone: str) -> tuple[str, str] | None:
    """(E.164, region) of a valid number, else None."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(number) or "",
    )


async def seed(world: World, parties: dict[str, Any], given: dict[str, Any]) -> None:
    users: list[User] = []
    for name, spec in parties.items():
        phone, country = _e164(str(spec["phone"]), spec)
        registered = spec.get("registered", True) is not False
        world.sim.add_party(
            name,
            str(spec.get("name") or name.capitalize()),
            str(spec.get("locale", "en")),
            phone,
            role=str(spec.get("role", "")),
            registered=registered,
        )
        if registered:
            if world.settings.market(country) is None:
                raise ScenarioError(
                    *where(spec),
                    f"party {name!r}: {country} is not a market "
                    "(set registered: false to script a refusal)",
                )
            user = User(
                world.sim.user_id(name),
                spec["role"],
                phone,
                country,
                str(spec.get("name") or name),
                str(spec.get("locale", "en")),
            )
            users.append(user)
    # One unit for the whole seed: a world is made of it, all or nothing.
    await world.store.run(partial(_seed_rows, world, users, given))
    for name, spec in given.items():
        world.sim.seeded(name, spec)


def _seed_rows(world: World, users: list[User], given: dict[str, Any], tx: TxWithRails) -> None:
    now = world.clock.now()
    for user in users:
        tx.add_user(user, now)
    for name, spec in given.items():
        _given(world, name, spec, tx)


@lru_cache(maxsize=256)
def seeded_pin(pin: str, pepper: bytes, cost: int) -> tuple[bytes, bytes]:
    """The (hash, salt) a `given` PIN is stored with: made once per process for each PIN,
    pepper and cost, so every party seeded with that PIN shares its salt. In-memory worlds share
    one pepper per process (`storage.sealer`), so a run pays scrypt once per PIN, not once per
    case; entering the PIN in a step is still checked by scrypt at the configured cost."""
    return hash_pin(pin, pepper, cost=cost)


def _given(world: World, name: str, spec: Node, tx: TxWithRails) -> None:
    user = tx.user(world.sim.user_id(name))
    if user is None:
        raise ScenarioError(*where(spec), f"given {name!r}: the party is not registered")
    settings, now = world.settings, world.clock.now()
    market = settings.markets[user.market]
    ids = world.ids
    if "payments" in spec:
        payments = spec["payments"] or {}
        bank = str(payments.get("bank", market.banks[0]))
        if bank not in market.banks:
            raise ScenarioError(*where(spec), f"{bank!r} is not a bank of {market.name}")
        accounts = world.rails.banks.accounts(tx, user.phone, bank, market.currency)
        account = accounts[int(payments.get("account", 1)) - 1]
        tx.set_payout(user.id, bank, account.id, now)
    if pin := spec.get("pin"):
        tx.set_pin(
            user.id, *seeded_pin(str(pin), tx.pin_pepper(), settings.security.pin_hash_cost)
        )
    if spec.get("biometric"):
        tx.set_biometric(user.id, True)
    for method in spec.get("methods") or []:
        added = (
            datetime.fromisoformat(str(method["added"]))
            if "added" in method
            else now - timedelta(days=30)
        )
        funds_text = method.get("funds") or method.get("balance")
        funds = Money.of(str(funds_text)) if funds_text else default_funds(market.currency)
        if "card" in method:
            card = parse_card(
                f"{method['card']} {method.get('expiry', '12/30')}", market.card_brands, now
            )
            if not isinstance(card, CardInput):
                raise ScenarioError(*where(method, spec), f"card {method['card']!r}: {card[0]}")
            add_card(tx, world.rails, ids, user.id, card, funds, now, added)
            continue
        kind: MethodKind = next(k for k in ("upi", "pix", "paynow", "wallet") if k in method)
        raw = str(method[kind])
        normalise = {
            "upi": handles.normalise_upi,
            "pix": handles.normalise_pix,
            "paynow": handles.normalise_paynow,
        }.get(kind)
        handle = normalise(raw) if normalise else raw
        if handle is None:
            raise ScenarioError(*where(method, spec), f"{kind} {raw!r} is not valid")
        bank = str(
            method.get("bank")
            or (handles.bank_for_upi(handle, market.banks) if kind == "upi" else market.banks[0])
        )
        add_bank_method(
            tx, world.rails, ids, user.id, kind, handle, bank, user.phone, funds, now, added
        )
