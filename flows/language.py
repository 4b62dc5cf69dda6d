"""`/language` (and Settings → Language): the languages the party's market offers, each named in
itself; a tap keeps the choice, and every later message, on both sides of a payment, is written
in the reader's own language."""

from __future__ import annotations

from core.languages import autonym, guess_language
from core.refs import LanguageButton
from flows.conversation import refuse
from flows.machine import Btn, Ctx
from flows.menu import show_menu


def choose(ctx: Ctx, arg: str = "") -> None:
    """The list of languages; `/language pt_BR` (or `pt`, `bn`) chooses at once."""
    offered = ctx.settings.languages(ctx.me.market)
    if arg and (locale := guess_language(arg, offered)):
        _keep(ctx, locale)
        return
    ctx.say(
        "language.choose",
        current=autonym(ctx.me.locale),
        buttons=tuple(
            (Btn(LanguageButton(lang).pack(), label=autonym(lang)),) for lang in offered
        ),
    )


def tap(ctx: Ctx, button: LanguageButton) -> None:
    if button.locale not in ctx.settings.languages(ctx.me.market):
        refuse(ctx, "language.unavailable")  # a button from before the market's list changed
        return
    _keep(ctx, button.locale)


def _keep(ctx: Ctx, locale: str) -> None:
    ctx.tx.set_locale(ctx.me.id, locale)
    ctx.user = ctx.tx.user(ctx.me.id)
    ctx.say("language.set", language=autonym(locale))
    show_menu(ctx)
