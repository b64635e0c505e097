"""Budgets: limits per organisation, feature or customer, alerts, the blocklist and the guard.

compute.py - pure: limits, calendar periods, levels, projections, alert texts, the blocklist.
run.py     - what `budget check|set|list|rm` call: spend from the store, alerts sent once.
guard.py   - stdlib only: refuse an over-budget call inside an app (`margindash_cli.guard`).
"""
