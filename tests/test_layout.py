"""The dependency arrows point one way: nothing below `commands/` imports Typer, Rich or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "margindash_cli"
SHELL = {"__main__.py"}  # besides cli/: allowed to use Typer and Rich
FORBIDDEN = ("typer", "rich", "click", "margindash_cli.cli")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names.add(mod)
                names.update(f"{mod}.{a.name}" for a in node.names)
            elif node.module:
                names.add(node.module)
    return names


def test_core_modules_do_not_import_the_cli_stack():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli" or str(rel) in SHELL:
            continue
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                offenders.append(f"{rel} imports {name}")
    assert offenders == []


def test_guard_free_core_is_importable_without_typer():
    import subprocess
    import sys

    code = (
        "import sys; import margindash_cli.ingest.pipeline, margindash_cli.store.db;"
        "bad=[m for m in ('typer','rich','click') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
