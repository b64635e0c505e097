#!/usr/bin/env python3
"""Build margindash_cli/pricing/data/benchmarks.csv from the collected benchmark scores. A maintainer script: run by hand.

    python scripts/build_benchmarks.py ../shared/data/benchmarks margindash_cli/pricing/data

Input (SOURCE/ is the first argument): benchmark_scores.csv (one score per row, each with the repository,
commit and file it came from; see SOURCE.txt next to it) and the licence of each source.

Outputs (OUT/ is the second argument):
  benchmarks.csv          one row per (catalog provider, catalog model, benchmark): the score we use
  ATTRIBUTION.md          its "Benchmark scores" section (between the markers below) is written here;
                          the rest of the file (the price sources) is left as it is
  LICENSE.<source>        each source's licence, copied verbatim

What is kept:
- Two benchmarks: MMLU-Pro (`mmlu_pro`) and GPQA Diamond (`gpqa_diamond`; LLM Stats calls it `gpqa`
  and mixes methodologies under that name, so its `method` is carried along). Plain MMLU is dropped.
- Only rows whose model is in MAPPING, a reviewed table from (source, model name as the source spells it)
  to catalog (provider, model) keys. Nothing is matched by name similarity: a model that is not in the
  table is reported as unmapped and left out. Every target must be a key of margindash_cli/pricing/data/catalog.json.
- Rows whose only provenance is a placeholder address (`https://example.com/...`) are dropped.

Which score wins when sources disagree (per catalog key and benchmark), best first:
  1. benchmark-authors    the benchmark's own authors ran the evaluation: TIGER-AI-Lab's MMLU-Pro
                          leaderboard, and LLM Stats rows whose primary source is that leaderboard or the
                          MMLU-Pro paper (arXiv 2406.01574).
  2. openai-simple-evals  one open harness, one prompt (zero-shot CoT) and the Diamond set for every model:
                          the rows OpenAI ran with openai/simple-evals. (No GPQA authors' evaluations exist
                          in the material, so this is the most uniform GPQA source there is.)
  3. vendor-reported      numbers the model's maker published (LLM Stats' self-reported rows, simple-evals'
                          "reported" rows).
Within one rank a source's own repository wins over LLM Stats relaying it (TIGER-AI-Lab's 76.12 over
LLM Stats' rounded 76.1; simple-evals' explicit GPQA-Diamond column over LLM Stats' mixed `gpqa`).
The losing values are kept in the `alternatives` column, so `prices show` can say what was not taken.

`candidate` is "yes" for the key a user would switch to, and "no" for keys kept only so that calls
logged under another id of the same model find their scores (a dated snapshot id, a `-latest` id) or
for models their vendor has retired (RETIRED); `simulate` offers only candidates by default.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SCORES_FILE = "benchmark_scores.csv"
BENCHMARKS = {"mmlu_pro": "mmlu_pro", "gpqa": "gpqa_diamond", "gpqa_diamond": "gpqa_diamond"}  # source name -> ours
ATTRIBUTION_START = "<!-- benchmarks:start (written by scripts/build_benchmarks.py) -->"
ATTRIBUTION_END = "<!-- benchmarks:end -->"
EVALUATOR_RANK = {"benchmark-authors": 0, "openai-simple-evals": 1, "vendor-reported": 2}
# Primary sources that are the MMLU-Pro authors' own evaluations, when LLM Stats relays them.
MMLU_PRO_AUTHOR_SOURCES = (
    "huggingface.co/spaces/TIGER-Lab/MMLU-Pro",
    "arxiv.org/pdf/2406.01574",
    "arxiv.org/abs/2406.01574",
)

# Each source: how its rows are recognised, its licence file, and how to credit it.
SOURCES = {
    "llm-stats": {
        "match": "github.com/leonardogrig/llm-leaderboard@",
        "title": "LLM Stats community data (llm-stats.com)",
        "repository": "leonardogrig/llm-leaderboard (https://github.com/leonardogrig/llm-leaderboard), a fork of"
        " JonathanChavezTamales/llm-leaderboard, the data behind llm-stats.com",
        "commit": "872b75f63b8d853c46ed17856424029a0c47b1d2",
        "files": "data/organizations/<org>/models/<id>/benchmarks.json (benchmark ids `mmlu-pro`, `gpqa`)",
        "licence": "CC-BY-4.0",
        "licence_file": "LICENSE.llm-stats-CC-BY-4.0.md",
        "copyright": "Copyright (c) 2024 jc (JonathanChavezTamales) and the LLM Stats contributors",
    },
    "simple-evals": {
        "match": "github.com/openai/simple-evals@",
        "title": "openai/simple-evals",
        "repository": "openai/simple-evals (https://github.com/openai/simple-evals)",
        "commit": "ee3b0318d8d1d9d72755a4120879be65f7c07e9e",
        "files": "README.md, table 'Benchmark Results' (GPQA column = the Diamond set, zero-shot CoT)",
        "licence": "MIT",
        "licence_file": "openai_simple-evals_LICENSE",
        "copyright": "Copyright (c) 2024 OpenAI",
    },
    "mmlu-pro": {
        "match": "github.com/TIGER-AI-Lab/MMLU-Pro@",
        "title": "TIGER-AI-Lab/MMLU-Pro",
        "repository": "TIGER-AI-Lab/MMLU-Pro (https://github.com/TIGER-AI-Lab/MMLU-Pro), the benchmark's authors",
        "commit": "f418b116db00b065c2aea046518d8fcf74d39872",
        "files": "README.md, table 'Mini-Leaderboard'",
        "licence": "Apache-2.0",
        "licence_file": "TIGER-AI-Lab_MMLU-Pro_LICENSE",
        "copyright": "TIGER-AI-Lab",
    },
}

C = "candidate"  # a key users can switch to
L = "lookup"  # a key kept so calls logged under it find the model's scores; never offered as a candidate

# (source, model as the source spells it) -> catalog keys it scores, each with its role. Reviewed by hand:
# a dated snapshot maps to the catalog key that prices exactly that snapshot (the catalog prices
# gpt-4o-2024-08-06 as `openai/gpt-4o`, its alias), never to a look-alike name.
MAPPING: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    # ---- OpenAI --------------------------------------------------------------------------------
    ("llm-stats", "gpt-4o-2024-08-06"): (("openai", "gpt-4o", C),),
    ("simple-evals", "gpt-4o-2024-08-06"): (("openai", "gpt-4o", C),),
    ("llm-stats", "gpt-4o-2024-05-13"): (("openai", "gpt-4o-2024-05-13", C),),
    ("simple-evals", "gpt-4o-2024-05-13"): (("openai", "gpt-4o-2024-05-13", C),),
    ("mmlu-pro", "GPT-4o"): (("openai", "gpt-4o-2024-05-13", C),),  # evaluated May 2024: only 2024-05-13 existed
    ("llm-stats", "gpt-4o-mini-2024-07-18"): (("openai", "gpt-4o-mini", C),),
    ("simple-evals", "gpt-4o-mini-2024-07-18"): (("openai", "gpt-4o-mini", C),),
    ("llm-stats", "gpt-4.1-2025-04-14"): (("openai", "gpt-4.1", C),),
    ("simple-evals", "gpt-4.1-2025-04-14"): (("openai", "gpt-4.1", C),),
    ("llm-stats", "gpt-4.1-mini-2025-04-14"): (("openai", "gpt-4.1-mini", C),),
    ("simple-evals", "gpt-4.1-mini-2025-04-14"): (("openai", "gpt-4.1-mini", C),),
    ("llm-stats", "gpt-4.1-nano-2025-04-14"): (("openai", "gpt-4.1-nano", C),),
    ("simple-evals", "gpt-4.1-nano-2025-04-14"): (("openai", "gpt-4.1-nano", C),),
    ("llm-stats", "gpt-4.5"): (("openai", "gpt-4.5-preview", C),),
    ("simple-evals", "gpt-4.5-preview-2025-02-27"): (("openai", "gpt-4.5-preview", C),),
    ("llm-stats", "gpt-4-turbo-2024-04-09"): (("openai", "gpt-4-turbo", C),),
    ("simple-evals", "gpt-4-turbo-2024-04-09"): (("openai", "gpt-4-turbo", C),),
    ("mmlu-pro", "GPT-4-Turbo"): (("openai", "gpt-4-turbo", C),),  # May 2024: gpt-4-turbo = 2024-04-09
    ("llm-stats", "gpt-4-0613"): (("openai", "gpt-4", C),),
    ("llm-stats", "gpt-5-2025-08-07"): (("openai", "gpt-5", C),),
    ("llm-stats", "gpt-5-mini-2025-08-07"): (("openai", "gpt-5-mini", C),),
    ("llm-stats", "gpt-5-nano-2025-08-07"): (("openai", "gpt-5-nano", C), ("openai", "gpt-5-nano-2025-08-07", L)),
    ("llm-stats", "o1-2024-12-17"): (("openai", "o1", C),),
    ("simple-evals", "o1"): (("openai", "o1", C),),
    ("llm-stats", "o1-mini"): (("openai", "o1-mini", C),),
    ("simple-evals", "o1-mini"): (("openai", "o1-mini", C),),
    ("llm-stats", "o1-pro"): (("openai", "o1-pro", C),),
    ("llm-stats", "o3-2025-04-16"): (("openai", "o3", C),),
    ("simple-evals", "o3"): (("openai", "o3", C),),  # default (medium) effort; -high/-low are not mapped
    ("llm-stats", "o3-mini"): (("openai", "o3-mini", C),),
    ("simple-evals", "o3-mini"): (("openai", "o3-mini", C),),
    ("llm-stats", "o4-mini"): (("openai", "o4-mini", C),),
    ("simple-evals", "o4-mini"): (("openai", "o4-mini", C),),
    # ---- Anthropic -----------------------------------------------------------------------------
    ("llm-stats", "claude-3-5-haiku-20241022"): (
        ("anthropic", "claude-3-5-haiku-20241022", C),
        ("anthropic", "claude-3-5-haiku-latest", L),
    ),
    ("llm-stats", "claude-3-5-sonnet-20240620"): (("anthropic", "claude-3-5-sonnet-20240620", C),),
    ("simple-evals", "Claude 3.5 Sonnet"): (("anthropic", "claude-3-5-sonnet-20240620", C),),  # README of mid-2024
    ("mmlu-pro", "Claude-3.5-Sonnet"): (("anthropic", "claude-3-5-sonnet-20240620", C),),  # June 2024
    ("llm-stats", "claude-3-5-sonnet-20241022"): (("anthropic", "claude-3-5-sonnet-20241022", C),),
    ("llm-stats", "claude-3-7-sonnet-20250219"): (
        ("anthropic", "claude-3-7-sonnet-latest", C),
    ),  # the catalog's key for 20250219
    ("llm-stats", "claude-3-haiku-20240307"): (
        ("anthropic", "claude-3-haiku-20240307", C),
        ("anthropic", "claude-3-haiku", L),
    ),
    ("llm-stats", "claude-3-opus-20240229"): (
        ("anthropic", "claude-3-opus-20240229", C),
        ("anthropic", "claude-3-opus-latest", L),
    ),
    ("simple-evals", "Claude 3 Opus"): (
        ("anthropic", "claude-3-opus-20240229", C),
        ("anthropic", "claude-3-opus-latest", L),
    ),
    ("mmlu-pro", "Claude-3-Opus"): (
        ("anthropic", "claude-3-opus-20240229", C),
        ("anthropic", "claude-3-opus-latest", L),
    ),
    ("llm-stats", "claude-3-sonnet-20240229"): (
        ("anthropic", "claude-3-sonnet-20240229", C),
        ("anthropic", "claude-3-sonnet", L),
    ),
    ("mmlu-pro", "Claude-3-Sonnet"): (
        ("anthropic", "claude-3-sonnet-20240229", C),
        ("anthropic", "claude-3-sonnet", L),
    ),
    # LLM Stats spells Haiku 4.5's snapshot 20251015; Anthropic's id is claude-haiku-4-5-20251001.
    ("llm-stats", "claude-haiku-4-5-20251015"): (
        ("anthropic", "claude-haiku-4-5", C),
        ("anthropic", "claude-haiku-4-5-20251001", L),
    ),
    ("llm-stats", "claude-opus-4-1-20250805"): (("anthropic", "claude-opus-4-1", C),),
    ("llm-stats", "claude-opus-4-20250514"): (("anthropic", "claude-opus-4-0", C),),
    ("llm-stats", "claude-sonnet-4-20250514"): (("anthropic", "claude-sonnet-4-0", C),),
    ("llm-stats", "claude-sonnet-4-5-20250929"): (
        ("anthropic", "claude-sonnet-4-5", C),
        ("anthropic", "claude-sonnet-4-5-20250929", L),
    ),
    # ---- Google --------------------------------------------------------------------------------
    # Gemini 1.5: the MMLU-Pro authors and simple-evals (mid-2024) evaluated the -001 releases; LLM Stats'
    # numbers (MMLU-Pro 75.8 / 67.3) are Google's for the -002 releases of September 2024, which the
    # unversioned ids have pointed to since.
    ("mmlu-pro", "Gemini-1.5-Pro"): (("google", "gemini-1.5-pro-001", C),),
    ("mmlu-pro", "Gemini-1.5-Flash"): (("google", "gemini-1.5-flash-001", C),),
    ("simple-evals", "Gemini 1.5 Flash"): (("google", "gemini-1.5-flash-001", C),),
    ("llm-stats", "gemini-1.5-pro"): (("google", "gemini-1.5-pro-002", C), ("google", "gemini-1.5-pro", L)),
    ("llm-stats", "gemini-1.5-flash"): (("google", "gemini-1.5-flash-002", C), ("google", "gemini-1.5-flash", L)),
    ("llm-stats", "gemini-2.0-flash"): (("google", "gemini-2.0-flash", C),),
    ("llm-stats", "gemini-2.0-flash-lite"): (("google", "gemini-2.0-flash-lite", C),),
    ("llm-stats", "gemini-2.5-flash"): (("google", "gemini-2.5-flash", C),),
    ("llm-stats", "gemini-2.5-flash-lite"): (("google", "gemini-2.5-flash-lite", C),),
    ("llm-stats", "gemini-2.5-pro"): (("google", "gemini-2.5-pro", C),),
    # The Gemini API lists Gemma at $0 (a free tier): Bedrock's paid price is the one to compare.
    ("llm-stats", "gemma-3-27b-it"): (("bedrock", "google.gemma-3-27b-it", C), ("google", "gemma-3-27b-it", L)),
    ("llm-stats", "gemma-3-12b-it"): (("bedrock", "google.gemma-3-12b-it", C),),
    ("llm-stats", "gemma-3-4b-it"): (("bedrock", "google.gemma-3-4b-it", C),),
    # ---- xAI -----------------------------------------------------------------------------------
    ("llm-stats", "grok-3"): (("xai", "grok-3", C),),
    ("llm-stats", "grok-3-mini"): (("xai", "grok-3-mini", C),),
    ("llm-stats", "grok-4"): (("xai", "grok-4-0709", C),),
    ("llm-stats", "grok-4-fast"): (("xai", "grok-4-fast-reasoning", C),),  # the scores are of the reasoning mode
    # ---- DeepSeek, Moonshot, Mistral (exact release ids only) ----------------------------------
    ("llm-stats", "deepseek-v3"): (("deepseek", "deepseek-v3", C),),
    ("llm-stats", "deepseek-v3.2-exp"): (("deepseek", "deepseek-v3.2-exp", C),),
    ("llm-stats", "deepseek-r1-0528"): (("fireworks", "deepseek-r1-0528", C),),
    ("llm-stats", "deepseek-v3-0324"): (("fireworks", "deepseek-v3-0324", C),),
    ("llm-stats", "kimi-k2-instruct"): (("moonshot", "kimi-k2-0711-preview", C),),
    ("llm-stats", "kimi-k2-instruct-0905"): (("moonshot", "kimi-k2-0905-preview", C),),
    ("llm-stats", "mistral-small-24b-instruct-2501"): (("mistral", "mistral-small-24b-instruct-2501", C),),
    ("llm-stats", "mistral-small-3.1-24b-instruct-2503"): (("mistral", "mistral-small-3.1-24b-instruct", C),),
    ("llm-stats", "mistral-small-3.2-24b-instruct-2506"): (("mistral", "mistral-small-3.2-24b-instruct", C),),
    # ---- Open-weights models on one well-known host each (the host's price is what you would pay) ----
    ("llm-stats", "gpt-oss-120b"): (("groq", "openai/gpt-oss-120b", C),),
    ("llm-stats", "gpt-oss-20b"): (("groq", "openai/gpt-oss-20b", C),),
    ("llm-stats", "llama-3.3-70b-instruct"): (
        ("groq", "llama-3.3-70b-versatile", C),
        ("bedrock", "meta.llama3-3-70b-instruct-v1:0", C),
    ),
    ("llm-stats", "llama-4-maverick"): (("groq", "meta-llama/llama-4-maverick-17b-128e-instruct", C),),
    ("llm-stats", "llama-4-scout"): (("groq", "meta-llama/llama-4-scout-17b-16e-instruct", C),),
    ("llm-stats", "llama-3.1-405b-instruct"): (("bedrock", "meta.llama3-1-405b-instruct-v1:0", C),),
    ("simple-evals", "Llama 3.1 405b"): (("bedrock", "meta.llama3-1-405b-instruct-v1:0", C),),
    ("llm-stats", "llama-3.1-70b-instruct"): (("bedrock", "meta.llama3-1-70b-instruct-v1:0", C),),
    ("simple-evals", "Llama 3.1 70b"): (("bedrock", "meta.llama3-1-70b-instruct-v1:0", C),),
    ("llm-stats", "llama-3.1-8b-instruct"): (("bedrock", "meta.llama3-1-8b-instruct-v1:0", C),),
    ("simple-evals", "Llama 3.1 8b"): (("bedrock", "meta.llama3-1-8b-instruct-v1:0", C),),
    ("mmlu-pro", "Llama-3-70B-Instruct"): (("bedrock", "meta.llama3-70b-instruct-v1:0", C),),
    ("llm-stats", "qwen3-235b-a22b-instruct-2507"): (("bedrock", "qwen.qwen3-235b-a22b-2507-v1:0", C),),
    ("llm-stats", "nova-pro"): (("bedrock", "amazon.nova-pro-v1:0", C),),
    ("llm-stats", "nova-lite"): (("bedrock", "amazon.nova-lite-v1:0", C),),
    ("llm-stats", "nova-micro"): (("bedrock", "amazon.nova-micro-v1:0", C),),
    ("llm-stats", "jamba-1.5-large"): (("bedrock", "ai21.jamba-1-5-large-v1:0", C),),
    ("llm-stats", "jamba-1.5-mini"): (("bedrock", "ai21.jamba-1-5-mini-v1:0", C),),
}

# Catalog keys whose model its vendor has retired (per the vendors' deprecation pages, as of the build):
# their scores still label old calls, but `simulate` never proposes them by default.
RETIRED = {
    ("openai", "gpt-4.5-preview"): "removed from the API 2025-07-14",
    ("openai", "o1-mini"): "deprecated by OpenAI",
    ("anthropic", "claude-3-sonnet-20240229"): "retired 2025-07-21",
    ("anthropic", "claude-3-5-sonnet-20240620"): "retired 2025-10-22",
    ("anthropic", "claude-3-5-sonnet-20241022"): "retired 2025-10-22",
    ("anthropic", "claude-3-opus-20240229"): "retired 2026-01-05",
    ("anthropic", "claude-3-5-haiku-20241022"): "retired 2026-02-19",
    ("anthropic", "claude-3-7-sonnet-latest"): "retired 2026-02-19",
    ("google", "gemini-1.5-pro-001"): "retired 2025-05-24",
    ("google", "gemini-1.5-flash-001"): "retired 2025-05-24",
    ("google", "gemini-1.5-pro-002"): "retired 2025-09-24",
    ("google", "gemini-1.5-flash-002"): "retired 2025-09-24",
}

FIELDS = [
    "provider",
    "model",
    "benchmark",
    "score",
    "evaluated_model",
    "evaluator",
    "method",
    "source",
    "source_ref",
    "primary_source",
    "licence",
    "candidate",
    "note",
    "alternatives",
]


@dataclass
class Score:
    source: str  # key of SOURCES
    name: str  # the model as the source spells it
    benchmark: str  # ours: mmlu_pro | gpqa_diamond
    score: Decimal
    evaluator: str
    method: str
    source_ref: str
    primary_source: str
    order: int  # line in the input, for stable ties


def source_of(row: dict[str, str]) -> str:
    for name, s in SOURCES.items():
        if row["source"].startswith(s["match"]):
            return name
    raise SystemExit(f"unknown source in {row['source']!r}")


def evaluator_of(source: str, row: dict[str, str], benchmark: str) -> str:
    if source == "mmlu-pro":
        return "benchmark-authors"
    if source == "simple-evals":
        return "openai-simple-evals" if row["is_self_reported"] == "openai-run" else "vendor-reported"
    if benchmark == "mmlu_pro" and any(s in row["primary_source"] for s in MMLU_PRO_AUTHOR_SOURCES):
        return "benchmark-authors"
    return "vendor-reported"


def read_scores(path: Path) -> tuple[list[Score], list[str]]:
    """The rows of the two benchmarks we use; and what was dropped, with why."""
    scores, dropped = [], []
    with path.open(newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            benchmark = BENCHMARKS.get(row["benchmark"])
            if benchmark is None:
                continue
            source = source_of(row)
            if "example.com" in row["primary_source"]:
                dropped.append(
                    f"line {i}: {row['model']} {row['benchmark']} (its only provenance is a placeholder address)"
                )
                continue
            ref = row["source"].removeprefix("github.com/")
            scores.append(
                Score(
                    source,
                    row["model"],
                    benchmark,
                    Decimal(row["score"]),
                    evaluator_of(source, row, benchmark),
                    row["metric"],
                    ref,
                    row["primary_source"],
                    i,
                )
            )
    return scores, dropped


def rank(s: Score) -> tuple[int, int, int]:
    """Best first: by evaluator, then a source's own repository before LLM Stats relaying it, then file order."""
    return EVALUATOR_RANK[s.evaluator], 1 if s.source == "llm-stats" else 0, s.order


