"""`paychat web` in a real headless Chromium (Debian's, driven by Playwright), against the real
server as a subprocess on a fresh database: everything is done by clicking and typing as a
person would, and Playwright's expectations wait for what the page shows (no sleeps).

Screenshots of each step go to artifacts/web/ (kept by CI as test artifacts)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web_server import ROOT, request, running_web
from tests.web_server import replay as replay_scenario

CHROMIUM = os.environ.get("PAYCHAT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Resolve nothing but loopback: no look-ups of Google's hosts at start-up.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
SHOTS = ROOT / "artifacts" / "web"

if not os.path.exists(CHROMIUM):  # `make test` installs it (scripts/ensure-chromium)
    pytest.skip(
        f"no Chromium at {CHROMIUM}: the browser tests of paychat web did not run "
        "(scripts/ensure-chromium installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=30_000)  # a loaded 2-core machine runs six suites at once

# Chromium and a server per test load both cores: one browser test at a time (`make test` runs
# pytest with --dist loadgroup: a group runs on one worker, in turn).
pytestmark = pytest.mark.xdist_group("browser")


# Module scope: a live sync Playwright marks an asyncio loop as running in this thread, which
# would break the async tests that run after it in the same worker.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        opened = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield opened
        opened.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    with running_web(tmp_path) as base:
        yield base


def open_page(browser: Browser, base: str, **options: Any) -> Page:
    page = browser.new_page(viewport=options.pop("viewport", {"width": 1500, "height": 950}))
    page.goto(base + "/", **options)
    expect(page.locator("#live")).to_have_text("live")  # the event stream is open
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# -- a person's gestures --------------------------------------------------------------------------
def phone(page: Page, party: str) -> Locator:
    return page.locator(f'section.phone[data-party="{party}"]')


def add_party(
    page: Page,
    name: str,
    phone_number: str,
    role: str = "",
    country: str = "IN",
    language: str = "en",
) -> None:
    form = page.locator("#add-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Country").select_option(country)
    form.get_by_label("Phone").fill(phone_number)
    form.get_by_label("Role").select_option(role)
    form.get_by_label("Language").select_option(language)
    form.get_by_role("button", name="Add phone").click()
    expect(phone(page, name.lower().replace(" ", "_"))).to_be_visible()


def send(page: Page, party: str, text: str) -> None:
    box = phone(page, party).locator("form.send input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def says(page: Page, party: str, key: str, count: int = 1) -> Locator:
    """The party's messages with this message key, once there are `count` of them."""
    found = phone(page, party).locator(f'li.msg.bot[data-key="{key}"]')
    expect(found).to_have_count(count)
    return found.last


def tap(page: Page, party: str, button: str = "", label: str = "") -> None:
    """A button on the party's newest message that has it: by id, or by (part of) its label."""
    bot = phone(page, party).locator("li.msg.bot")
    if button:
        bot.locator(f'button[data-button="{button}"]').last.click()
    else:
        bot.get_by_role("button", name=re.compile(re.escape(label))).last.click()


def keypad(page: Page, party: str, pin: str) -> None:
    pad = phone(page, party).get_by_role("group", name="PIN keypad")
    for digit in pin:
        pad.get_by_role("button", name=f"digit {digit}", exact=True).click()
    expect(pad.locator(".dots")).to_have_text("●" * len(pin))  # dots, never the digits
    expect(pad).not_to_contain_text(pin)
    pad.get_by_role("button", name="enter the PIN").click()


def keypad_by_keyboard(page: Page, party: str, pin: str) -> None:
    pad = phone(page, party).get_by_role("group", name="PIN keypad")
    pad.get_by_role("button", name="digit 1", exact=True).focus()
    page.keyboard.type(pin)
    expect(pad.locator(".dots")).to_have_text("●" * len(pin))
    pad.get_by_role("button", name="enter the PIN").press("Enter")


def share_contact(page: Page, party: str) -> None:
    phone(page, party).locator(".reply button.contact").click()


def onboard(page: Page, party: str, role: str, business_name: str = "") -> None:
    send(page, party, "/start")
    says(page, party, "welcome")
    tap(page, party, role)
    says(page, party, "onboarding.ask_phone")
    share_contact(page, party)
    if business_name:
        says(page, party, "onboarding.ask_business_name")
        send(page, party, business_name)
    says(page, party, "onboarding.done")
    says(page, party, "menu")


