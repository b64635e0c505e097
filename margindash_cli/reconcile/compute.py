"""The gap between our computed cost and the provider's bill, and where every picodollar of it comes from. Pure.

Units: picodollars (int) everywhere; UTC day numbers; token classes `input` (uncached prompt), `cache_read`,
`cache_write` (5-minute and 1-hour writes together) and `output` (reasoning included). A cell is one (provider,
UTC day, model key); the model key matches a billed snapshot ("gpt-4o-2024-08-06") to the alias a log holds
("gpt-4o"). For each class k with tokens billed T_k and billed token cost B_k (so the bill's rate is B_k / T_k),
logged tokens of priced calls P_k and of unpriced calls U_k:

- covered C_k = min(P_k, T_k); untracked X_k = max(T_k - P_k - U_k, 0); unpriced-covered Q_k = min(U_k, T_k - C_k)
- unpriced_calls   = sum B_k Q_k / T_k: what the bill charged for calls we logged but could not price
- untracked_usage  = our catalog price of X (standard tier), else (model unknown to the catalog) the bill's rate
- price_difference = sum B_k C_k / T_k - computed x ourprice(C) / ourprice(P): the bill's amount for the tokens we
                     logged against our cost of them (a discount or a wrong catalog price); effective_rate_pct shows it
- unlogged_charges = billed lines with no token class (web search, code execution, credits, other line items)
- remaining        = gap - all of the above (logged tokens the bill lacks, token charges with no tokens billed,
                     our rate vs the bill's on untracked tokens, rounding): so the parts add up to the gap exactly.
Each part is rounded once, half-even, to the picodollar. Rows are sums of cells, so they add up to the totals.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple

from margindash_cli.core.money import allocate_largest_remainder as allocate
from margindash_cli.core.money import pico_to_usd, usd_text
from margindash_cli.core.periods import EPOCH_DATE as EPOCH

CLASSES = ("input", "cache_read", "cache_write", "output")
PARTS = ("unpriced_calls", "untracked_usage", "price_difference", "unlogged_charges", "remaining")
GROUPINGS = ("day", "month", "model", "project")
DEFAULT_TOLERANCE_PCT = Decimal(2)
UNTRACKED = "(untracked)"  # the report row of billed spend no logged call explains
# the vendor a log names -> who bills it (a call through Bedrock is on the AWS bill)
VENDOR_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "bedrock": "aws",
    "aws": "aws",
    "amazon": "aws",
    "google": "gcp",
    "vertex_ai": "gcp",
    "vertex": "gcp",
    "gemini": "gcp",
    "azure": "azure",
    "azure_openai": "azure",
    "azure_ai": "azure",
}
# a token class of the bill (5m and 1h writes apart) -> the class the comparison uses
BILL_CLASSES = {
    "input": "input",
    "cache_read": "cache_read",
    "cache_write_5m": "cache_write",
    "cache_write_1h": "cache_write",
    "output": "output",
}
_DATE_SUFFIX = re.compile(r"(?:[-@_](?:\d{4}-\d{2}-\d{2}|\d{8}))$")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|global|jp|au|ca|us-gov)\.")


@lru_cache(maxsize=65536)
def model_key(name: str | None) -> str | None:
    """The name a bill and a log agree on: lower case, no vendor or region prefix, no snapshot date, no Bedrock
    version, dots and spaces as dashes. "gpt-4o-2024-08-06" and "gpt-4o" -> "gpt-4o"; "claude-opus-4-1-20250805",
    "anthropic.claude-opus-4-1-20250805-v1:0" and "Claude Opus 4.1" -> "claude-opus-4-1"."""
    if not name:
        return None
    key = name.strip().lower()
    key = _REGION_PREFIX.sub("", key)
    for prefix in (
        "openai/",
        "anthropic/",
        "anthropic.",
        "amazon.",
        "google/",
        "models/",
        "azure/",
        "bedrock/",
        "vertex_ai/",
    ):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    key = _BEDROCK_VERSION.sub("", key)
    key = re.sub(r"\s*\((?:amazon bedrock edition)\)$", "", key)
    key = re.sub(r"[\s._]+", "-", key)
    for _ in range(2):
        key = _DATE_SUFFIX.sub("", key)
        if key.endswith("-latest"):
            key = key[: -len("-latest")]
    return key or None


@lru_cache(maxsize=4096)
def provider_of_vendor(vendor: str) -> str:
    return VENDOR_PROVIDERS.get(vendor.lower(), vendor.lower())


def day_iso(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()


# ---- the two sides of a cell ------------------------------------------------------------------------------------


@dataclass
class LoggedSide:
    """Our logged calls of a cell."""

    calls: int = 0
    unpriced_calls: int = 0
    cost_pico: int = 0  # of the priced calls
    priced: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))  # tokens of priced calls
    unpriced: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))  # tokens of unpriced calls
    vendor: str | None = None
    model: str | None = None  # a model name as logged (for pricing untracked tokens)

    def add(
        self, calls: int, unpriced_calls: int, cost: int, tokens: Mapping[str, int], unpriced_tokens: Mapping[str, int]
    ) -> None:
        self.calls += calls
        self.unpriced_calls += unpriced_calls
        self.cost_pico += cost
        for k in CLASSES:
            self.unpriced[k] += unpriced_tokens.get(k, 0)
            self.priced[k] += tokens.get(k, 0) - unpriced_tokens.get(k, 0)

    @property
    def tokens(self) -> int:
        return sum(self.priced.values()) + sum(self.unpriced.values())


def _classes() -> dict[str, int]:
    return dict.fromkeys(CLASSES, 0)


@dataclass
class BilledSide:
    """The bill of a cell, per service tier (None = standard): token cost and tokens per class, and other charges.

    Tokens come from the usage API when one is synced for the cell (`usage`), else from the cost lines' own
    quantities when their unit is tokens."""

    cost: dict[str | None, dict[str, int]] = field(default_factory=dict)  # tier -> class -> picodollars
    unclassified_token_cost: int = 0  # a token line whose class the label does not say
    other_cost: int = 0  # lines with no token class
    usage: dict[str | None, dict[str, int]] | None = None  # tier -> class -> tokens (usage API)
    quantities: dict[str | None, dict[str, int]] = field(default_factory=dict)  # tier -> class -> tokens (cost lines)
    write_1h_tokens: int = 0  # the 1-hour part of the cache_write tokens
    model: str | None = None  # a model name as billed

    def add_cost(self, tier: str | None, cls: str, amount: int) -> None:
        self.cost.setdefault(tier, _classes())[cls] += amount

    def add_tokens(self, tier: str | None, cls: str, n: int, *, usage: bool) -> None:
        if usage:
            if self.usage is None:
                self.usage = {}
            self.usage.setdefault(tier, _classes())[cls] += n
        else:
            self.quantities.setdefault(tier, _classes())[cls] += n

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.cost.values()) + self.unclassified_token_cost + self.other_cost

    def tier_tokens(self) -> dict[str | None, dict[str, int]]:
        return self.usage if self.usage is not None else self.quantities

    @property
    def tokens(self) -> dict[str, int] | None:
        """Tokens billed per class over all tiers; None when the bill states none."""
        by_tier = self.tier_tokens()
        if self.usage is None and not any(any(v.values()) for v in by_tier.values()):
            return None
        out = _classes()
        for v in by_tier.values():
            for k in CLASSES:
                out[k] += v.get(k, 0)
        return out


# Our catalog price of a token vector (input, cache_read, cache_write_5m, cache_write_1h, output) of a logged or
# billed model on a UTC day in a service tier (None = standard); None when the catalog cannot price it.
PriceFn = Callable[[str, str, int, Mapping[str, int], "str | None"], "Fraction | int | None"]
STANDARD_TIERS = {None, "", "standard", "default", "auto", "on_demand"}


def tier_name(service_tier: str | None, batch: int | None = None) -> str | None:
    """A bill's service tier as our catalog names it; None = standard."""
    if batch:
        return "batch"
    t = (service_tier or "").lower()
    if t in STANDARD_TIERS:
        return None
    if t.startswith("priority"):
        return "priority"
    if t.startswith("flex"):
        return "flex"
    return t


