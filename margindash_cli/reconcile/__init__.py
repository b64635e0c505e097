"""Reconcile computed costs with the providers' bills (`sync-costs`, `costs import`, `reconcile`, `--cost-basis reconciled`).

compute.py - pure: model keys, the gap of each (provider, UTC day, model) split into what explains it, rows and totals,
             and the spread of a bill over the customers who made the calls (largest remainder, `(untracked)` row).
files.py   - pure: AWS CUR 2.0 (CSV, Parquet) and FOCUS 1.x files into billed-cost rows.
demo.py    - the demo's synthetic bill (untracked spend, a discount, web search) derived from its calls.
run.py     - what the commands call: sync the admin APIs (clients/), import files, read the store, build the results.
"""
