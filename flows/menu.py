"""The main menu and help: what each kind of party can do."""

from __future__ import annotations

from flows.machine import Btn, Ctx

BUSINESS_MENU = (
    (Btn("menu:request", key="menu.request"), Btn("menu:link", key="menu.link")),
    (Btn("menu:settings", key="menu.settings"), Btn("menu:history", key="menu.history")),
)
CUSTOMER_MENU = (
    (Btn("menu:methods", key="menu.methods"), Btn("menu:pin", key="menu.pin")),
    (Btn("menu:history", key="menu.history"),),
)


def show_menu(ctx: Ctx) -> None:
    me = ctx.me
    ctx.say(
        "menu",
        buttons=BUSINESS_MENU if me.role == "business" else CUSTOMER_MENU,
        name=me.name,
        role=me.role,
    )


def show_help(ctx: Ctx) -> None:
    role = ctx.user.role if ctx.user else None
    ctx.say("help", role=role)
