"""Pure building blocks, stdlib only: no store, no network, no CLI.

money.py    - picodollars and minor units: parsing, rounding and allocation (`allocate`) of exact money, MAX_CALL_PICO.
periods.py  - the one epoch (EPOCH, EPOCH_DATE, DAY_MS); date ranges for --since/--until/--period, time zones.
call.py     - `Call`, the one record of a call an app logs: every field documented once, the token invariant.
event_schema.py - the JSON Schema of a `Call` (`margindash schema event`).
textsafe.py - log values printed as text, never as markup or terminal control.
suggest.py  - "did you mean": the usage error of a --customer/--feature/--model naming no stored id.
"""
