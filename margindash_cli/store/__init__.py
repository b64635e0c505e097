"""The only package that imports sqlite3 / sqlite_utils.

db.py, migrations.py  - `Store`: open, migrate, lock, `write()`; the schema as numbered, append-only migrations.
schema.py, rows.py    - column lists and day numbers; the named rows every read returns.
events.py sources.py prices.py revenue.py stripe.py budgets.py health.py costs.py - one repository per table
                        family, reached as `store.events`, `store.sources`, ... (sql.py: their shared base and helpers).
"""

from margindash_cli.store.db import Store

__all__ = ["Store"]
