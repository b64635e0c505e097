"""Pure building blocks, stdlib only: no store, no network, no CLI.

money.py    - picodollars and minor units: parsing, rounding and allocation of exact money.
periods.py  - date ranges for --since/--until/--period, time zones.
call.py     - the canonical usage event an app logs (`UsageEvent`), its fields and token invariant.
textsafe.py - log values printed as text, never as markup or terminal control.
"""
