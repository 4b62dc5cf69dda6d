from __future__ import annotations

from pathlib import Path

from core.messages import Inbound
from core.settings import Settings
from sim.app import simulator
from sim.scenarios.world import World, open_world
from sim.simulator import Simulator
from tests.conftest import START, keys, onboard


async def test_business_onboards_with_a_shared_contact(world: World) -> None:
    sim = world.sim
    await onboard(sim, "shop", "business", "+91 98765 43210", "Chai Point")
    assert keys(sim, "shop") == [
        "welcome",
        "onboarding.ask_phone",
        "onboarding.ask_business_name",
        "onboarding.done",
        "menu",
    ]
    user = await world.store.run(lambda tx: tx.user("shop"))
    assert user is not None
    assert (user.role, user.phone, user.market, user.name) == (
        "business",
        "+919876543210",
        "IN",
        "Chai Point",
    )


async def test_customer_types_a_number_and_uses_the_display_name(world: World) -> None:
    sim = world.sim
    sim.add_party("maria", "Maria", phone="+55 11 91234 5678")
    await sim.text("maria", "/start")
    await sim.tap("maria", "customer")
    await sim.text("maria", "+55 11 91234-5678")
    assert keys(sim, "maria")[-2:] == ["onboarding.done", "menu"]
    user = await world.store.run(lambda tx: tx.user("maria"))
    assert user is not None
    assert (user.market, user.name) == ("BR", "Maria")


async def test_refused_markets_name_the_supported_ones(world: World) -> None:
    sim = world.sim
    for name, phone, country in (
        ("pablo", "+34 612 345 678", "Spain"),
        ("ana", "+52 55 1234 5678", "Mexico"),
    ):
        sim.add_party(name, phone=phone)
        await sim.text(name, "/start")
        await sim.tap(name, "customer")
        await sim.share_contact(name)
        last = sim.events[-1]
        assert last.key == "onboarding.country_unsupported"
        assert country in last.text
        assert all(m in last.text for m in ("Brazil", "India", "Singapore"))
        assert await world.store.run(lambda tx, n=name: tx.user(n)) is None


async def test_someone_elses_contact_and_bad_numbers_are_refused(sim: Simulator) -> None:
    sim.add_party("asha", phone="+91 98123 45678")
    await sim.text("asha", "/start")
    await sim.tap("asha", "customer")
    await sim.share_contact("asha", "+91 98765 43210")
    assert sim.events[-1].key == "onboarding.phone_not_own"
    for bad in ("12345", "+91 123", "call me"):
        await sim.text("asha", bad)
        assert sim.events[-1].key == "onboarding.phone_invalid"
    await sim.share_contact("asha")
    assert keys(sim, "asha")[-2:] == ["onboarding.done", "menu"]


async def test_unexpected_input_keeps_the_state(world: World) -> None:
    sim = world.sim
    sim.add_party("asha", phone="+91 98123 45678")
    await sim.text("asha", "/start")
    await sim.text("asha", "hello?")
    assert sim.events[-1].key == "error.not_understood"
    conv = await world.store.run(lambda tx: tx.conversation("asha"))
    assert conv is not None
    assert conv[:2] == ("onboarding", "CHOOSE_ROLE")
    await sim.tap("asha", "customer")
    assert sim.events[-1].key == "onboarding.ask_phone"


async def test_start_again_shows_the_menu_and_help_lists_commands(sim: Simulator) -> None:
    await onboard(sim, "shop", "business", "+91 98765 43210")
    await sim.text("shop", "/start")
    assert sim.events[-1].key == "menu"
    await sim.text("shop", "/help")
    assert sim.events[-1].key == "help"
    assert "/request" in sim.events[-1].text


async def test_a_redelivered_event_changes_nothing(sim: Simulator) -> None:
    sim.add_party("asha", phone="+91 98123 45678")
    event = Inbound(key="tg:1", user="asha", kind="command", text="/start")
    first = await sim.engine.handle(event)
    again = await sim.engine.handle(event)
    assert [o.key for o in first] == ["welcome"]
    assert again == []


async def test_a_restarted_engine_resumes_a_half_finished_onboarding(
    settings: Settings, tmp_path: Path
) -> None:
    db = str(tmp_path / "restart.db")
    async with simulator(settings, db, START) as sim:
        sim.add_party("asha", phone="+91 98123 45678")
        await sim.text("asha", "/start")
        await sim.tap("asha", "customer")
    async with simulator(settings, db, START) as sim:
        sim.add_party("asha", phone="+91 98123 45678")
        await sim.share_contact("asha")
        assert keys(sim, "asha") == ["onboarding.done", "menu"]


async def test_undelivered_replies_are_delivered_after_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    db = str(tmp_path / "outbox.db")
    async with simulator(settings, db, START) as sim:
        sim.add_party("asha", phone="+91 98123 45678")
        await sim.engine.handle(Inbound(key="k1", user="asha", kind="command", text="/start"))
    async with simulator(settings, db, START) as sim:
        sim.add_party("asha", phone="+91 98123 45678")
        await sim.settle()
        assert [e.key for e in sim.events] == ["welcome"]


async def test_redelivered_rows_are_marked_delivered(settings: Settings, tmp_path: Path) -> None:
    db = str(tmp_path / "marked.db")
    async with simulator(settings, db, START) as sim:
        await sim.engine.handle(Inbound(key="k1", user="asha", kind="command", text="/start"))
    async with simulator(settings, db, START) as sim:
        assert len(await sim.outbox.undelivered()) == 1  # asha is not in this simulator yet
        sim.add_party("asha", phone="+91 98123 45678")
        await sim.settle()
        assert await sim.outbox.undelivered() == []


async def test_a_wallet_is_offered_where_the_market_has_one(
    settings: Settings, tmp_path: Path
) -> None:
    from tests.conftest import onboard

    india = settings.markets["IN"].model_copy(
        update={
            "methods": (*settings.markets["IN"].methods, "wallet"),
            "wallets": ("Chai Wallet",),
        }
    )
    with_wallet = settings.model_copy(update={"markets": {**settings.markets, "IN": india}})
    async with open_world(with_wallet, START, db=str(tmp_path / "w.db")) as world:
        sim = world.sim
        await onboard(sim, "asha", "customer", "+91 98123 45678")
        await sim.text("asha", "/methods")
        await sim.tap("asha", "add")
        await sim.tap("asha", "wallet")
        assert sim.events[-1].key == "methods.choose_wallet"
        await sim.tap("asha", label="Chai Wallet")
        assert sim.events[-1].key == "methods.added"
        methods = await world.store.run(lambda tx: tx.methods("asha"))
        assert [(m.kind, m.label) for m in methods] == [("wallet", "Chai Wallet")]


async def test_an_id_typed_far_too_long_is_echoed_short(sim: Simulator) -> None:
    await onboard(sim, "asha", "customer", "+91 98123 45678")
    await sim.text("asha", "/receipt TX-" + "A" * 5000)
    (reply,) = [e for e in sim.events if e.key == "receipt.unknown"]
    assert len(reply.text) < 200
    assert "TX-AAAA" in reply.text
    assert "…" in reply.text
