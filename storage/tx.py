"""`SqliteTx`: the rows one unit of work sees, composed of one SQLite class per role.

Each role's SQL lives in `storage/sqlite_rows/<area>.py`; this class only puts them together,
so the store hands every unit one object that is a `TxWithRails` (the product's roles and the
simulated rails' rows, on one connection, in one transaction).
"""

from __future__ import annotations

from storage.sqlite_rows.credentials import SqlitePinRows, SqliteSmsCodeRows
from storage.sqlite_rows.jobs import SqliteJobRows
from storage.sqlite_rows.ledger import SqliteLedgerRows
from storage.sqlite_rows.methods import SqliteMethodRows, SqlitePayoutRows
from storage.sqlite_rows.outbox import SqliteOutboxRows
from storage.sqlite_rows.parties import SqliteConversationRows, SqliteInboxRows, SqliteUserRows
from storage.sqlite_rows.payments import SqlitePaymentRows
from storage.sqlite_rows.rails import SqliteRailRows


class SqliteTx(
    SqliteInboxRows,
    SqliteUserRows,
    SqliteConversationRows,
    SqliteOutboxRows,
    SqliteJobRows,
    SqlitePayoutRows,
    SqliteMethodRows,
    SqlitePinRows,
    SqliteSmsCodeRows,
    SqlitePaymentRows,
    SqliteLedgerRows,
    SqliteRailRows,
):
    """One per unit of work (built with the unit's connection and the store's sealer)."""