def build_rows(scores: list[Score], catalog_keys: set[tuple[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    missing = sorted({f"{p}/{m}" for keys in MAPPING.values() for p, m, _ in keys if (p, m) not in catalog_keys})
    if missing:
        raise SystemExit(f"MAPPING names catalog keys that do not exist: {', '.join(missing)}")
    by_key: dict[tuple[str, str, str], list[Score]] = defaultdict(list)
    roles: dict[tuple[str, str], str] = {}
    unmapped = set()
    for s in scores:
        targets = MAPPING.get((s.source, s.name))
        if targets is None:
            unmapped.add(f"{s.source}:{s.name}")
            continue
        for provider, model, role in targets:
            by_key[(provider, model, s.benchmark)].append(s)
            roles[(provider, model)] = role
    rows = []
    for (provider, model, benchmark), found in sorted(by_key.items()):
        found.sort(key=rank)
        best, others = found[0], found[1:]
        role = roles[(provider, model)]
        note = RETIRED.get((provider, model), "")
        if role == L:
            primary = next(
                f"{p}/{m}"
                for keys in MAPPING.values()
                for p, m, r in keys
                if r == C and any((p2, m2) == (provider, model) for p2, m2, _ in keys)
            )
            note = f"another id of {primary}"
        alternatives = "; ".join(
            f"{o.score} {o.evaluator} ({SOURCES[o.source]['title'] if o.source != 'llm-stats' else 'LLM Stats'}"
            f" {o.name}{', ' + o.method if o.method else ''})"
            for o in others
            if o.score != best.score
        )
        rows.append(
            {
                "provider": provider,
                "model": model,
                "benchmark": benchmark,
                "score": format(best.score, "f"),
                "evaluated_model": best.name,
                "evaluator": best.evaluator,
                "method": best.method,
                "source": SOURCES[best.source]["title"],
                "source_ref": best.source_ref,
                "primary_source": best.primary_source,
                "licence": SOURCES[best.source]["licence"],
                "candidate": "yes" if role == C and not note else "no",
                "note": note,
                "alternatives": alternatives,
            }
        )
    return rows, sorted(unmapped)


def attribution_section(rows: list[dict[str, str]]) -> str:
    used = {r["source"] for r in rows}
    lines = [
        ATTRIBUTION_START,
        "## Benchmark scores (`benchmarks.csv`)",
        "",
        "`benchmarks.csv` (built by `scripts/build_benchmarks.py`) holds MMLU-Pro and GPQA Diamond scores of",
        "catalog models, each with the source it came from (repository, commit, file and line), the primary",
        "source that source cites, and the values of other sources that were not taken. Changes made to the",
        "source data: only the two benchmarks kept; model names mapped by hand to catalog (provider, model)",
        "keys; one score chosen per model and benchmark (the benchmark authors' own evaluations first, then",
        "openai/simple-evals runs, then vendor-reported numbers).",
        "",
    ]
    for name, s in SOURCES.items():
        if s["title"] not in used:
            continue
        lines += [
            f"### {s['title']}",
            "",
            f"- Repository: {s['repository']}",
            f"- Commit: {s['commit']}",
            f"- Files: {s['files']}",
            f"- Licence: {s['licence']} (see `LICENSE.{name}`); {s['copyright']}",
            f"- Scores taken: {sum(r['source'] == s['title'] for r in rows)}",
            "",
        ]
    lines.append(ATTRIBUTION_END)
    return "\n".join(lines) + "\n"


def write_attribution(path: Path, section: str) -> None:
    """Replace (or append) the benchmark section of ATTRIBUTION.md, leaving the rest as it is."""
    text = path.read_text() if path.exists() else "# Data attribution\n"
    if ATTRIBUTION_START in text and ATTRIBUTION_END in text:
        head, _, rest = text.partition(ATTRIBUTION_START)
        _, _, tail = rest.partition(ATTRIBUTION_END)
        text = head + section + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def build(source: Path, out: Path) -> tuple[list[dict[str, str]], list[str], list[str]]:
    catalog = json.loads((out / "catalog.json").read_text())
    catalog_keys = {(p, m) for p, models in catalog["prices"].items() for m in models}
    scores, dropped = read_scores(source / SCORES_FILE)
    rows, unmapped = build_rows(scores, catalog_keys)
    with (out / "benchmarks.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    for name, s in SOURCES.items():
        shutil.copyfile(source / s["licence_file"], out / f"LICENSE.{name}")
    write_attribution(out / "ATTRIBUTION.md", attribution_section(rows))
    return rows, unmapped, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding benchmark_scores.csv and the licences")
    parser.add_argument(
        "out", type=Path, help="output folder, normally margindash_cli/pricing/data/ (must hold catalog.json)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list the unmapped and dropped rows")
    args = parser.parse_args(argv)
    rows, unmapped, dropped = build(args.source, args.out)
    models = {(r["provider"], r["model"]) for r in rows}
    disagreements = sum(bool(r["alternatives"]) for r in rows)
    print(
        f"benchmarks.csv: {len(rows)} scores of {len(models)} catalog keys "
        f"({sum(r['candidate'] == 'yes' for r in rows)} candidate rows); {disagreements} with other sources' values kept; "
        f"{len(unmapped)} source models unmapped; {len(dropped)} rows dropped",
        file=sys.stderr,
    )
    if args.verbose:
        for line in unmapped:
            print(f"unmapped: {line}", file=sys.stderr)
        for line in dropped:
            print(f"dropped: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
