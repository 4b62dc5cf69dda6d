"""Every user-visible word comes from a template, `templates/<message key>.j2`, in English inside
`{% trans %}` blocks, and from the catalogs in the reader's language (`bot/catalogs.py`).

One `Environment` at start-up with jinja2's i18n extension; templates are compiled once and
cached (compiling costs >1 ms, rendering a compiled one ~15 µs), and each render picks its
language from its context (`_locale`, `_catalog`), so one compiled template serves every
language. Money, numbers and dates are formatted with Babel for the reader's language in their
market (₹1,00,000.00, R$ 1.000,00, S$1,000.00, ₹১,০০০.০০), plurals by the catalog's CLDR rule.
jinja2's errors stop here: a template that cannot be rendered is a `TemplateProblem` naming the
template, never the values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.lists import format_list
from babel.support import Translations
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    UndefinedError,
    meta,
    pass_context,
)
from jinja2.runtime import Context

from bot.catalogs import SOURCE_LOCALE, catalog_locales, translations
from core.errors import ConfigError, TemplateProblem
from core.languages import (
    babel_name,
    formatting_locale,
    language_of,
    native_digits,
    shows_native_digits,
)
from core.money import Money, locale_of

TEMPLATES = Path(__file__).parent / "templates"
_I18N = {"gettext", "ngettext", "pgettext", "npgettext", "_"}  # the i18n extension's names


def template_keys() -> set[str]:
    return {p.name.removesuffix(".j2") for p in TEMPLATES.glob("*.j2")}


def check_locales(available: tuple[str, ...], default: str) -> None:
    """`ConfigError` naming the key when a configured language has no catalog: otherwise its
    readers would silently get English."""
    have = catalog_locales()
    for locale in (*available, default):
        if locale not in have:
            raise ConfigError(
                f"locales.available: no catalog for {locale!r} "
                f"(bot/locale/{locale}/LC_MESSAGES/messages.po; README, Languages)"
            )


def _catalog(ctx: Context) -> Translations:
    found: Translations | None = ctx.get("_catalog")
    return found if found is not None else translations(SOURCE_LOCALE)


def _filled(ctx: Context, text: str, variables: dict[str, Any]) -> str:
    """A translated message with its placeholders filled: numbers in the reader's digits."""
    locale = ctx.get("_locale", SOURCE_LOCALE)
    if not shows_native_digits(locale):  # most readers: the values as they are
        return text % variables
    shown = {
        name: native_digits(str(value), locale)
        if isinstance(value, int) and not isinstance(value, bool)
        else value
        for name, value in variables.items()
    }
    return text % shown


# jinja2's own newstyle callables fill placeholders with `%` as they are; these show numbers in
# the reader's digits and take the catalog from the render's context (one env, many languages).
@pass_context
def _gettext(ctx: Context, message: str, **variables: Any) -> str:
    return _filled(ctx, _catalog(ctx).gettext(message), variables)


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return _filled(ctx, _catalog(ctx).ngettext(singular, plural, n), variables)


@pass_context
def _pgettext(ctx: Context, context: str, message: str, **variables: Any) -> str:
    return _filled(ctx, str(_catalog(ctx).pgettext(context, message)), variables)


@pass_context
def _npgettext(
    ctx: Context, context: str, singular: str, plural: str, n: int, **variables: Any
) -> str:
    variables.setdefault("num", n)
    return _filled(ctx, str(_catalog(ctx).npgettext(context, singular, plural, n)), variables)


@pass_context
def _money(ctx: Context, value: Money) -> str:
    locale = ctx.get("_locale", SOURCE_LOCALE)
    where = formatting_locale(locale, ctx.get("_money_locale", "en"))
    return native_digits(value.format(where, ctx.get("_symbol")), locale)


@pass_context
def _when(ctx: Context, value: datetime) -> str:
    locale = ctx.get("_locale", SOURCE_LOCALE)
    text = format_datetime(
        value,
        "d MMM y, HH:mm",
        tzinfo=ctx.get("_tz"),
        locale=_date_locale(locale, ctx.get("_money_locale", "en")),
    )
    return native_digits(str(text), locale)


