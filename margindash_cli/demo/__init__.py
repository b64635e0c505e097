"""`demo`: built-in synthetic data.

run.py       - `margindash demo`: build the demo store from it (log, revenue CSV, a bill, the HTML report).
synthetic.py - deterministic, offline synthetic calls and revenue (90 days to a given day; sign-ups over time).
"""