class CellKey(NamedTuple):
    provider: str
    day: int
    model: str | None  # model key; None for lines with no model


@dataclass
class CellResult:
    key: CellKey
    computed: int
    billed: int
    parts: dict[str, int]
    tokens_logged: int
    tokens_billed: int | None
    bill_for_logged: int  # what the bill charged for the tokens we logged and priced
    ours_for_logged: int  # our cost of those tokens
    calls: int
    unpriced_calls: int

    @property
    def gap(self) -> int:
        return self.billed - self.computed


def _round(x: Fraction | int) -> int:
    if isinstance(x, int):
        return x
    q, r = divmod(x.numerator, x.denominator)
    twice = 2 * r
    if twice > x.denominator or (twice == x.denominator and q % 2):
        q += 1
    return q


def _tier_order(tiers: Iterable[str | None]) -> list[str | None]:
    return sorted(set(tiers), key=lambda t: (t is not None, t or ""))


def reconcile_cell(key: CellKey, logged: LoggedSide, billed: BilledSide, price: PriceFn) -> CellResult:
    """Split the gap of one cell into its parts (see the module doc); the parts add up to billed - computed.

    Per service tier: logged tokens (priced first, then unpriced) are matched against the standard tier's billed
    tokens first, then the other tiers' (a log line rarely says batch; the job that bypasses the logs often is one),
    and each tier's tokens are valued at that tier's billed rate, and untracked ones at our price for that tier."""
    T = billed.tier_tokens()
    tiers = _tier_order([*T, *billed.cost])
    P, U = logged.priced, logged.unpriced
    C = {t: _classes() for t in tiers}
    Q = {t: _classes() for t in tiers}
    X = {t: _classes() for t in tiers}
    for k in CLASSES:
        p_left, u_left = P[k], U[k]
        for t in tiers:
            room = T.get(t, {}).get(k, 0)
            C[t][k] = min(p_left, room)
            p_left -= C[t][k]
            Q[t][k] = min(u_left, room - C[t][k])
            u_left -= Q[t][k]
            X[t][k] = room - C[t][k] - Q[t][k]
    total_billed_tokens = {k: sum(T.get(t, {}).get(k, 0) for t in tiers) for k in CLASSES}

    def bill_for(v: Mapping[str | None, Mapping[str, int]]) -> Fraction:
        out = Fraction(0)
        for t in tiers:
            for k in CLASSES:
                n, room = v[t][k], T.get(t, {}).get(k, 0)
                if n and room:
                    out += Fraction(billed.cost.get(t, {}).get(k, 0) * n, room)
        return out

    def vector(v: Mapping[str, int]) -> dict[str, int]:
        w = v["cache_write"]
        w1h = (
            min(w, w * billed.write_1h_tokens // total_billed_tokens["cache_write"])
            if total_billed_tokens["cache_write"]
            else 0
        )
        return {
            "input": v["input"],
            "cache_read": v["cache_read"],
            "cache_write_5m": w - w1h,
            "cache_write_1h": w1h,
            "output": v["output"],
        }

    def ours(v: Mapping[str, int], tier: str | None = None) -> Fraction | int | None:
        if not any(v.values()):
            return 0
        if logged.model is not None and logged.vendor is not None:
            got = price(logged.vendor, logged.model, key.day, vector(v), tier)
            if got is not None:
                return got
        if billed.model is not None:
            return price(key.provider, billed.model, key.day, vector(v), tier)
        return None

    def ours_by_tier(v: Mapping[str | None, Mapping[str, int]]) -> Fraction | int | None:
        total: Fraction | int = 0
        for t in tiers:
            got = ours(v[t], t)
            if got is None:
                return None
            total += got
        return total

    computed = logged.cost_pico
    covered = {k: sum(C[t][k] for t in tiers) for k in CLASSES}
    ours_p, ours_c = ours(P), ours(covered)
    if computed and ours_p and ours_c is not None:
        ours_covered = Fraction(computed) * Fraction(ours_c) / Fraction(ours_p)
    else:  # no catalog price of the logged tokens: their share by count
        tp, tc = sum(P.values()), sum(covered.values())
        ours_covered = Fraction(computed * tc, tp) if tp else Fraction(0)
    bill_covered = bill_for(C)
    untracked = ours_by_tier(X)
    parts = {
        "unpriced_calls": _round(bill_for(Q)),
        "untracked_usage": _round(untracked if untracked is not None else bill_for(X)),
        "price_difference": _round(bill_covered) - _round(ours_covered),
        "unlogged_charges": billed.other_cost,
    }
    gap = billed.total - computed
    parts["remaining"] = gap - sum(parts.values())
    tokens = billed.tokens
    return CellResult(
        key,
        computed,
        billed.total,
        parts,
        logged.tokens,
        None if tokens is None else sum(tokens.values()),
        _round(bill_covered),
        _round(ours_covered),
        logged.calls,
        logged.unpriced_calls,
    )


def reconcile_cells(
    logged: Mapping[CellKey, LoggedSide], billed: Mapping[CellKey, BilledSide], price: PriceFn
) -> dict[CellKey, CellResult]:
    """Every cell with a bill or logged calls on a billed day (the caller keeps only billed days)."""
    return {
        k: reconcile_cell(k, logged.get(k) or LoggedSide(), billed.get(k) or BilledSide(), price)
        for k in sorted(set(logged) | set(billed), key=lambda k: (k.provider, k.day, k.model or ""))
    }


# ---- rows, totals, tolerance ------------------------------------------------------------------------------------


@dataclass
class ReconcileRow:
    provider: str | None
    period: str | None  # the day or month (None for --by model / project totals)
    model: str | None
    project: str | None
    computed: int = 0
    billed: int = 0
    parts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    tokens_logged: int = 0
    tokens_billed: int | None = None
    bill_for_logged: int = 0
    ours_for_logged: int = 0
    calls: int = 0
    unpriced_calls: int = 0

    @property
    def gap(self) -> int:
        return self.billed - self.computed

    def add(self, r: CellResult | ReconcileRow, weight: tuple[int, int] | None = None) -> None:
        self.computed += r.computed
        self.billed += r.billed
        for p in PARTS:
            self.parts[p] += r.parts[p]
        self.tokens_logged += r.tokens_logged
        if r.tokens_billed is not None:
            self.tokens_billed = (self.tokens_billed or 0) + r.tokens_billed
        self.bill_for_logged += r.bill_for_logged
        self.ours_for_logged += r.ours_for_logged
        self.calls += r.calls
        self.unpriced_calls += r.unpriced_calls

    def gap_pct(self) -> Decimal | None:
        """The gap as a percent of the bill (2 decimals); None when nothing was billed."""
        if self.billed == 0:
            return None
        return (Decimal(self.gap) * 100 / Decimal(self.billed)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)

    def coverage_pct(self) -> Decimal | None:
        if not self.tokens_billed:
            return None
        return (Decimal(self.tokens_logged) * 100 / Decimal(self.tokens_billed)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )

    def effective_rate_pct(self) -> Decimal | None:
        """The bill's rate on the tokens we logged, as a percent of ours (90 = a 10% discount)."""
        if not self.ours_for_logged:
            return None
        return (Decimal(self.bill_for_logged) * 100 / Decimal(self.ours_for_logged)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )

    def over(self, tolerance_pct: Decimal) -> bool:
        if self.gap == 0:
            return False
        pct = self.gap_pct()
        return pct is None or abs(pct) > tolerance_pct

    def to_json(self, by: str) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider}
        if by in ("day", "month"):
            out[by] = self.period
        if by == "project":
            out["project"] = self.project
        out.update(
            {
                "model": self.model,
                "computed_usd": usd_text(self.computed),
                "billed_usd": usd_text(self.billed),
                "gap_usd": usd_text(self.gap),
                "gap_pct": _dec(self.gap_pct()),
                "tokens_logged": self.tokens_logged,
                "tokens_billed": self.tokens_billed,
                "coverage_pct": _dec(self.coverage_pct()),
                "effective_rate_pct": _dec(self.effective_rate_pct()),
                "calls": self.calls,
                "unpriced_calls": self.unpriced_calls,
                "explained": {p: usd_text(self.parts[p]) for p in PARTS},
            }
        )
        return out


