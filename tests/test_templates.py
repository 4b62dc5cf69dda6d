"""Every message key the code can produce has a template, and every template has a use."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime

from bot.render import Renderer, template_keys
from core.money import Money
from tests.conftest import ROOT

KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
JOB_KINDS = {"request.expire", "pay.status", "pin.unlock"}
NOT_RENDERED = {"chat.deleted"}  # a deletion carries a key but no text
SPEC_KEYS = [
    "welcome",
    "onboarding.ask_phone",
    "onboarding.phone_invalid",
    "onboarding.phone_not_own",
    "onboarding.country_unsupported",
    "onboarding.ask_business_name",
    "onboarding.done",
    "setup.terms",
    "setup.terms_declined",
    "setup.choose_bank",
    "setup.sms_sent",
    "setup.code_wrong",
    "setup.code_expired",
    "setup.choose_account",
    "setup.confirm",
    "setup.done",
    "sms.code",
    "methods.added",
    "methods.card_invalid",
    "methods.card_unsupported",
    "methods.card_expired",
    "pin.ask_new",
    "pin.mismatch",
    "pin.too_simple",
    "pin.set",
    "pin.ask",
    "pin.wrong",
    "pin.locked",
    "pin.unlocked",
    "request.ask_customer",
    "request.ask_amount",
    "request.amount_invalid",
    "request.ask_note",
    "request.sent",
    "request.received",
    "request.customer_unknown",
    "request.other_market",
    "request.declined",
    "request.cancelled",
    "request.expired",
    "request.already_paid",
    "link.created",
    "pay.choose_method",
    "pay.processing",
    "pay.succeeded",
    "pay.received",
    "pay.failed",
    "pay.pending",
    "refund.done",
    "refund.received",
    "history",
    "help",
    "error.not_allowed",
    "error.not_understood",
    "payments.not_set_up",
]


def _literals() -> set[str]:
    found: set[str] = set()
    for folder in ("flows", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


def _button_keys() -> tuple[set[str], set[str]]:
    """Template keys of button labels, and the raw `key=` values written in the code."""
    keys: set[str] = set()
    raw: set[str] = set()
    for path in (ROOT / "flows").rglob("*.py"):
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Btn":
                kw = {k.arg: k.value for k in call.keywords}
                if "label" in kw:
                    continue
                key = kw.get("key", call.args[0] if call.args else None)
                if isinstance(key, ast.Constant):
                    keys.add(f"button.{key.value}")
                    raw.add(key.value)
                elif isinstance(key, ast.JoinedStr):  # f"kind.{k}": one per method kind
                    keys |= {
                        f"button.kind.{k}" for k in ("card", "upi", "pix", "paynow", "wallet")
                    }
    return keys, raw


def test_every_key_has_a_template_and_every_template_a_key() -> None:
    templates = template_keys()
    buttons, raw_button_keys = _button_keys()
    files = {s for s in _literals() if s.endswith((".yaml", ".py", ".j2", ".json", ".db"))}
    message_keys = (
        {s for s in _literals() if KEY.match(s)}
        - JOB_KINDS
        - NOT_RENDERED
        - raw_button_keys
        - files
    )
    one_word = {s for s in _literals() if s.isidentifier()} & templates  # "welcome", "menu"
    from bot.transports.telegram import COMMANDS

    commands = {f"command.{c}" for c in COMMANDS}  # setMyCommands descriptions
    used = message_keys | buttons | one_word | commands
    missing = {
        k
        for k in used
        if k not in templates
        and not k.startswith(("bot.", "flows.", "payments.", "storage.", "paychat."))
    }
    assert not missing, f"keys without a template: {sorted(missing)}"
    unused = templates - used
    assert not unused, f"templates no code uses: {sorted(unused)}"


def test_the_specified_message_keys_all_exist() -> None:
    assert set(SPEC_KEYS) - template_keys() == set()


def test_money_and_dates_follow_the_recipients_market() -> None:
    renderer = Renderer()
    when = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)
    text = renderer.render(
        "pay.succeeded",
        "en",
        {
            "_money_locale": "pt_BR",
            "_symbol": None,
            "_tz": None,
            "amount": Money(123456, "BRL"),
            "business": "Loja",
            "method": "Pix",
            "id": "TX-1",
            "when": when,
        },
    )
    assert "R$ 1.234,56" in text


def test_every_command_a_person_can_type_is_in_the_menu_and_help() -> None:
    """A working command nobody is told about is lost (/receipt was): each starter is in
    Telegram's command menu and in /help for the roles that may use it. `/setup` is the
    Settings → Payments button's own entry, the same screen as /settings."""
    from bot.render import Renderer
    from bot.transports.telegram import COMMANDS
    from flows.router import STARTERS

    typed = set(STARTERS) - {"setup"}
    assert typed <= set(COMMANDS), sorted(typed - set(COMMANDS))
    renderer = Renderer()
    for name, (_, role) in STARTERS.items():
        if name == "setup":
            continue
        roles = [role] if role else ["business", "customer"]
        for who in roles:
            shown = renderer.render("help", "en", {"role": who})
            assert f"/{name}" in shown, f"/{name} is not in /help for a {who}"
