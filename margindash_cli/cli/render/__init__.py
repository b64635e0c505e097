"""Output for the terminal and files: only the payload goes to stdout, notes and hints to stderr.

kit.py       - the shared pieces: the JSON emit path, consoles, `table`, the one fit-to-terminal routine, CSV/Markdown writers.
<command>.py - the Rich tables (and CSV/Markdown records) of one command: report.py, budget.py, prices.py, simulate.py, ...
textchart.py - plain-text charts for `report --chart`.
"""
