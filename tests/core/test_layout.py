"""The layout shows the design, and these tests hold it (STYLE.md, "Layout"; issue #13).

cli -> feature run.py -> {feature compute, pricing, store, clients} -> core -> errors. Each rule below is one test.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "margindash_cli"
TESTS = ROOT / "tests"

# who may import what: (package prefix, forbidden imports, except these files)
SHELL_LIBS = ("typer", "rich", "click")
SQL_LIBS = ("sqlite3", "sqlite_utils")
NET_LIBS = ("httpx", "stripe", "smtplib", "urllib.request", "http.client", "socket")
# the few places outside store/ that may open SQLite themselves, each with its reason
SQL_ALLOWED: dict[str, str] = {}
# run-side modules: they touch the store or a client, so pure modules must not import them
RUN_SIDE = ("margindash_cli.store", "margindash_cli.clients", "margindash_cli.ingest")
ROWS = ("margindash_cli.store.rows",)  # plain NamedTuples, no SQLite: what pure code may take and return


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    assert len(out) > 50, f"found only {len(out)} modules under {PACKAGE}"
    return out


def imports_of(name: str, path: Path, *, top_level_only: bool = False) -> list[tuple[str, int, bool]]:
    """(imported module, line, is_local) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, local) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                found.append((mod, child.lineno, local))
                found.extend((f"{mod}.{a.name}", child.lineno, local) for a in child.names)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only: never run
            visit(child, inner)

    visit(tree, False)
    if top_level_only:
        return [f for f in found if not f[2]]
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _hits(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_only_cli_imports_typer_click_or_rich():
    bad = [
        f"{mod}:{line} imports {imp}"
        for mod, path in modules().items()
        if not _hits(mod, ("margindash_cli.cli",)) and mod != "margindash_cli.__main__"
        for imp, line, _ in imports_of(mod, path)
        if _hits(imp, SHELL_LIBS) or _hits(imp, ("margindash_cli.cli",))
    ]
    assert bad == []


def test_only_store_imports_sqlite():
    bad = [
        f"{mod}:{line} imports {imp}"
        for mod, path in modules().items()
        if not mod.startswith("margindash_cli.store") and mod not in SQL_ALLOWED
        for imp, line, _ in imports_of(mod, path)
        if _hits(imp, SQL_LIBS)
    ]
    assert bad == []


def test_only_clients_talk_to_a_network():
    bad = [
        f"{mod}:{line} imports {imp}"
        for mod, path in modules().items()
        if not mod.startswith("margindash_cli.clients")
        for imp, line, _ in imports_of(mod, path)
        if _hits(imp, NET_LIBS)
    ]
    assert bad == []


def is_pure(mod: str) -> bool:
    """core/ and every feature's compute.py (and modules its package map names pure) import no run side."""
    return mod.startswith("margindash_cli.core") or mod.endswith(".compute") or mod in PURE_MODULES


PURE_MODULES = {
    "margindash_cli.errors",
    "margindash_cli.budgets.guard",
    "margindash_cli.dashboard.page",
    "margindash_cli.reconcile.files",
}


def test_pure_modules_import_no_store_client_ingest_or_run_module():
    bad = [
        f"{mod}:{line} imports {imp}"
        for mod, path in modules().items()
        if is_pure(mod)
        for imp, line, _ in imports_of(mod, path)
        if imp.startswith("margindash_cli")
        and not _hits(imp, ROWS)
        and (_hits(imp, RUN_SIDE) or imp.endswith(".run") or ".run." in imp)
    ]
    assert bad == []


def test_core_is_stdlib_only():
    stdlib = set(sys.stdlib_module_names)
    bad = [
        f"{mod}:{line} imports {imp}"
        for mod, path in modules().items()
        if mod.startswith("margindash_cli.core")
        for imp, line, _ in imports_of(mod, path)
        if imp.split(".")[0] not in stdlib
        and not (imp.startswith("margindash_cli.core") or imp.startswith("margindash_cli.errors"))
        and imp != "__future__"
        and not imp.startswith("__future__")
    ]
    assert bad == []


def _graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for imp, _, _local in imports_of(mod, path, top_level_only=True):
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]
            if imp and imp != mod and not (mod.startswith(imp + ".")):  # a package's own __init__ is no edge
                graph[mod].add(imp)
    return graph


