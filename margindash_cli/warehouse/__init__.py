"""The warehouse side of `export`: FOCUS 1.2 tables with revenue (`focus.py`) and the report SQL that runs on them
(`*.sql`, printed by `margindash export OUTDIR --sql ENGINE`)."""
