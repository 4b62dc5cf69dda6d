"""What the page shows, as JSON: every phone (its chat as the Simulator holds it, its SMS inbox,
its toasts), the clock, the queued faults, the domain's state and the scenario being played.
Chat words are the engine's rendered messages, as the Simulator received them."""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from typing import Any

from bot import qr
from payments import ledger
from payments.rails.base import CALL_NAMES
from sim.scenarios import probes
from sim.scenarios.report import mask
from sim.simulator import ChatMessage, SeenEvent
from sim.web.session import DECLINE_CODES, OUTCOMES, ROLES, WebSession
from storage.rails_rows import TxWithRails

_TOASTS_KEPT = 20  # the newest toasts sent; a page shows those it has not shown yet
# The newest requests, payments and refunds of each party the state panel lists; the view says
# how many there are in all, so the page can say "showing 20 of N" rather than hide the rest.
SHOWN = 20


async def build(session: WebSession) -> dict[str, Any]:
    async with session.reading() as world:
        sim, settings = world.sim, world.settings
        names = list(sim.parties)
        state = await world.store.run(lambda tx: _state(tx, names, settings.markets))
        checks = _checks(session)
        phones = []
        for party in sim.parties.values():
            phones.append(
                {
                    "name": party.name,
                    "shown": party.display_name,
                    "phone": party.phone,
                    "language": party.language,
                    "chat": [_message(m, checks.get(m.ref)) for m in party.chat if not m.deleted],
                    "sms": [
                        {"text": e.text, "at": _time(e.at), "check": checks.get(f"sms:{i}")}
                        for i, e in enumerate(sim.events)
                        if e.party == party.name and e.channel == "sms"
                    ],
                }
            )
        toasts = [
            {"id": i, "party": e.party, "text": e.text}
            for i, e in enumerate(sim.events)
            if e.kind == "toast"
        ][-_TOASTS_KEPT:]
        return {
            "version": session.version,
            "db": session.where,
            "clock": world.clock.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "phones": phones,
            "toasts": toasts,
            "state": state,
            "faults": [
                {"call": name, "outcome": f.outcome, "code": f.code or "", "times": times}
                for name, f, times in world.rails.injections.unconsumed()
            ],
            "scenario": _scenario(session),
            "choices": {
                "markets": [
                    {"code": code, "name": m.name} for code, m in settings.markets.items()
                ],
                "languages": list(settings.locales.available),
                "roles": list(ROLES),
                "calls": list(CALL_NAMES),
                "outcomes": list(OUTCOMES),
                "codes": list(DECLINE_CODES),
                "pin_length": settings.security.pin_length,
            },
        }


def _message(m: ChatMessage, check: dict[str, str] | None) -> dict[str, Any]:
    return {
        "ref": m.ref,
        "text": m.text,
        "mine": not m.from_bot,
        "key": m.key,
        "at": _time(m.at),
        "edited": m.edited,
        "buttons": [[{"id": b.id, "label": b.label} for b in row] for row in m.buttons],
        "pin_pad": m.pin_pad,
        "ask_contact": m.ask_contact,
        "qr": _qr_image(m.qr),
        "code": m.qr,
        "check": check,
    }


@functools.lru_cache(maxsize=256)
def _qr_image(code: str) -> str:
    """A photo's QR as a data: URL, so the page needs no second request and no network; a code
    is drawn once per process (the whole view is rebuilt on every change)."""
    if not code:
        return ""
    return "data:image/png;base64," + base64.b64encode(qr.png(code)).decode("ascii")


def _time(at: datetime | None) -> str:
    return at.strftime("%H:%M") if at is not None else ""


def _checks(session: WebSession) -> dict[str, dict[str, str]]:
    """Beside each message a played step saw: whether the step's expectations held, and the
    message key it was matched by (the engine's template key)."""
    playback = session.playback
    if playback is None:
        return {}
    events = session.sim.events
    out: dict[str, dict[str, str]] = {}
    for result in playback.results:
        for i in result.seen:
            event: SeenEvent = events[i]
            spot = f"sms:{i}" if event.channel == "sms" else event.ref
            if spot and event.kind != "toast":
                out[spot] = {
                    "status": result.status,
                    "says": event.key,
                    "step": str(result.number),
                }
    return out


