"""Rewrite call sites of the store from `store.method(...)` to `store.<family>.method(...)` (#13, store/ split).

    python scripts/dev/store_calls.py [--check] [PATH ...]     (default: margindash_cli tests benchmarks scripts)

Idempotent: a call already reached through its family (`store.events.list_events`) is never touched again, so
the script can be re-run on any tree, e.g. after merging branches that still call the old flat `Store` methods.
Imports of names that left db.py (`from margindash_cli.store.db import DAY_MS, Store`) are split over the
modules they now live in (schema.py, rows.py, ...). Only receivers named like a store (RECEIVERS: `store`,
`self.store`, `x[0].store`, `s`) are rewritten, and only for the method names in FAMILY; `Store.<method>` (monkeypatching the class) becomes `<Class>.<method>` for the repository
class, with the import the caller needs added by hand (the script prints those lines). Prints each changed file;
`--check` changes nothing and exits 1 when something would change.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

FAMILIES: dict[str, tuple[str, ...]] = {
    "sources": (
        "find_source",
        "source_id",
        "save_checkpoint",
        "list_sources",
        "resume_candidates",
        "restart_checkpoint",
        "source_rows",
    ),
    "events": (
        "insert_new_events",
        "add_to_rollups",
        "id_ranges",
        "ts_filter",
        "ts_ranges_filter",
        "list_events",
        "_list_events",
        "_events_where",
        "_stream_events",
        "usage_facts",
        "unpriced_models",
        "unpriced_after",
        "last_id",
        "model_names",
        "event_rows",
        "replace_event_costs",
        "count_events",
        "usage_vectors",
        "cell_facts",
        "customer_attribute",
        "event_id_by_response_id",
        "data_span_days",
        "grow_events",
        "reported_cost_rows",
        "dimension_names",
        "export_rows",
        "_customer_months",
        "request_id_text_from",
    ),
    "prices": (
        "price_rows",
        "alias_rows",
        "add_price",
        "remove_prices",
        "has_price",
        "alias_source",
        "set_alias",
        "price_version_labels",
    ),
    "revenue": (
        "revenue_facts",
        "_revenue_day_facts",
        "replace_revenue",
        "set_fx_rate",
        "fx_rate",
        "unconverted_revenue",
        "set_revenue_usd",
        "unconverted_totals",
        "unconverted_revenue_days",
        "revenue_facts_billed",
        "revenue_source_rows",
        "import_revenue_file",
        "focus_revenue_rows",
    ),
    "stripe": (
        "stripe_cursor",
        "set_stripe_cursor",
        "stripe_observed_at",
        "_stripe_row",
        "_stripe_upsert",
        "stripe_customer",
        "upsert_stripe_customer",
        "stripe_app_customer",
        "set_stripe_customer_map",
        "set_customer_attributes",
        "stripe_invoice",
        "upsert_stripe_invoice",
        "mark_stripe_invoice_deleted",
        "stripe_credit_note",
        "upsert_stripe_credit_note",
        "stripe_refund",
        "upsert_stripe_refund",
        "set_stripe_payment",
        "stripe_payment_invoice",
        "stripe_invoice_family",
        "stripe_invoice_ids",
        "stripe_invoices_to_refetch",
        "stripe_counted_invoices",
        "replace_stripe_revenue",
        "stripe_revenue_totals",
        "stripe_unmapped_customers",
        "stripe_customer_rows",
        "customer_revenue_and_usage",
        "last_stripe_sync",
        "stripe_reversal_shares",
        "set_stripe_reversal_shares",
        "stripe_invoice_reversals",
        "stripe_dispute",
        "upsert_stripe_dispute",
        "stripe_reversals_to_refetch",
        "stripe_unlinked_reversals",
        "stripe_all_reversals",
        "stripe_customer_paid_invoices",
        "stripe_disputes_at_risk",
    ),
    "budgets": (
        "budget_rows",
        "save_budget",
        "delete_budget",
        "budget_spend",
        "_exact_cost_rows",
        "budget_breakdown",
        "claim_alert",
        "finish_alert",
        "alert_rows",
        "scope_ids_with_calls",
        "scope_has_calls",
    ),
    "health": ("integrity_problems", "rollup_mismatches", "applied_migrations", "_monthly_mismatches"),
    "costs": (
        "replace_billed_days",
        "upsert_billed",
        "_insert_billed",
        "_billed_digests",
        "cost_sync_state",
        "cost_sync_rows",
        "save_cost_sync",
        "billed_cost_rows",
        "billed_usage_rows",
        "billed_days",
        "logged_vendor_days",
        "logged_cells",
    ),
}
# The repository class of each family (margindash_cli/store/<family>.py).
CLASSES = {f: f.capitalize() for f in FAMILIES}
# Store-level, never rewritten: open, close, write, read_snapshot, path, conn, get_meta/set_meta (the store-wide meta
# table), dim_id/model_id/forget_dim_cache (the dimension ids every family shares).
FAMILY = {method: family for family, methods in FAMILIES.items() for method in methods}
# The names a `Store` goes by in this code base (the last part of the receiver: `self.store.x` has receiver `store`).
RECEIVERS = ("store", "_store", "s")

_CALL = re.compile(
    r"(?<!\w)(" + "|".join(RECEIVERS) + r")\.(" + "|".join(sorted(FAMILY, key=len, reverse=True)) + r")\b"
)
_CLASS = re.compile(r"(?<![\w.])Store\.(" + "|".join(sorted(FAMILY, key=len, reverse=True)) + r")\b")
_CLASS_ATTR = re.compile(
    r"(setattr|getattr|hasattr)\(Store, \"(" + "|".join(sorted(FAMILY, key=len, reverse=True)) + r")\""
)
_IMPORT = re.compile(r"^([ \t]*)from margindash_cli\.store\.db import (?:\(([^)]*)\)|([\w, ]+?))[ \t]*$", re.M)


def homes(package: Path = Path(__file__).resolve().parents[2] / "margindash_cli" / "store") -> dict[str, str]:
    """Top-level name -> the store module defining it (read from the split store package, schema.py first)."""
    found: dict[str, str] = {}
    for path in sorted(package.glob("*.py"), key=lambda p: (p.stem != "schema", p.stem != "rows", p.stem)):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found.setdefault(node.name, path.stem)
            elif (
                isinstance(node, ast.ImportFrom)
                and path.stem == "schema"
                and node.module == "margindash_cli.core.periods"
            ):
                found.update((a.asname or a.name, "schema") for a in node.names if (a.asname or a.name) not in found)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    found.update(
                        (n.id, path.stem) for n in ast.walk(target) if isinstance(n, ast.Name) and n.id not in found
                    )
    return found


def rewrite_imports(text: str, where: dict[str, str]) -> str:
    """`from margindash_cli.store.db import DAY_MS, Store` -> one import per module each name now lives in."""

    def split(m: re.Match[str]) -> str:
        listed = m.group(2) if m.group(2) is not None else m.group(3)
        indent = m.group(1)
        names = [n.split("#")[0].strip() for n in re.split(r"[,\n]", listed) if n.split("#")[0].strip()]
        if any(" as " in n for n in names):
            return m.group(0)
        by: dict[str, list[str]] = {}
        for name in names:
            by.setdefault(where.get(name, "db"), []).append(name)
        return "\n".join(
            f"{indent}from margindash_cli.store.{mod} import {', '.join(ns)}" for mod, ns in sorted(by.items())
        )

    return _IMPORT.sub(split, text)


def rewrite(text: str, where: dict[str, str] | None = None) -> str:
    """`text` with every flat store call routed through its family; text already routed is left as it is."""
    text = rewrite_imports(text, homes() if where is None else where)
    text = _CALL.sub(lambda m: f"{m.group(1)}.{FAMILY[m.group(2)]}.{m.group(2)}", text)
    text = _CLASS.sub(lambda m: f"{CLASSES[FAMILY[m.group(1)]]}.{m.group(1)}", text)
    return _CLASS_ATTR.sub(lambda m: f'{m.group(1)}({CLASSES[FAMILY[m.group(2)]]}, "{m.group(2)}"', text)


def files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    # the store package itself calls its repositories through `self.store.<family>` already
    return [
        f
        for f in found
        if "store_calls" not in f.name and not (f.parent.name == "store" and f.parent.parent.name == "margindash_cli")
    ]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"] or ["margindash_cli", "tests", "benchmarks", "scripts"]
    changed = []
    where = homes()
    for path in files(paths):
        old = path.read_text()
        new = rewrite(old, where)
        if new != old:
            changed.append(path)
            if not check:
                path.write_text(new)
            classes = sorted(
                {CLASSES[FAMILY[m.group(1)]] for m in _CLASS.finditer(old)}
                | {CLASSES[FAMILY[m.group(2)]] for m in _CLASS_ATTR.finditer(old)}
            )
            need = "".join(f"  needs: from margindash_cli.store.{c.lower()} import {c}\n" for c in classes)
            print(f"{'would rewrite' if check else 'rewrote'} {path}\n{need}", end="")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