def _dec(d: Decimal | None) -> str | None:
    return None if d is None else format(d, "f")


@dataclass
class ReconcileResult:
    by: str
    rows: list[ReconcileRow]
    totals: ReconcileRow
    tolerance_pct: Decimal
    over_tolerance: list[ReconcileRow]  # (provider, day or month) totals over the tolerance
    provisional_days: dict[str, list[str]]  # provider -> days with logged calls and no bill synced
    range_label: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_OVER_TOLERANCE if self.over_tolerance else 0

    def to_json(self) -> dict[str, Any]:
        totals = self.totals.to_json("total")
        totals.pop("provider")
        totals.pop("model")
        return {
            "rows": [r.to_json(self.by) for r in self.rows],
            "totals": totals,
            "tolerance_pct": format(self.tolerance_pct, "f"),
            "by": self.by,
            "range": self.range_label,
            "over_tolerance": [
                {
                    "provider": r.provider,
                    ("month" if self.by == "month" else "day"): r.period,
                    "gap_usd": usd_text(r.gap),
                    "gap_pct": _dec(r.gap_pct()),
                }
                for r in self.over_tolerance
            ],
            "provisional_days": self.provisional_days,
            "exit_code": self.exit_code,
        }


EXIT_OVER_TOLERANCE = 3  # `reconcile`: some provider's day (or month) is off the bill by more than --tolerance