def request_money(page: Page, shop: str, phone_number: str, amount: str, nth: int = 1) -> None:
    """The business's `nth` request, typed."""
    send(page, shop, "/request")
    says(page, shop, "request.ask_customer", nth)
    send(page, shop, phone_number)
    says(page, shop, "request.ask_amount", nth)
    send(page, shop, amount)
    says(page, shop, "request.ask_note", nth)
    send(page, shop, "2 masala chai")


# -- the stories ----------------------------------------------------------------------------------
def test_the_whole_story_by_tapping_and_typing(browser: Browser, web: str, tmp_path: Path) -> None:
    page = open_page(browser, web)
    add_party(page, "Chai Point", "98765 43210")
    add_party(page, "Asha", "98123 45678")
    onboard(page, "chai_point", "business", "Chai Point")
    onboard(page, "asha", "customer")
    shot(page, "01-onboarded")

    # Payments set up with the SMS code read from the phone's inbox.
    send(page, "chai_point", "/settings")
    says(page, "chai_point", "settings")
    tap(page, "chai_point", "payments")
    says(page, "chai_point", "payments.overview")
    tap(page, "chai_point", "add_method")
    says(page, "chai_point", "setup.terms")
    tap(page, "chai_point", "accept")
    says(page, "chai_point", "setup.choose_bank")
    tap(page, "chai_point", label="HDFC Bank")
    says(page, "chai_point", "setup.sms_sent")
    inbox = phone(page, "chai_point").locator("details.sms")
    inbox.locator("summary").click()
    expect(inbox.locator("li")).to_have_count(1)
    found = re.search(r"\b(\d{6})\b", inbox.locator("li").last.inner_text())
    assert found, "no code in the SMS"
    shot(page, "02-sms-code")
    send(page, "chai_point", found[1])
    says(page, "chai_point", "setup.choose_account")
    # The typed code is deleted from the chat.
    expect(phone(page, "chai_point").locator("li.msg.mine", has_text=found[1])).to_have_count(0)
    tap(page, "chai_point", label="••••")
    says(page, "chai_point", "setup.confirm")
    tap(page, "chai_point", "confirm")
    says(page, "chai_point", "setup.done")

    # Asha sets a PIN on the keypad and adds a card; the message with the number goes.
    send(page, "asha", "/pin")
    says(page, "asha", "pin.ask_new")
    keypad(page, "asha", "2580")
    says(page, "asha", "pin.ask_repeat")
    keypad(page, "asha", "2580")
    says(page, "asha", "pin.set")
    send(page, "asha", "/methods")
    says(page, "asha", "methods.list")
    tap(page, "asha", "add")
    says(page, "asha", "methods.choose_kind")
    tap(page, "asha", "card")
    says(page, "asha", "methods.ask_card")
    send(page, "asha", "4242 4242 4242 4242 12/30")
    says(page, "asha", "methods.added")
    expect(phone(page, "asha")).not_to_contain_text("4242 4242 4242 4242")
    shot(page, "03-pin-and-card")

    # A request, paid with the keypad; both confirmations, the request message edited.
    request_money(page, "chai_point", "+91 98123 45678", "250")
    says(page, "chai_point", "request.sent")
    says(page, "asha", "request.received")
    shot(page, "04-request")
    tap(page, "asha", "pay")
    says(page, "asha", "pay.choose_method")
    tap(page, "asha", label="4242")
    says(page, "asha", "pin.ask")
    keypad(page, "asha", "2580")
    expect(says(page, "asha", "pay.succeeded")).to_contain_text("₹250.00")
    expect(says(page, "chai_point", "pay.received")).to_contain_text("Asha")
    paid = says(page, "asha", "request.paid")
    expect(paid.locator(".meta")).to_contain_text("edited")
    expect(phone(page, "asha").locator('li.msg[data-key="request.received"]')).to_have_count(0)
    expect(page.locator("#state-payments tbody")).to_contain_text("succeeded")
    expect(page.locator("#ledger")).to_have_text("balanced")
    shot(page, "05-paid")

    # The session, exported as a scenario, replays green with `paychat test`.
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as scenario").click()
    recorded = tmp_path / "session.convo.yaml"
    download.value.save_as(recorded)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "session.convo.yaml").write_text(recorded.read_text())
    text = recorded.read_text()
    assert found[1] not in text  # the SMS code is captured, not written
    for key in ("setup.done", "pin.set", "methods.added", "pay.succeeded", "request.paid"):
        assert f"says: {key}" in text  # the whole story, asserted by message key
    replay = replay_scenario(recorded)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "1 passed" in replay.stdout


