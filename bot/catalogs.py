"""The translations: gettext catalogs (`locale/<locale>/LC_MESSAGES/messages.po`), managed with
Babel (`make i18n`: `pybabel extract` from the templates, `pybabel update`, the pseudo-locale).

The `.po` files are the only form kept in git: they are compiled in memory when a renderer is
built (Babel's `write_mo` into a buffer, ~10 ms a language), so a fresh clone runs with nothing
but Python, and a translator's edit shows on the next start without a compile step. Fuzzy
entries are left out (they read as English) and `tests/test_catalogs.py` refuses them.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from core.errors import ConfigError
from core.languages import babel_name

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LOCALE = "en"  # the language the templates are written in: it needs no catalog
TEMPLATE_FILE = LOCALE_DIR / f"{DOMAIN}.pot"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_locales() -> tuple[str, ...]:
    """Every language with a catalog on disk, plus the source language."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LOCALE, *found)


def read_catalog(path: Path, locale: str) -> Catalog:
    try:
        with path.open("rb") as fp:
            return read_po(fp, locale=babel_name(locale), domain=DOMAIN)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except Exception as exc:  # Babel's parser raises plain errors on a broken file
        raise ConfigError(f"{path}: not a valid catalog: {exc}") from None


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of `locale` (the source language: none, its words are the ids)."""
    if locale == SOURCE_LOCALE:
        return Translations()
    buffer = BytesIO()
    write_mo(buffer, read_catalog(po_path(locale), locale), use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