def build_rows(
    results: Iterable[CellResult],
    by: str,
    tolerance_pct: Decimal,
    *,
    project_shares: Mapping[CellKey, Mapping[str | None, int]] | None = None,
    provisional_days: Mapping[str, list[str]] | None = None,
    range_label: str = "",
) -> ReconcileResult:
    """Rows per (provider, day, model) (`by` day), (provider, month, model), (provider, model) or (provider,
    project, model) (each cell split over its projects by their share of its bill, `project_shares`), the totals,
    and the (provider, day or month) totals over the tolerance."""
    results = list(results)
    rows: dict[tuple[Any, ...], ReconcileRow] = {}
    periods: dict[tuple[str, str], ReconcileRow] = {}
    totals = ReconcileRow(None, None, None, None)
    for r in results:
        day = day_iso(r.key.day)
        period = day[:7] if by == "month" else day
        pieces: list[tuple[str | None, CellResult]] = [(None, r)]
        if by == "project":
            pieces = split_by_project(r, (project_shares or {}).get(r.key) or {None: 1})
        for project, piece in pieces:
            if by == "day" or by == "month":
                key = (r.key.provider, period, r.key.model or "", None)
                row = rows.get(key) or rows.setdefault(key, ReconcileRow(r.key.provider, period, r.key.model, None))
            elif by == "model":
                key = (r.key.provider, "", r.key.model or "", None)
                row = rows.get(key) or rows.setdefault(key, ReconcileRow(r.key.provider, None, r.key.model, None))
            else:
                key = (r.key.provider, "", project or "", r.key.model or "")
                row = rows.get(key) or rows.setdefault(key, ReconcileRow(r.key.provider, None, r.key.model, project))
            row.add(piece)
        pk = (r.key.provider, day[:7] if by == "month" else day)
        periods.setdefault(pk, ReconcileRow(r.key.provider, pk[1], None, None)).add(r)
        totals.add(r)
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1], k[2] == "", k[2], k[3] or ""))]
    over = [periods[k] for k in sorted(periods) if periods[k].over(tolerance_pct)]
    return ReconcileResult(by, ordered, totals, tolerance_pct, over, dict(provisional_days or {}), range_label)


