"""Output for the terminal and files: only the payload goes to stdout, notes and hints to stderr.

kit.py       - the shared pieces: the JSON emit path, consoles, `table`, the one fit-to-terminal routine, CSV/Markdown.
textchart.py - plain-text charts for `report --chart`.
One module per command's tables: report.py, budget.py, prices.py, simulate.py, stripe.py, customers.py, fx.py,
costs.py, export.py, ingest.py, events.py, revenue.py, demo.py, doctor.py.
"""