# Chai Point with payments set up, and Asha with a PIN and a card: the expiry scenario's world
# (loaded, its steps not played: the test acts by hand).
SEEDED = ROOT / "tests" / "scenarios" / "requests" / "expiry.convo.yaml"
WRONG = """version: 1
name: Wrong on purpose
parties:
  asha: {role: customer, phone: "+91 98123 45678", name: "Asha"}
steps:
  - asha: /start
    expect: {asha: [{says: welcome}]}
"""


def test_the_clock_expires_a_request_and_a_queued_decline_is_seen(
    browser: Browser, tmp_path: Path
) -> None:
    with running_web(tmp_path, "--scenario", str(SEEDED)) as base:
        page = open_page(browser, base)
        expect(page.locator("#clock")).to_have_text("2026-03-01 04:30:00 UTC")
        request_money(page, "shop", "+91 98123 45678", "80")
        says(page, "asha", "request.received")
        page.get_by_role("button", name="+24 hours").click()
        expect(page.locator("#clock")).to_have_text("2026-03-02 04:30:00 UTC")
        says(page, "shop", "request.expired")
        expect(says(page, "asha", "request.closed").locator("button")).to_have_count(0)
        expect(page.locator("#state-requests tbody")).to_contain_text("expired")
        shot(page, "06-expired")

        page.get_by_role("button", name="Card declined: insufficient funds").click()
        expect(page.locator("#faults li")).to_have_text(
            ["processor.authorize: declined insufficient_funds ×1"]
        )
        request_money(page, "shop", "+91 98123 45678", "250", nth=2)
        says(page, "asha", "request.received")  # the first one now says it is closed
        tap(page, "asha", "pay")
        says(page, "asha", "pay.choose_method")
        tap(page, "asha", label="4242")
        says(page, "asha", "pin.ask")
        keypad_by_keyboard(page, "asha", "2580")
        says(page, "asha", "pay.failed")
        says(page, "shop", "pay.attempt_failed")
        expect(page.locator("#faults li")).to_have_count(0)  # it fired
        expect(page.locator("#state-payments tbody")).to_contain_text("insufficient_funds")
        shot(page, "07-declined")

        # A payment link, opened by another party from the business's chat.
        send(page, "shop", "/link")
        says(page, "shop", "request.ask_amount", 3)
        send(page, "shop", "499")
        says(page, "shop", "request.ask_note", 3)
        send(page, "shop", "Tea box")
        link = says(page, "shop", "link.created")
        link.get_by_role("button", name="Open link as Asha").click()
        expect(says(page, "asha", "request.received", 2)).to_contain_text("₹499.00")

        # The link's UPI code, drawn as a QR image, scanned by the customer and paid.
        code = says(page, "shop", "code.qr", 3)  # one per request, the link's last
        expect(code.locator("img.qr")).to_have_attribute("src", re.compile("^data:image/png"))
        expect(code.locator(".text")).to_contain_text("upi://pay?")
        code.get_by_role("button", name="Scan as Asha").click()
        expect(says(page, "asha", "pay.choose_method", 2)).to_contain_text("₹499.00")
        tap(page, "asha", label="4242")
        says(page, "asha", "pin.ask", 2)
        keypad(page, "asha", "2580")
        says(page, "asha", "pay.succeeded")
        shot(page, "08-paid-by-code")


def test_a_scenario_played_in_the_page_shows_each_step(browser: Browser, web: str) -> None:
    page = open_page(browser, web)
    page.set_viewport_size({"width": 1900, "height": 1000})
    page.get_by_label("File").fill("tests/scenarios/showcase/whole_story.convo.yaml")
    page.get_by_role("button", name="Load (starts a fresh world)").click()
    steps = page.locator("#steps li")
    expect(steps.first).to_have_attribute("data-status", "pending")
    total = steps.count()
    page.get_by_role("button", name="Play next step").click()
    expect(steps.first).to_have_attribute("data-status", "passed")
    page.get_by_role("button", name="Play all").click()
    expect(page.locator('#steps li[data-status="passed"]')).to_have_count(total)
    expect(page.get_by_role("button", name="Play all")).to_be_disabled()
    # Beside each message a step saw: the step passed, and the key it said.
    paid = says(page, "asha", "pay.succeeded").locator(".check.good")
    expect(paid).to_contain_text("pay.succeeded")
    expect(page.locator("#state-parties tbody")).to_contain_text("INR 749.00")
    shot(page, "08-scenario-played")


