"""What a party `paychat web` brought back from an earlier session on its database had before
this session, as far as an export goes. A recording writes `given` from what the session seeded;
what an earlier session left (a PIN kept only as a hash, card numbers sealed, requests and
payments, a conversation half done) cannot be written as one, and a replay without it fails. A
party with none of it (only signed up) exports as the registered party it is."""

from __future__ import annotations

from core.records import User
from storage.base import Tx


def held(tx: Tx, user: User) -> list[str]:
    """What `user` holds that no `given` can be written from, in words for the export's
    refusal; empty when the user row (role, phone, name, language) is all there is."""
    found = []
    if tx.pin(user.id) is not None:
        found.append("a PIN, kept only as a hash")
    if user.biometric:
        found.append("biometrics")
    if tx.methods(user.id):
        found.append("payment methods")
    if user.role == "business" and tx.payout(user.id) is not None:
        found.append("a payout account")
    if tx.requests_for(user.id, limit=1) or tx.payments_for(user.id, limit=1):
        found.append("requests or payments")
    if tx.conversation(user.id) is not None:
        found.append("a conversation half done")
    return found
