"""pricing/ imports one way (pure modules never import the store) and loading prices never nests a transaction."""

from __future__ import annotations

import ast
from pathlib import Path

from margindash_cli.pricing.run import load_pricer
from margindash_cli.store.db import Store

PRICING = Path(__file__).resolve().parent.parents[1] / "margindash_cli" / "pricing"
PURE = ("model", "cost", "resolve", "mix", "merge", "catalog", "benchmarks", "sources", "pricer")
RUN_SIDE = ("run", "sync", "reprice", "drift", "explain")


def _imports(name: str) -> set[str]:
    tree = ast.parse((PRICING / f"{name}.py").read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_pure_pricing_modules_import_no_store_and_no_run_side_module():
    for name in PURE:
        imported = _imports(name)
        assert not any(m.startswith("margindash_cli.store") for m in imported), name
        assert not any(m.startswith(f"margindash_cli.pricing.{r}") for r in RUN_SIDE for m in imported), name


def test_pricing_imports_have_no_cycle():
    graph = {}
    for path in PRICING.glob("*.py"):
        mods = {m.split(".")[2] for m in _imports(path.stem) if m.startswith("margindash_cli.pricing.")}
        graph[path.stem] = mods & {p.stem for p in PRICING.glob("*.py")}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, " -> ".join(stack + (node,))
        for nxt in graph.get(node, ()):
            visit(nxt, stack + (node,))

    for node in graph:
        visit(node, ())


def test_load_pricer_inside_a_write_on_a_fresh_store(tmp_path):
    """Was: sqlite3.OperationalError "cannot start a transaction within a transaction" (a warm store hid it)."""
    store = Store.open(tmp_path / "fresh.db")
    with store.write():
        pricer = load_pricer(store)
    assert pricer.resolve("openai", "gpt-4o") is not None
    assert store.prices.price_rows()
    store.close()


def test_load_pricer_rolled_back_with_the_callers_write(tmp_path):
    store = Store.open(tmp_path / "fresh.db")
    try:
        with store.write():
            load_pricer(store)
            raise RuntimeError("caller fails")
    except RuntimeError:
        pass
    assert not store.prices.price_rows()  # the seeding joined the caller's transaction and went with it
    load_pricer(store)  # and a later load seeds it again
    assert store.prices.price_rows()
    store.close()
