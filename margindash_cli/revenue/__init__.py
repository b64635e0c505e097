"""Revenue: from Stripe, from any billing system as CSV, and in other currencies.

csvinput.py    - reading a user CSV file: rows with their line numbers, clear errors.
csv_import.py  - pure: a revenue CSV into per-day revenue rows (`revenue import`).
fx.py          - pure: exchange rates to US dollars (`fx import`).
run.py         - `revenue import`: a revenue CSV into the store, keyed by its path.
stripe_math.py - pure: Stripe invoice lines net of discounts and tax over their service periods, credit notes,
                 refunds and lost disputes into store rows and revenue rows; which stored state is newer.
stripe_sync.py - the run: `sync-stripe`, `stripe apply-event`, `customers map|list`, `fx import` read and write the
                 store and fetch through clients/stripe_api.py.
"""
