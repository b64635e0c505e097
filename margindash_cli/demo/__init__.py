"""`demo`: built-in synthetic data.

synthetic.py - deterministic, offline synthetic calls and revenue (about 90 days).
"""
