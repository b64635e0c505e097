"""Every read of the store returns named rows (store/rows.py) or a scalar, never a bare positional tuple: a
reordered column then fails loudly instead of silently shifting a figure (#13)."""

from __future__ import annotations

import ast
import collections.abc
import inspect
import types
import typing
from pathlib import Path

from margindash_cli.store import rows
from margindash_cli.store.budgets import Budgets
from margindash_cli.store.costs import Costs
from margindash_cli.store.db import Store
from margindash_cli.store.events import Events
from margindash_cli.store.health import Health
from margindash_cli.store.prices import Prices
from margindash_cli.store.revenue import Revenue
from margindash_cli.store.sources import Sources
from margindash_cli.store.stripe import Stripe

REPOSITORIES = {
    "events": Events,
    "sources": Sources,
    "prices": Prices,
    "revenue": Revenue,
    "stripe": Stripe,
    "budgets": Budgets,
    "health": Health,
    "costs": Costs,
}
ROW_TYPES = {obj for obj in vars(rows).values() if isinstance(obj, type) and obj.__module__ == rows.__name__}
SCALARS = {int, bool, str, float, bytes, type(None)}
CONTAINERS = {list, set, frozenset, collections.abc.Iterator, collections.abc.Iterable, collections.abc.Sequence}

# Reads that still return unnamed shapes, each to become a rows.py type (#13 left them at its deadline). Do not add
# to this set: a new read returns a rows.py type. Remove a name when its read is converted (the test says so).
ALLOWED = {
    # positional tuples that callers unpack or index
    "events.event_rows",
    "events.reported_cost_rows",
    "events.export_rows",  # events_wide rows, read by WIDE_COLUMNS index
    "events.model_names",
    # SQL-building helpers (WHERE fragments with their arguments, id ranges), not rows
    "events.ts_filter",
    "events.ts_ranges_filter",
    "events.id_ranges",
    # mappings: a row as a dict by column name, or id/name -> value; not positional, but not rows.py types either
    "events.list_events",
    "events.dimension_names",
    "events.customer_attribute",
    "prices.price_version_labels",
    "revenue.unconverted_totals",
    "budgets.budget_spend",
    "stripe.stripe_customer",
    "stripe.stripe_invoice",
    "stripe.stripe_credit_note",
    "stripe.stripe_refund",
    "stripe.stripe_dispute",
    "stripe.stripe_customer_rows",
    "stripe.customer_revenue_and_usage",
    "stripe.stripe_reversal_shares",
}


def reads() -> dict[str, typing.Any]:
    """family.method -> return annotation of every public read: the methods after a repository's `# -- reading --`."""
    found = {}
    for family, cls in REPOSITORIES.items():
        source = Path(inspect.getsourcefile(cls)).read_text()
        marker = next(i for i, line in enumerate(source.splitlines(), 1) if line.strip().startswith("# -- reading --"))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                for fn in node.body:
                    if isinstance(fn, ast.FunctionDef) and fn.lineno > marker and not fn.name.startswith("_"):
                        found[f"{family}.{fn.name}"] = typing.get_type_hints(getattr(cls, fn.name))["return"]
    return found


def _named(hint: typing.Any) -> bool:
    """A rows.py type, a scalar, or an optional/list/iterator of one; a NamedTuple of rows.py types nests fine."""
    if hint in ROW_TYPES or hint in SCALARS:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_named(a) for a in args)
    if origin in CONTAINERS and len(args) == 1:
        return _named(args[0])
    return False


def test_every_read_returns_rows_or_a_scalar():
    found = reads()
    assert len(found) > 60  # the reads were found at all
    unnamed = sorted(name for name, hint in found.items() if not _named(hint) and name not in ALLOWED)
    assert unnamed == [], "return a rows.py NamedTuple (or list/Iterator of one) from these reads"
    converted = sorted(name for name in ALLOWED if name in found and _named(found[name]))
    assert converted == [], "these reads return rows now: take them out of ALLOWED"
    assert sorted(ALLOWED - set(found)) == [], "ALLOWED names reads that do not exist"


def test_rows_py_types_are_named():
    for row in ROW_TYPES:
        assert row.__doc__, row  # each says what it is a row of


def test_usage_fact_rows_are_report_usage_facts_field_for_field():
    from margindash_cli.reports.compute import UsageFact

    assert rows.UsageFactRow._fields == UsageFact._fields


def test_every_family_is_an_attribute_of_the_store():
    store = Store.open(":memory:")
    try:
        for family, cls in REPOSITORIES.items():
            assert type(getattr(store, family)) is cls
    finally:
        store.close()
