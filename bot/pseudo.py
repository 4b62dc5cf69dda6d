"""The pseudo-locale `en_XA`: every message in accented English, ~40% longer and bracketed, so
a hard-coded string (no accents), a cut-off label (no closing bracket) or a layout that only
fits English shows at a glance. Written from the template catalog by `make i18n`
(`python -m bot.pseudo`); `tests/test_catalogs.py` checks the file is what this writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.catalogs import TEMPLATE_FILE, po_path, read_catalog

LOCALE = "en_XA"
_ACCENTED = str.maketrans(
    "AaCcDdEeGgHhIiJjKkLlNnOoRrSsTtUuWwYyZz",
    "ÅåÇçÐðÉéĜĝĤĥÎîĴĵĶķĻļÑñÖöŘřŠšŢţÛûŴŵÝýŽž",
)
# Placeholders (%(name)s), escaped percents, /commands, links and ids stay as they are: they are
# read by the code or typed by people.
_KEEP = re.compile(r"%\([a-z_0-9]+\)s|%%|/[a-z]+|https?://\S+|\b[A-Z]{2,}-…|\n")
_PAD = " ·"  # what lengthens a message: two characters a step


def pseudo(text: str) -> str:
    """`Pay %(amount)s` → `[Þåý %(amount)s · · ·]`: accented, 40% longer, bracketed."""
    parts: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        parts.append(text[last : match.start()].translate(_ACCENTED))
        parts.append(match.group())
        last = match.end()
    parts.append(text[last:].translate(_ACCENTED))
    body = "".join(parts)
    visible = len(_KEEP.sub("", text))
    steps = -(-visible * 2 // 5 // len(_PAD))  # 40% of the words, rounded up
    return f"[{body}{_PAD * steps}]"


def build(template: Catalog) -> Catalog:
    # Not a CLDR locale: Babel keeps its name and gives it English plural rules.
    catalog = Catalog(
        locale=LOCALE,
        domain="messages",
        project="PayChat",
        version="0.1",
        creation_date=template.creation_date,  # changes only when the template does
        revision_date=template.creation_date,
        fuzzy=False,
    )
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            string: str | tuple[str, ...] = tuple(pseudo(str(form)) for form in message.id)
        else:
            string = pseudo(str(message.id))
        catalog.add(
            message.id,
            string,
            locations=message.locations,
            flags=message.flags,
            auto_comments=message.auto_comments,
            context=message.context,
        )
    return catalog


def write(path: Path | None = None) -> Path:
    path = path or po_path(LOCALE)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog = build(read_catalog(TEMPLATE_FILE, "en"))
    with path.open("wb") as fp:
        write_po(fp, catalog, width=99, omit_header=False, include_previous=False)
    return path


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write()}\n")