def test_a_failing_step_is_shown_failed_with_why(
    browser: Browser, web: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.convo.yaml"
    wrong.write_text(WRONG)
    page = open_page(browser, web)
    page.get_by_label("File").fill(str(wrong))
    page.get_by_role("button", name="Load (starts a fresh world)").click()
    page.get_by_role("button", name="Play all").click()
    failed = page.locator('#steps li[data-status="failed"]')
    expect(failed).to_have_count(1)
    expect(failed.locator(".problem")).to_contain_text("it says menu")
    expect(phone(page, "asha").locator(".check.bad")).not_to_have_count(0)
    shot(page, "09-scenario-failed")


def test_a_bad_scenario_keeps_the_page_and_refunds_and_cut_lists_are_shown(
    browser: Browser, web: str, tmp_path: Path
) -> None:
    page = open_page(browser, web)
    add_party(page, "Ravi", "99887 76655")
    unseedable = tmp_path / "unseedable.convo.yaml"
    unseedable.write_text(
        "version: 1\nname: x\nparties:\n  shop: {role: business, phone: '+91 98765 43210'}\n"
        "given:\n  shop: {payments: {bank: Itaú}}\nsteps:\n  - shop: /start\n"
    )
    page.get_by_label("File").fill(str(unseedable))
    page.get_by_role("button", name="Load (starts a fresh world)").click()
    expect(page.get_by_role("alert")).to_contain_text(f"{unseedable}:6:")
    expect(phone(page, "ravi")).to_be_visible()  # what the tester had is still there
    expect(page.locator("#scenario")).to_be_hidden()

    page.get_by_label("File").fill("tests/scenarios/refunds/full_refund.convo.yaml")
    page.get_by_role("button", name="Load (starts a fresh world)").click()
    page.get_by_role("button", name="Play all").click()
    refund = page.locator("#state-refunds tbody tr")
    expect(refund).to_have_count(1)
    expect(refund).to_contain_text(re.compile(r"RF-\w+\s*TX-\w+\s*INR 250.00\s*succeeded"))
    expect(refund).to_contain_text("shop → asha")
    expect(page.locator("#hidden-requests")).to_be_hidden()
    for _ in range(20):  # more requests than the panel lists, typed through the API
        for typed in ("/request", "+91 98123 45678", "10", "tea"):
            request(web, "/api/act", {"party": "shop", "action": "text", "text": typed})
    expect(page.locator("#hidden-requests")).to_have_text(
        "shop: showing the newest 20 of 21 requests; asha: showing the newest 20 of 21 requests"
    )
    expect(page.locator("#state-requests tbody tr")).to_have_count(20)
    shot(page, "11-refunds-and-cut-lists")


def test_tabs_stay_in_step_a_reload_loses_nothing_and_bad_input_is_said(
    browser: Browser, web: str
) -> None:
    first = open_page(browser, web)
    second = open_page(browser, web, viewport={"width": 400, "height": 850})
    add_party(first, "Ravi", "99887 76655")
    expect(phone(second, "ravi")).to_be_visible()
    send(second, "ravi", "/start")
    says(first, "ravi", "welcome")
    second.reload()
    says(second, "ravi", "welcome")
    expect(phone(second, "ravi").locator("li.msg.mine")).to_have_text(re.compile("/start"))

    # A party in its own language: the engine's words in Portuguese, on the same page.
    add_party(first, "Lucas", "11 91234 5678", country="BR", language="pt_BR")
    send(first, "lucas", "/start")
    expect(says(first, "lucas", "welcome")).to_contain_text("Boas-vindas")
    expect(phone(first, "lucas").locator(".num")).to_contain_text("pt_BR")

    first.locator("#add-form").get_by_label("Name").fill("Nobody")
    first.locator("#add-form").get_by_label("Phone").fill("12")
    first.locator("#add-form").get_by_role("button", name="Add phone").click()
    expect(first.get_by_role("alert")).to_contain_text("'12' is not a valid phone number in BR")
    first.get_by_role("button", name="Dismiss the message").click()
    expect(first.get_by_role("alert")).to_be_hidden()
    first.locator("#advance-by").fill("soon")
    first.locator("#advance-by").press("Enter")
    expect(first.get_by_role("alert")).to_contain_text("is not a duration")
    shot(second, "10-phone-width")
