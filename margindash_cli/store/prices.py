"""Prices and model aliases (`prices`, `aliases`): append-only price versions, each with its source.

Invariants:
- A price version is never changed once stored; a new one is added with its own effective date and source.
  The one exception: a user version (`prices set`) can be removed whole (`prices rm`), after the calls it priced
  were re-priced without it.
- An alias maps a (name, vendor) to one priced (provider, model), replaced whole.
"""

from __future__ import annotations

from datetime import UTC, datetime

from margindash_cli.store.rows import AliasRow, PriceRow
from margindash_cli.store.sql import Repository, _now_iso


class Prices(Repository):
    """Price versions and model aliases."""

    # -- writing --

    def add_price(self, provider: str, model: str, effective_from: int, source: str, data: str) -> int:
        """Record a price version (inside a write transaction); versions are never edited, only added."""
        return self.conn.execute(
            "INSERT INTO prices (provider, model, effective_from, source, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (provider, model, effective_from, source, data, _now_iso()),
        ).fetchone()[0]

    def remove_prices(self, ids: list[int]) -> int:
        """Delete price versions by id (inside a write transaction): `prices rm` of user versions only."""
        return sum(self.conn.execute("DELETE FROM prices WHERE id = ?", (pid,)).rowcount for pid in ids)

    def set_alias(self, name: str, vendor: str | None, provider: str, model: str, source: str) -> None:
        self.conn.execute(
            "INSERT INTO price_aliases (name, vendor, provider, model, source) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (vendor, name) DO UPDATE SET provider = excluded.provider, model = excluded.model,"
            " source = excluded.source",
            (name, vendor or "", provider, model, source),
        )

    # -- reading --

    def price_rows(self) -> list[PriceRow]:
        """(id, provider, model, effective_from ms, source, data JSON) of every price version."""
        return [
            PriceRow._make(r)
            for r in self.conn.execute("SELECT id, provider, model, effective_from, source, data FROM prices")
        ]

    def alias_rows(self) -> list[AliasRow]:
        """(name, vendor or '', provider, model) of every alias."""
        return [AliasRow._make(r) for r in self.conn.execute("SELECT name, vendor, provider, model FROM price_aliases")]

    def has_price(self, provider: str, model: str, effective_from: int, source: str, data: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM prices WHERE provider = ? AND model = ? AND effective_from = ? AND source = ? AND data = ?",
                (provider, model, effective_from, source, data),
            ).fetchone()
            is not None
        )

    def alias_source(self, name: str, vendor: str | None) -> str | None:
        row = self.conn.execute(
            "SELECT source FROM price_aliases WHERE name = ? AND vendor = ?", (name, vendor or "")
        ).fetchone()
        return row[0] if row else None

    def price_version_labels(self) -> dict[int, str]:
        """prices.id -> '<provider>/<model>@<effective from, UTC ISO> (<source>)': the price version a call was priced at."""
        out = {}
        for pid, provider, model, since, source in self.conn.execute(
            "SELECT id, provider, model, effective_from, source FROM prices"
        ):
            when = datetime.fromtimestamp(since / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            out[pid] = f"{provider}/{model}@{when} ({source})"
        return out
