"""The only package that imports sqlite3 / sqlite_utils.

db.py         - `Store`: open, migrate, lock, and every read and write of the store.
migrations.py - the schema as numbered, append-only migrations.
"""
