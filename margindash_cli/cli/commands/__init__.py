"""One module per word the user types; each parses options (cli/options.py), calls a feature's run.py and hands
the result to cli/render/. No logic lives here.

ingest.py, events.py, report.py (report, trend, cohorts, concentration), dashboard.py, simulate.py, budget.py,
prices.py (prices ..., sync-prices, reprice), revenue.py, stripe.py (sync-stripe, stripe apply-event), customers.py,
fx.py, costs.py (sync-costs, costs import, reconcile), export.py, demo.py, doctor.py, db.py, schema.py.
"""
