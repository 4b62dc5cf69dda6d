"""The main menu and help: what each kind of party can do."""

from __future__ import annotations

from core.refs import MenuButton
from flows.machine import Btn, Ctx

BUSINESS_MENU = (
    (
        Btn(MenuButton("request").pack(), key="menu.request"),
        Btn(MenuButton("link").pack(), key="menu.link"),
    ),
    (
        Btn(MenuButton("settings").pack(), key="menu.settings"),
        Btn(MenuButton("history").pack(), key="menu.history"),
    ),
)
CUSTOMER_MENU = (
    (
        Btn(MenuButton("methods").pack(), key="menu.methods"),
        Btn(MenuButton("pin").pack(), key="menu.pin"),
    ),
    (Btn(MenuButton("history").pack(), key="menu.history"),),
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