def split_by_project(r: CellResult, shares: Mapping[str | None, int]) -> list[tuple[str | None, CellResult]]:
    """A cell as one piece per project, each amount split by the projects' billed shares (largest remainder).
    Logs carry no project: the logged side follows the bill."""
    names = sorted(shares, key=lambda p: (p is None, p or ""))
    weights = [max(shares[p], 0) for p in names]
    if len(names) == 1 or not any(weights):
        return [(names[0] if len(names) == 1 else None, r)]

    def split(v: int) -> list[int]:
        return allocate(v, weights)

    cols = {
        "computed": split(r.computed),
        "billed": split(r.billed),
        "tl": split(r.tokens_logged),
        "tb": split(r.tokens_billed or 0),
        "bl": split(r.bill_for_logged),
        "ol": split(r.ours_for_logged),
        "calls": split(r.calls),
        "unp": split(r.unpriced_calls),
    }
    parts = {p: split(r.parts[p]) for p in PARTS if p != "remaining"}
    out = []
    for i, name in enumerate(names):
        piece_parts = {p: parts[p][i] for p in parts}
        piece_parts["remaining"] = (cols["billed"][i] - cols["computed"][i]) - sum(piece_parts.values())
        out.append(
            (
                name,
                CellResult(
                    r.key,
                    cols["computed"][i],
                    cols["billed"][i],
                    piece_parts,
                    cols["tl"][i],
                    None if r.tokens_billed is None else cols["tb"][i],
                    cols["bl"][i],
                    cols["ol"][i],
                    cols["calls"][i],
                    cols["unp"][i],
                ),
            )
        )
    return out


