"""Flows know what the person's app can do (`Inbound.can_biometric`, set by the transport),
never which transport it is: the same engine offers biometrics to one and not to the other."""

from __future__ import annotations

from core.messages import Inbound
from core.records import User
from payments.pin import hash_pin
from sim.scenarios.world import World
from storage.base import Tx
from tests.conftest import START


def _customer_with_a_pin(tx: Tx) -> None:
    tx.add_user(User("asha", "customer", "+919812345678", "IN", "Asha", "en"), START)
    tx.set_pin("asha", *hash_pin("2580", tx.pin_pepper(), cost=8))


async def test_the_pin_menu_offers_biometrics_only_to_an_app_that_can(world: World) -> None:
    await world.store.run(_customer_with_a_pin)
    for key, can in (("k1", True), ("k2", False)):
        outs = await world.engine.handle(
            Inbound(key=key, user="asha", kind="command", text="/pin", can_biometric=can)
        )
        menu = next(o for o in outs if o.key == "pin.menu")
        buttons = [b.id for row in menu.buttons for b in row]
        assert ("biometric" in buttons) is can
