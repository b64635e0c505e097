"""Revenue: from Stripe, from any billing system as CSV, and in other currencies.

csvinput.py    - reading a user CSV file: rows with their line numbers, clear errors.
csv_import.py  - pure: a revenue CSV into per-day revenue rows (`revenue import`).
fx.py          - pure: exchange rates to US dollars (`fx import`).
run.py         - `revenue import`: a revenue CSV into the store, keyed by its path.
stripe_sync.py - Stripe invoices, credit notes and refunds into recognized revenue (`sync-stripe`).
"""
