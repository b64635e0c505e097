"""`events`: the stored calls behind every number.

run.py - list the stored calls (the filters of `margindash events`), each in the canonical field names.
"""
