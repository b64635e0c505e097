"""Benchmark scores of catalog models (MMLU-Pro, GPQA Diamond), shipped in margindash_cli/pricing/data/benchmarks.csv.

Invariants:
- Scores are exact `Decimal` percentages (0-100), as the source published them; never float.
- A score belongs to a catalog key (provider, model); `scripts/build_benchmarks.py` maps source model
  names to keys by a reviewed table, never by name similarity. A model with no row has no score: it is
  "no benchmark data", never 0.
- Each score carries who evaluated it (`benchmark-authors`, `openai-simple-evals`, `vendor-reported`),
  its source and the values other sources gave that were not taken.
- A call logged under another id of a scored model (a Bedrock or Vertex copy, a dated snapshot the
  catalog aliases) finds its scores through the same resolution rules as prices: exact key, alias,
  routing noise removed, the maker's own id. Nothing fuzzier.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from margindash_cli.pricing.catalog import CATALOG_PACKAGE
from margindash_cli.pricing.resolve import Resolver

BENCHMARKS_FILE = "benchmarks.csv"
BENCHMARK_IDS = ("mmlu_pro", "gpqa_diamond")  # the benchmarks `simulate` ranks by
BENCHMARK_LABELS = {"mmlu_pro": "MMLU-Pro", "gpqa_diamond": "GPQA Diamond"}


@dataclass(frozen=True)
class BenchmarkScore:
    provider: str
    model: str
    benchmark: str  # one of BENCHMARK_IDS
    score: Decimal  # percent, 0-100
    evaluated_model: str  # the model as the source names it
    evaluator: str  # benchmark-authors | openai-simple-evals | vendor-reported
    method: str
    source: str
    source_ref: str  # repository@commit:file (line)
    primary_source: str
    licence: str
    candidate: bool  # offered by `simulate` by default
    note: str  # why it is not a candidate (retired, another id of ...)
    alternatives: str  # other sources' values that were not taken

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "score": float(self.score),
            "evaluated_model": self.evaluated_model,
            "evaluator": self.evaluator,
            "method": self.method,
            "source": self.source,
            "source_ref": self.source_ref,
            "primary_source": self.primary_source,
            "licence": self.licence,
            "alternatives": self.alternatives or None,
        }


class BenchmarkTable:
    """Scores by catalog key; built once from the shipped file."""

    def __init__(self, scores: list[BenchmarkScore]):
        self._by_key: dict[tuple[str, str], dict[str, BenchmarkScore]] = {}
        for s in scores:
            self._by_key.setdefault((s.provider, s.model), {})[s.benchmark] = s
        self._resolver: tuple[Any, Resolver] | None = None  # (the aliases it was built with, resolver)

    def __len__(self) -> int:
        return len(self._by_key)

    def scores(self, provider: str, model: str) -> Mapping[str, BenchmarkScore]:
        """The scores of exactly this catalog key (benchmark -> score); empty when it has none."""
        return self._by_key.get((provider, model), {})

    def candidates(self) -> list[tuple[str, str]]:
        """Catalog keys `simulate` offers by default, sorted."""
        return sorted(k for k, by in self._by_key.items() if any(s.candidate for s in by.values()))

    def find(
        self, provider: str, model: str, aliases: Mapping[tuple[str | None, str], tuple[str, str]] | None = None
    ) -> tuple[tuple[str, str], Mapping[str, BenchmarkScore]] | None:
        """The scores of a priced key, else of the same model under the key it resolves to among scored
        keys (e.g. bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0 -> anthropic/claude-sonnet-4-0).
        `aliases` are the price catalog's (so a snapshot id the catalog aliases finds its model)."""
        found = self._by_key.get((provider, model))
        if found:
            return (provider, model), found
        if self._resolver is None or self._resolver[0] is not aliases:
            self._resolver = (aliases, Resolver(self._by_key.keys(), aliases or {}))
        res = self._resolver[1].resolve(provider, model)
        if res is None:
            return None
        return (res.provider, res.model), self._by_key[(res.provider, res.model)]


def parse_benchmarks(text: str) -> list[BenchmarkScore]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append(
            BenchmarkScore(
                provider=row["provider"],
                model=row["model"],
                benchmark=row["benchmark"],
                score=Decimal(row["score"]),
                evaluated_model=row["evaluated_model"],
                evaluator=row["evaluator"],
                method=row["method"],
                source=row["source"],
                source_ref=row["source_ref"],
                primary_source=row["primary_source"],
                licence=row["licence"],
                candidate=row["candidate"] == "yes",
                note=row["note"],
                alternatives=row["alternatives"],
            )
        )
    return out


@lru_cache(maxsize=1)
def load_benchmarks() -> BenchmarkTable:
    """The shipped benchmark table (read once per process)."""
    text = resources.files(CATALOG_PACKAGE).joinpath(BENCHMARKS_FILE).read_text()
    return BenchmarkTable(parse_benchmarks(text))
