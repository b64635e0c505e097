"""The HTML margin report (`report --format html`, `dashboard`).

- run.py: gathers the page's data as the commands' own --json envelopes (report, timeline, features, ...).
- page.py: pure; lays that data out as one self-contained HTML file (tables in HTML, charts drawn by app.js).
- assets/: vendored uPlot (MIT, version in assets/README.md), app.js, style.css; inlined into every page.
"""
