"""`import margindash_cli.guard` keeps working: the guard lives in `margindash_cli/budgets/guard.py`.

Stdlib only, like the module it re-exports, so an app can import it without Typer, Rich or pydantic.
"""

from margindash_cli.budgets.guard import *  # noqa: F403
from margindash_cli.budgets.guard import __all__  # noqa: F401
