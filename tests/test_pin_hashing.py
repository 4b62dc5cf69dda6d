"""Every PIN hash runs on the engine's hash threads, never on the event loop's thread (where
the single writer runs every party's units): checking a PIN, and setting or changing one."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from sim.scenarios.world import World
from tests.conftest import keys, onboard


@pytest.fixture
def scrypt_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each scrypt ran on, in order."""
    seen: list[str] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def noting(*args: Any, **kwargs: Any) -> bytes:
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", noting)
    return seen


async def _asked_for_a_new_pin(world: World) -> None:
    await onboard(world.sim, "asha", "customer", "+91 98765 43210")
    await world.sim.text("asha", "/pin")


async def test_setting_changing_and_using_a_pin_hash_off_the_loop(
    world: World, scrypt_threads: list[str]
) -> None:
    sim = world.sim
    await _asked_for_a_new_pin(world)
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2581")  # not the same: asked for a new PIN again
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2580")
    await sim.text("asha", "/pin")
    await sim.tap("asha", "change")
    await sim.pin("asha", "2580")
    await sim.pin("asha", "1470")
    await sim.pin("asha", "1470")
    assert [k for k in keys(sim, "asha") if k.startswith("pin.")] == [
        "pin.ask_new",
        "pin.ask_repeat",
        "pin.mismatch",
        "pin.ask_repeat",
        "pin.set",
        "pin.menu",
        "pin.ask_current",
        "pin.ask_new",
        "pin.ask_repeat",
        "pin.set",
    ]
    assert len(scrypt_threads) == 7  # one per PIN entered, none twice
    assert all(name.startswith("pin-hash") for name in scrypt_threads), scrypt_threads


@pytest.mark.parametrize("engine_asked", [True, False])
async def test_a_new_pin_never_reuses_the_old_pins_salt(
    world: World, scrypt_threads: list[str], engine_asked: bool
) -> None:
    """Also when another worker (or a restart) sent the prompt: then the engine hashes the
    entry with the old PIN's salt, and the flow does not take that hash for the new PIN."""
    sim = world.sim
    await _asked_for_a_new_pin(world)
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2580")
    old = await world.store.run(lambda tx: tx.pin("asha"))
    await sim.text("asha", "/pin")
    await sim.tap("asha", "change")
    await sim.pin("asha", "2580")
    if not engine_asked:
        world.engine._pin_salts.clear()  # as in an engine that did not send "pin.ask_new"
    await sim.pin("asha", "1470")
    await sim.pin("asha", "1470")
    new = await world.store.run(lambda tx: tx.pin("asha"))
    assert keys(sim, "asha")[-1] == "pin.set"
    assert old is not None
    assert new is not None
    assert new.salt != old.salt
    assert new.hash != old.hash


async def test_two_entries_at_once_never_give_a_pin_the_discarded_entrys_salt(
    world: World, scrypt_threads: list[str]
) -> None:
    sim = world.sim
    await _asked_for_a_new_pin(world)
    await sim.pin("asha", "2580")
    convo = await world.store.run(lambda tx: tx.conversation("asha"))
    assert convo is not None
    first_salt = bytes.fromhex(convo[2]["first"][1])
    # A wrong repeat and a new PIN typed at once: the second was hashed (beforehand) with the
    # first entry's salt, before the mismatch asked for a new PIN with a new salt.
    await sim.together(
        [("asha", "pin", "[PIN]", {"text": "3690"}), ("asha", "pin", "[PIN]", {"text": "1470"})]
    )
    await sim.pin("asha", "1470")
    record = await world.store.run(lambda tx: tx.pin("asha"))
    assert keys(sim, "asha")[-1] == "pin.set"
    assert record is not None
    assert record.salt != first_salt
