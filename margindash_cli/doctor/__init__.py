"""`doctor`: is the store sound, and does anything in it need a person?

run.py - the checks, each a finding with a level, read from the store.
"""