def test_no_import_cycle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert cycles == []


LAZY = "# lazy: start-up"


def _local_imports():
    """(module, path, line, imported name, the statement's text) of each function-local import."""
    for mod, path in modules().items():
        text = path.read_text()
        lines = text.splitlines()
        ends = {
            n.lineno: n.end_lineno for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))
        }
        for imp, line, local in imports_of(mod, path):
            if local:
                yield mod, path, line, imp, "\n".join(lines[line - 1 : ends[line]])


def test_every_function_local_import_is_marked_lazy():
    bad = sorted({f"{mod}:{line}: {text.strip()}" for mod, _, line, _, text in _local_imports() if LAZY not in text})
    assert bad == []


def test_every_lazy_import_target_imports():
    targets = sorted({imp for _, _, _, imp, _ in _local_imports() if imp.startswith("margindash_cli")})
    failed = []
    for target in targets:
        try:
            importlib.import_module(target)
        except ModuleNotFoundError:
            parent, _, attr = target.rpartition(".")
            if not hasattr(importlib.import_module(parent), attr):
                failed.append(target)
    assert failed == []


def test_every_module_imports():
    for mod in modules():
        if mod != "margindash_cli.__main__":  # importing it runs the CLI
            importlib.import_module(mod)


SUFFIXES = ("ing", "ion", "ation", "er", "s", "_store", "_core", "_utils")  # budgets/budgeting, simulate/simulation


def test_no_two_modules_differ_only_by_a_suffix():
    """Two names that differ by a suffix (reports.py / reporting.py) make a reader guess which is which."""
    twins = []
    for folder in [PACKAGE, *[p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"]]:
        names = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        names |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
        for a in names:
            for b in names:
                stem = a.rstrip("s") if a.endswith("s") else a
                if a != b and any(b == a + s or b == stem + s for s in SUFFIXES if s != "s"):
                    twins.append(f"{folder.relative_to(ROOT)}: {a} / {b}")
    assert twins == []


def test_every_package_opens_with_a_map_of_its_files():
    missing = []
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        files = [p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"]
        unnamed = [f for f in files if f not in doc]
        if not doc or unnamed:
            missing.append(f"{init.relative_to(ROOT)}: {unnamed or 'no docstring'}")
    assert missing == []


def test_guard_stays_importable_without_the_cli_stack():
    code = (
        "import sys, margindash_cli.guard, margindash_cli.ingest.pipeline, margindash_cli.store;"
        "bad=[m for m in ('typer','rich','click','pydantic') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tests_are_sorted_by_what_they_need():
    bad = []
    for path in (TESTS / "core").glob("test_*.py"):
        if path.name == "test_layout.py":
            continue
        text = path.read_text()
        if re.search(r"\bdef test_\w+\([^)]*\b(cli|runner)\b|CliRunner", text):
            bad.append(f"{path.name}: tests/core uses the CLI runner")
    for path in TESTS.glob("test_*.py"):
        bad.append(f"{path.name}: at the top of tests/, not in core/, cli/ or system/")
    assert bad == []


def test_a_result_json_has_one_spelling():
    """Results expose `to_json()`; the shell turns a payload into JSON text in one place (render/kit.py)."""
    bad = []
    for mod, path in modules().items():
        text = path.read_text()
        for m in re.finditer(r"def (as_json|json_dict|to_json_dict|dump_json)\(", text):
            bad.append(f"{mod}: def {m.group(1)} (results spell it to_json)")
        if _hits(mod, ("margindash_cli.cli",)) and mod != "margindash_cli.cli.render.kit":
            if re.search(r"\b(orjson|json)\.dumps\(", text):
                bad.append(f"{mod}: builds JSON text itself (use kit.emit_json)")
    assert bad == []
