"""`margindash revenue import`: a revenue CSV into the store, keyed by the file's full path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from margindash_cli.store.db import Store


@dataclass
class RevenueImport:
    """What an import stored and what it replaced; `to_json()` is the summary of `revenue import --json`."""

    file: Path
    source: str  # csv:<full path>
    day_rows: int
    customers: int
    totals: dict[str, str]  # currency -> amount in major units, exact
    replaced: dict[
        str, Any
    ]  # {"day_rows": n, "totals": {...}}: what this file (or, --replace-by-name, its name) imported before
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "source": self.source,
            "day_rows": self.day_rows,
            "customers": self.customers,
            "totals": self.totals,
            "replaced": self.replaced,
            "warnings": self.warnings,
        }


def _totals_of(pairs: Iterable[tuple[str, int]]) -> dict[str, str]:
    from margindash_cli.core.money import minor_exponent  # lazy: start-up

    acc: dict[str, int] = {}
    for cur, minor in pairs:
        acc[cur] = acc.get(cur, 0) + minor
    return {c: format(Decimal(v).scaleb(-minor_exponent(c)), "f") for c, v in sorted(acc.items())}


def read_revenue_csv(file: Path) -> list[Any]:
    """The file's revenue days (csv_import.parse_revenue_csv); a missing or unreadable file, or one that is not
    UTF-8, is an InputError (exit 1, `error: FILE: ...`, as `ingest`)."""
    from margindash_cli.errors import InputError  # lazy: start-up
    from margindash_cli.revenue.csv_import import parse_revenue_csv  # lazy: start-up

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not UTF-8 text", "export the CSV as UTF-8") from None
    except FileNotFoundError:
        raise InputError(f"{file}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    return parse_revenue_csv(text, str(file))


def import_revenue(store: Store, file: Path, days: list[Any], *, replace_by_name: bool = False) -> RevenueImport:
    from margindash_cli.revenue.csv_import import revenue_rows  # lazy: start-up
    from margindash_cli.revenue.fx import FX_MAX_AGE_DAYS  # lazy: start-up

    path = file.resolve()
    rows = revenue_rows(days, lambda cur, day: store.revenue.fx_rate(cur, day, FX_MAX_AGE_DAYS))
    n, replaced, legacy, legacy_replaced = store.revenue.import_revenue_file(
        f"csv:{path}", rows, f"csv:{file.name}", replace_legacy=replace_by_name
    )
    result = RevenueImport(
        file=file,
        source=f"csv:{path}",
        day_rows=n,
        customers=len({d.customer_id for d in days}),
        totals=_totals_of((d.currency, d.amount_minor) for d in days),
        replaced={"day_rows": len(replaced), "totals": _totals_of((r[3], r[2]) for r in replaced)},
        warnings=[],
    )
    if legacy_replaced:
        result.replaced = {"day_rows": len(legacy), "totals": _totals_of((r[3], r[2]) for r in legacy)}
    elif legacy:
        result.warnings.append(
            f"an earlier import of a file named {file.name} (keyed by name, before imports were keyed by path: "
            f"{', '.join(f'{a} {c.upper()}' for c, a in _totals_of((r[3], r[2]) for r in legacy).items())}) differs from this file"
            " and is kept; if this file replaces it, import it again with --replace-by-name"
        )
    return result
