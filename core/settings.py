"""`config.yaml` → validated, frozen settings. A bad file raises `ConfigError` naming the key.

This is the edge where pydantic's `ValidationError`, yaml's `YAMLError` and the `OSError` of
reading the file become `ConfigError`, and where a value that would only fail later (a locale
Babel does not know, at engine start) is refused with its key instead.
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from babel import UnknownLocaleError
from babel.numbers import is_currency
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import ConfigError
from core.languages import babel_name
from core.money import Money, locale_of

MethodKind = Literal["card", "upi", "pix", "paynow", "wallet"]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A time added to "now" must stay a date (year 9999 at most): ten years is more than any policy
# here needs, and keeps `now + pin_lock` from overflowing in the middle of a conversation.
_LONGEST = timedelta(days=3650)


def _duration(value: object) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)):
        seconds = int(m[1]) * _UNITS[m[2]]
    else:
        raise ValueError("write a duration like 30s, 5m, 24h or 2d")
    if not 0 < seconds <= _LONGEST.total_seconds():
        # 0s would divide by zero (a rate) or expire everything at once; a negative never ends.
        raise ValueError("must be longer than 0s and at most 3650d")
    return timedelta(seconds=seconds)


def _money(value: object) -> Money:
    if not isinstance(value, str):
        raise ValueError("write money as a string like 'INR 100000.00'")
    return Money.of(value)


def _positive(value: Money) -> Money:
    if value.minor <= 0:
        raise ValueError(f"{value.code()} must be more than zero")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
MoneyField = Annotated[Money, BeforeValidator(_money), AfterValidator(_positive)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Limits(_Frozen):
    min: MoneyField
    per_transaction: MoneyField
    per_day: MoneyField
    per_day_count: int = Field(gt=0)
    per_month: MoneyField | None = None  # a calendar month in the market's time zone
    new_method_first_day: MoneyField

    @model_validator(mode="after")
    def _in_order(self) -> Limits:
        # A limit above the next one could never be reached, and a minimum above a maximum
        # refuses every payment: say so at start-up, not to the first customer. (Limits in
        # another currency are the market's to refuse.)
        chain = [("min", self.min), ("per_transaction", self.per_transaction)]
        chain.append(("per_day", self.per_day))
        if self.per_month is not None:
            chain.append(("per_month", self.per_month))
        pairs = [
            *itertools.pairwise(chain),
            (chain[0], ("new_method_first_day", self.new_method_first_day)),
        ]
        for (low_name, low), (high_name, high) in pairs:
            if low.currency == high.currency and low > high:
                raise ValueError(f"{low_name} ({low.code()}) is above {high_name} ({high.code()})")
        return self


def _known_locale(value: str) -> str:
    try:
        locale_of(babel_name(value))  # a pseudo-locale (en_XA) is its base language to Babel
    except (UnknownLocaleError, ValueError):  # not in Babel's data, or malformed
        raise ValueError(f"unknown locale {value!r} (write it like en_IN)") from None
    return value


KnownLocale = Annotated[str, AfterValidator(_known_locale)]


class Market(_Frozen):
    name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    locale: str
    timezone: str = "UTC"
    currency_symbol: str | None = None
    methods: tuple[MethodKind, ...] = Field(min_length=1)
    card_brands: tuple[Literal["visa", "mastercard"], ...] = ("visa", "mastercard")
    banks: tuple[str, ...] = Field(min_length=1)
    wallets: tuple[str, ...] = ()
    limits: Limits
    # The languages this market offers (`/language`), its default first; none: `locales.default`
    languages: tuple[KnownLocale, ...] = ()

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        return _known_locale(value)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _limits_in_currency(self) -> Market:
        for name in ("min", "per_transaction", "per_day", "per_month", "new_method_first_day"):
            limit = getattr(self.limits, name)
            if limit is not None and limit.currency != self.currency:
                raise ValueError(f"limits.{name} must be in {self.currency}")
        if "card" in self.methods and not self.card_brands:
            raise ValueError("card_brands: the market takes cards, so name at least one brand")
        return self


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Refused(_Frozen):
    countries: tuple[CountryCode, ...] = ()


class Security(_Frozen):
    pin_length: Literal[4, 6] = 4
    pin_attempts: int = Field(default=3, ge=1, le=10)
    pin_lock: Duration = timedelta(hours=24)
    pin_hash_cost: int = Field(default=10, ge=8, le=20)
    sms_code_length: int = Field(default=6, ge=4, le=8)
    sms_code_lifetime: Duration = timedelta(minutes=5)
    sms_code_tries: int = Field(default=3, ge=1)
    sms_resends_per_hour: int = Field(default=3, ge=1)


class Payments(_Frozen):
    request_expiry: Duration = timedelta(hours=24)
    processor_timeout: Duration = timedelta(seconds=30)
    status_checks: tuple[Duration, ...] = (
        timedelta(seconds=90),
        timedelta(minutes=20),
        timedelta(minutes=90),
    )

    @field_validator("status_checks")
    @classmethod
    def _within_two_hours(cls, value: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        if not 1 <= len(value) <= 3 or sum(value, timedelta()) > timedelta(hours=2):
            raise ValueError("at most 3 status checks, all within 2h of the payment")
        return value

    @field_validator("request_expiry")
    @classmethod
    def _at_least_five_minutes(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=300):
            raise ValueError("must be at least 5m (WhatsApp's order_details minimum)")
        return value


class Locales(_Frozen):
    """Which templates exist is the renderer's to check (`bot.render.check_locales`), when the
    engine is built and by `paychat check-config`."""

    default: KnownLocale = "en"
    available: tuple[KnownLocale, ...] = Field(default=("en",), min_length=1)

    @model_validator(mode="after")
    def _default_is_available(self) -> Locales:
        if self.default not in self.available:
            raise ValueError(
                f"default {self.default!r} is not in available {list(self.available)}"
            )
        return self


DATABASE_URL_ENV = "PAYCHAT_DATABASE_URL"


class Storage(_Frozen):
    path: str = Field(default="paychat.db", min_length=1)
    # A URL instead of the path: sqlite:///file.db, or postgresql://user@host/db (README,
    # PostgreSQL). PAYCHAT_DATABASE_URL, when set, wins over both (a password stays out of
    # the file).
    url: str | None = Field(default=None, min_length=1)
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    def database(self) -> str:
        """What the bot opens: PAYCHAT_DATABASE_URL, else `url`, else `path`."""
        return os.environ.get(DATABASE_URL_ENV) or self.url or self.path


class Telegram(_Frozen):
    bot_username: str = Field(default="PayChatSimBot", pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    per_chat_interval: Duration = timedelta(seconds=1)
    global_per_second: int = Field(default=30, ge=1)

    @field_validator("webhook_url")
    @classmethod
    def _a_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(f"{value!r} is not a URL like https://example.org/paychat")
        return value

    @model_validator(mode="after")
    def _webhook_has_a_url(self) -> Telegram:
        if self.mode == "webhook" and self.webhook_url is None:
            raise ValueError("mode: webhook needs webhook_url (the URL Telegram posts to)")
        return self


class Settings(_Frozen):
    markets: dict[str, Market] = Field(min_length=1)
    refused: Refused = Refused()
    security: Security = Security()
    payments: Payments = Payments()
    locales: Locales = Locales()
    storage: Storage = Storage()
    telegram: Telegram = Telegram()

    @field_validator("markets")
    @classmethod
    def _country_codes(cls, value: dict[str, Market]) -> dict[str, Market]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter country code")
        return value

    @model_validator(mode="after")
    def _served_or_refused(self) -> Settings:
        both = sorted(set(self.markets) & set(self.refused.countries))
        if both:
            raise ValueError(f"refused.countries: {', '.join(both)} is also under markets")
        return self

    def market(self, country: str) -> Market | None:
        return self.markets.get(country)

    def languages(self, country: str | None) -> tuple[str, ...]:
        """What the market offers, its default first (outside any market: every language)."""
        market = self.markets.get(country) if country else None
        if market is None:
            return self.locales.available
        return market.languages or (self.locales.default,)

    @model_validator(mode="after")
    def _languages_installed(self) -> Settings:
        for code, market in self.markets.items():
            missing = [lang for lang in market.languages if lang not in self.locales.available]
            if missing:
                raise ValueError(
                    f"markets.{code}.languages: {', '.join(missing)} not in locales.available"
                )
        return self


def parse_settings(data: object, source: str = "config.yaml") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            problem = err["msg"].removeprefix("Value error, ")  # pydantic's, for our own checks
            # A check across sections (top level) names its keys itself.
            lines.append(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        raise ConfigError("\n".join(lines)) from None


def load_settings(path: str | Path = "config.yaml") -> Settings:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {exc}") from None
    return parse_settings(data, str(path))