def _scenario(session: WebSession) -> dict[str, Any] | None:
    playback = session.playback
    if playback is None:
        return None
    return {
        "file": str(playback.path),
        "name": playback.name,
        "next": playback.next,
        "leftover": playback.leftover,
        "steps": [
            {
                "number": r.number,
                "line": r.line,
                "source": r.source,
                "status": r.status,
                # A report may quote what a party received: an SMS code or a card number.
                "problem": mask(r.problem),
            }
            for r in playback.results
        ],
    }


def _state(tx: TxWithRails, names: list[str], markets: dict[str, Any]) -> dict[str, Any]:
    parties = []
    requests: dict[str, Any] = {}
    payments: dict[str, Any] = {}
    refunds: dict[str, Any] = {}
    hidden = []  # per party and table, when it has more than the panel lists
    for name in names:
        user = tx.user(name)
        if user is None:
            parties.append({"name": name, "role": "not registered", "balance": "", "pin": ""})
            continue
        amount = probes.balance(tx, name, markets)
        pin = tx.pin(name)
        if pin is None:
            pin_text = "not set"
        elif pin.locked_until is not None:
            pin_text = f"locked until {pin.locked_until.isoformat(sep=' ')}"
        else:
            pin_text = f"set, {pin.wrong} wrong" if pin.wrong else "set"
        parties.append(
            {
                "name": name,
                "role": user.role,
                "balance": amount.code() if amount is not None else "",
                "pin": pin_text,
            }
        )
        listed = (
            _requests(tx, name, requests),
            _payments(tx, name, payments),
            _refunds(tx, name, refunds),
        )
        for table, shown, total in zip(
            ("requests", "payments", "refunds"), listed, tx.history_counts(name), strict=True
        ):
            if shown < total:
                hidden.append({"party": name, "table": table, "shown": shown, "total": total})
    return {
        "parties": parties,
        "requests": list(requests.values()),  # each party's newest first
        "payments": list(payments.values()),
        "refunds": list(refunds.values()),
        "hidden": hidden,
        "shown": SHOWN,
        "ledger": "balanced" if ledger.balanced(tx) else "NOT balanced",
    }


def _requests(tx: TxWithRails, name: str, out: dict[str, Any]) -> int:
    found = tx.requests_for(name, limit=SHOWN)
    for r in found:
        out[r.id] = {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "amount": r.amount.code(),
            "business": r.business_id,
            "customer": r.customer_id or "",
            "expires": r.expires_at.isoformat(sep=" "),
        }
    return len(found)


def _payments(tx: TxWithRails, name: str, out: dict[str, Any]) -> int:
    found = tx.payments_for(name, limit=SHOWN)
    for p in found:
        out[p.id] = {
            "id": p.id,
            "request": p.request_id,
            "status": p.status,
            "amount": p.amount.code(),
            "method": p.method_kind,
            "reason": p.reason or "",
            "refunded": p.refunded_amount.code() if p.refunded else "",
        }
    return len(found)


def _refunds(tx: TxWithRails, name: str, out: dict[str, Any]) -> int:
    """Each refund with who gave it back to whom: the business refunds, the customer receives."""
    found = tx.refunds_for(name, limit=SHOWN)
    for refund, at in found:
        if refund.id in out:
            continue
        payment = tx.payment(refund.payment_id)
        request = tx.request(payment.request_id) if payment is not None else None
        out[refund.id] = {
            "id": refund.id,
            "payment": refund.payment_id,
            "amount": refund.amount.code(),
            "status": refund.status,
            "at": at.isoformat(sep=" "),
            "business": request.business_id if request is not None else "",
            "customer": payment.customer_id if payment is not None else "",
        }
    return len(found)
