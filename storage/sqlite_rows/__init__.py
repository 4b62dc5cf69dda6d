"""The SQLite adapter's rows: one class per role of the ports (`storage/base.py`,
`storage/rails_rows.py`), each holding its role's SQL; `storage/tx.py` composes them."""
