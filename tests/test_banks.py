"""The simulated banks: the accounts a phone number holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.records import BankAccount
from payments.rails import Rails
from storage.rails_rows import RailRows
from storage.sqlite import SqliteStore


@pytest.fixture
async def banks_db(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(str(tmp_path / "banks.db"))
    yield opened
    await opened.close()


async def test_every_phone_gets_accounts_of_its_own_and_the_same_ones_again(
    banks_db: SqliteStore,
) -> None:
    # Account ids held 29 bits of a hash: businesses collided by a few thousand (found by
    # `paychat bench --conversations 5000`), and a payment setup failed on a unique key.
    banks = Rails.simulated().banks
    phones = [f"+9198{i:08d}" for i in range(6000)]

    def open_all(rows: RailRows) -> tuple[list[str], list[str]]:
        first = [a.id for p in phones for a in banks.accounts(rows, p, "HDFC Bank", "INR")]
        again = [a.id for p in phones for a in banks.accounts(rows, p, "HDFC Bank", "INR")]
        return first, again

    first, again = await banks_db.run(open_all)
    assert len(first) >= len(phones)
    assert len(set(first)) == len(first)
    assert again == first


async def test_the_accounts_opened_are_the_ones_read_back(banks_db: SqliteStore) -> None:
    banks = Rails.simulated().banks
    phones = [f"+9198{i:08d}" for i in range(40)]  # one to three accounts each

    def open_then_read(rows: RailRows) -> tuple[list[BankAccount], list[BankAccount]]:
        opened = [a for p in phones for a in banks.accounts(rows, p, "SBI", "INR")]
        read = [a for p in phones for a in rows.bank_accounts(p, "SBI")]
        return opened, read

    opened, read = await banks_db.run(open_then_read)
    assert {sum(a.phone == p for a in opened) for p in phones} == {1, 2, 3}
    assert opened == read  # numbers (sealed at rest) and balances, in the same order
