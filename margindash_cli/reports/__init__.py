"""Revenue, cost and margin by any grouping (`report`).

compute.py - pure: facts in, a ReportResult out.
run.py     - validate the query, read the facts from the store, build the report.
"""
