"""margindash: revenue, cost and margin of an AI product, from local usage logs.

errors.py - MarginDashError(message, hint, exit_code) and its subclasses; paths.py - where the store lives;
guard.py - `import margindash_cli.guard` (budgets/guard.py); __main__.py - `python -m margindash_cli`.
core/ store/ clients/ ingest/ pricing/ reports/ budgets/ simulate/ revenue/ reconcile/ dashboard/ export/ events/
demo/ doctor/ - one package per feature (compute = pure, run = what cli/ calls); cli/ - the shell.
"""

__version__ = "0.1.0.dev0"