@lru_cache(maxsize=64)
def _date_locale(language: str, market_locale: str) -> Locale:
    """Dates in the message's language (month names are words), with the market's conventions
    where that language has them there: en_IN, en_SG, bn_IN; English in Brazil is plain English,
    not "8 mar. 2026" inside an English sentence."""
    words = language_of(language)
    territory = locale_of(market_locale).territory
    if territory:
        try:
            return locale_of(f"{words}_{territory}")
        except UnknownLocaleError:
            pass
    return locale_of(words)


@pass_context
def _country(ctx: Context, code: str) -> str:
    name = locale_of(babel_name(ctx.get("_locale", SOURCE_LOCALE))).territories.get(code)
    return str(name) if name else code


@pass_context
def _words(ctx: Context, items: Iterable[str]) -> str:
    """`Visa and Mastercard`, `Visa e Mastercard`: a list as the reader's language writes one."""
    return str(format_list(list(items), locale=babel_name(ctx.get("_locale", SOURCE_LOCALE))))


def _mask(value: str) -> str:
    return "•••• " + value[-4:]


@pass_context
def _payment_link(ctx: Context, token: str) -> str:
    """A payment link's token → the URL a person opens: the link base the engine was composed
    with (the chat app's deep link to this bot, e.g. `https://t.me/<bot>?start=`), then the
    token. Flows pass only the token: which app and which bot is not theirs to know."""
    base = ctx.get("_link_base")
    if not base:
        raise TemplateProblem("payment_link: no link base (the engine passes _link_base)")
    return f"{base}{token}"


@cache
def shared_renderer(locales: tuple[str, ...] = ("en",), default: str = "en") -> Renderer:
    """One Renderer per set of locales in a process: compiling every template costs ~0.1 s, and
    a Renderer never changes once built, so engines (a scenario run makes one per case) share
    it."""
    return Renderer(locales, default)


class Renderer:
    def __init__(self, locales: tuple[str, ...] = ("en",), default: str = "en") -> None:
        check_locales(locales, default)
        self.default = default
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            autoescape=False,
            auto_reload=False,
            keep_trailing_newline=False,
        )
        # Newstyle: the compiled templates call gettext(msgid, **placeholders), and the callables
        # below fill them (babel.cfg extracts with the same setting, so the ids match).
        self.env.newstyle_gettext = True  # type: ignore[attr-defined]  # the i18n extension's
        self.env.globals.update(
            gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext
        )
        self.env.filters.update(
            money=_money,
            when=_when,
            mask=_mask,
            country=_country,
            words=_words,
            payment_link=_payment_link,
        )
        # Every catalog on disk (the pseudo-locale too, for anyone who switches it on); the
        # configured ones are checked above.
        self._catalogs = {locale: translations(locale) for locale in catalog_locales()}
        self._cache: dict[str, Template] = {}
        self._static: dict[tuple[str, str], str] = {}
        for key in template_keys():
            name = f"{key}.j2"
            template = self._cache[key] = self.env.get_template(name)
            # A template's globals are a ChainMap over the environment's, copied key by key
            # into every render's context; a plain dict copies in one C call (~5 µs less).
            template.globals = dict(template.globals)
            source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            if not meta.find_undeclared_variables(self.env.parse(source)) - _I18N:
                # No variables (most button labels and prompts): render once per language.
                for locale, catalog in self._catalogs.items():
                    context = {"_locale": locale, "_catalog": catalog}
                    self._static[(locale, key)] = template.render(context).strip()

    @property
    def locales(self) -> tuple[str, ...]:
        """Every language this renderer can write (the configured ones and the pseudo-locale)."""
        return tuple(self._catalogs)

    def has(self, key: str, locale: str | None = None) -> bool:
        return key in self._cache and (locale is None or locale in self._catalogs)

    def render(self, key: str, locale: str, values: dict[str, Any]) -> str:
        if locale not in self._catalogs:
            locale = self.default  # a language no longer installed: the default, not a crash
        static = self._static.get((locale, key))
        if static is not None:
            return static
        template = self._cache.get(key)
        if template is None:
            raise TemplateProblem(f"no template for message key {key!r}")
        try:
            context = {"_locale": locale, "_catalog": self._catalogs[locale], **values}
            return template.render(context).strip()
        except UndefinedError as exc:
            # Name the template and the variable; never the values, which may be secrets.
            raise TemplateProblem(f"{locale}/{key}.j2: {exc.message}") from None
