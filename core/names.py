"""Names are text other people read: a business's name in its customer's chat, a customer's
profile name in the business's. Cleaned once, where they enter, so no name can fake a line of
the bot's own text ("Asha\\npaid you ₹50,000.00 for"), reverse the text after it (U+202E), hide
characters (zero-width), or run on for pages.

NFKC folds look-alike compatibility forms (full-width letters, ligatures) into their plain
forms; every control, format (bidi overrides and isolates, zero-width joiners and spaces) and
private-use character is dropped; every run of white space, line breaks included, becomes one
space. What is left is cut to the length limit.
"""

from __future__ import annotations

import unicodedata

NAME_LIMIT = 64
_DROPPED = {"Cc", "Cf", "Co", "Cs", "Cn"}


def clean_name(text: str, limit: int = NAME_LIMIT) -> str:
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in folded
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED
    )
    return " ".join(kept.split())[:limit].strip()