# ---- reconciled margins ------------------------------------------------------------------------------------------


class CostFact(NamedTuple):
    """The cost of one report fact, on the cell of the bill it belongs to."""

    cell: CellKey
    cost_pico: int
    unpriced_calls: int


def reconciled_costs(
    facts: Sequence[CostFact], results: Mapping[CellKey, CellResult]
) -> tuple[list[int], dict[CellKey, int]]:
    """Each fact's cost on the bill's basis, and per cell the billed amount that goes to the `(untracked)` row.
    (`facts` may be plain (cell, cost, unpriced calls) tuples: they are read by position.)

    In a cell with a bill, the price difference is spread over its facts pro rata to their computed cost, and what
    the bill charged for unpriced calls pro rata to their unpriced calls (largest remainder, exact); untracked usage,
    unlogged charges and what remains go to `(untracked)`. So a cell's facts plus its `(untracked)` amount equal its
    bill exactly. A fact in a cell with no bill keeps its computed cost."""
    by_cell: dict[CellKey, list[int]] = defaultdict(list)
    for i, f in enumerate(facts):
        by_cell[f[0]].append(i)
    out = [f[1] for f in facts]
    untracked: dict[CellKey, int] = {}
    for cell, r in results.items():
        idx = by_cell.get(cell, [])
        to_untracked = r.billed - r.computed
        for part, column in (("price_difference", 1), ("unpriced_calls", 2)):
            amount = r.parts[part]
            if not amount:
                continue
            weights = [max(facts[i][column], 0) for i in idx]
            if not any(weights):
                continue
            for i, share in zip(idx, allocate(amount, weights)):
                out[i] += share
            to_untracked -= amount
        untracked[cell] = to_untracked
    return out, untracked


def display_part(pico: int) -> Decimal:
    return pico_to_usd(pico)
