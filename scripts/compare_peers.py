#!/usr/bin/env python3
"""Price the judged corpus with margindash and two peers, and print how often each agrees with the judged cost.

    pip install -e '.[peers]'          # genai-prices and litellm: dev-only, never runtime dependencies
    python scripts/compare_peers.py [--corpus tests/fixtures/pricing/pricing_cases.jsonl] [--markdown] [--cases]

Each case of the corpus (one per billing rule and per defect, with the cost the provider's published price
gives and its basis) is read into margindash's canonical token vector first, so all three tools price the
same tokens: the comparison is of prices and billing rules, not of log parsing.

- margindash: the shipped catalog (`margindash_cli/pricing/data/catalog.json`) through the same Pricer `ingest` uses.
- genai-prices: `calc_price(Usage(...), model, provider_id=..., genai_request_timestamp=...)` with the data
  bundled in the installed package (its input_tokens include cache reads and writes, as ours do). It has no
  service-tier (batch/priority) parameter, so those cases are priced at its standard rates.
- LiteLLM: `cost_per_token(model, custom_llm_provider=..., prompt_tokens, completion_tokens, cache_read_input_tokens,
  cache_creation_input_tokens, usage_object, service_tier)` with its bundled model map
  (LITELLM_LOCAL_MODEL_COST_MAP=True: no network). It has no price history: every call is priced today.

A tool agrees on a case when its cost equals the judged one (LiteLLM returns floats: within 1e-9 USD), or
when the case is judged unpriced and the tool gives no price. A $0 where a price is due is counted apart
("silent $0"), an exception or no price as "unpriced".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch its map from the internet

from margindash_cli.core.money import usd_text  # noqa: E402
from margindash_cli.ingest.canonical import normalize  # noqa: E402
from margindash_cli.pricing.catalog import load_shipped_catalog  # noqa: E402
from margindash_cli.pricing.pricer import Pricer, StoredPrice  # noqa: E402
from margindash_cli.pricing.resolve import canonical_vendor  # noqa: E402

CORPUS = REPO / "tests" / "fixtures" / "pricing" / "pricing_cases.jsonl"
FLOAT_TOLERANCE = Decimal("1e-9")  # LiteLLM computes in binary floats
GENAI_PROVIDERS = {"bedrock": "aws", "xai": "x-ai"}  # catalog provider -> genai-prices provider id, where they differ
LITELLM_PROVIDERS = {"google": "gemini", "fireworks": "fireworks_ai"}


def margindash_pricer() -> Pricer:
    catalog = load_shipped_catalog()
    prices = []
    n = 0
    for (provider, model), versions in catalog.versions.items():
        for v in versions:
            n += 1
            prices.append((provider, model, StoredPrice(n, v.effective_from_ms or 0, v.source, v)))
    return Pricer(prices, dict(catalog.aliases), "computed")


def price_margindash(pricer: Pricer, ev: Any) -> Decimal | None:
    cost, _ = pricer.price(ev)
    return None if cost is None else Decimal(usd_text(cost))


def price_genai(ev: Any) -> Decimal | None:
    from genai_prices import Usage, calc_price

    vendor = canonical_vendor(ev.vendor)
    usage = {
        "input_tokens": ev.input_tokens,
        "output_tokens": ev.output_tokens,
        "cache_read_tokens": ev.cached_input_tokens,
        "cache_write_tokens": ev.cache_write_tokens,
        "cache_write_1h_tokens": ev.cache_write_1h_tokens,
        "input_audio_tokens": ev.input_audio_tokens + ev.cached_audio_tokens,  # its audio count includes cached audio
        "output_audio_tokens": ev.output_audio_tokens,
        "output_image_tokens": ev.output_image_tokens,
        "cache_audio_read_tokens": ev.cached_audio_tokens,
    }
    when = datetime.fromtimestamp(ev.ts_ms / 1000, tz=UTC)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = calc_price(
                Usage(**{k: v for k, v in usage.items() if v}),
                ev.model,
                provider_id=GENAI_PROVIDERS.get(vendor, vendor),
                genai_request_timestamp=when,
            )
    except Exception:  # noqa: BLE001 - an unknown model or provider is "no price"
        return None
    return Decimal(result.total_price)


def price_litellm(ev: Any) -> Decimal | None:
    import litellm
    from litellm.types.utils import (
        CacheCreationTokenDetails,
        CompletionTokensDetailsWrapper,
        PromptTokensDetailsWrapper,
        Usage,
    )

    litellm.suppress_debug_info = True

    vendor = canonical_vendor(ev.vendor)
    provider = LITELLM_PROVIDERS.get(vendor, vendor)
    if vendor == "google" and ev.model.startswith("claude"):
        provider = "vertex_ai"
    usage = Usage(
        prompt_tokens=ev.input_tokens,
        completion_tokens=ev.output_tokens,
        total_tokens=ev.input_tokens + ev.output_tokens,
        prompt_tokens_details=PromptTokensDetailsWrapper(
            cached_tokens=ev.cached_input_tokens,
            audio_tokens=(ev.input_audio_tokens + ev.cached_audio_tokens) or None,
            cache_creation_tokens=ev.cache_write_tokens or None,
            cache_creation_token_details=CacheCreationTokenDetails(
                ephemeral_5m_input_tokens=ev.cache_write_tokens - ev.cache_write_1h_tokens,
                ephemeral_1h_input_tokens=ev.cache_write_1h_tokens,
            )
            if ev.cache_write_tokens
            else None,
        ),
        completion_tokens_details=CompletionTokensDetailsWrapper(
            reasoning_tokens=ev.reasoning_tokens or None,
            audio_tokens=ev.output_audio_tokens or None,
            image_tokens=ev.output_image_tokens or None,
        ),
        cache_read_input_tokens=ev.cached_input_tokens,
        cache_creation_input_tokens=ev.cache_write_tokens,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prompt, completion = litellm.cost_per_token(
                model=ev.model,
                custom_llm_provider=provider,
                prompt_tokens=ev.input_tokens,
                completion_tokens=ev.output_tokens,
                cache_read_input_tokens=ev.cached_input_tokens,
                cache_creation_input_tokens=ev.cache_write_tokens,
                usage_object=usage,
                service_tier=ev.service_tier,
            )
    except Exception:  # noqa: BLE001 - LiteLLM raises for a model it does not know
        return None
    return Decimal(repr(prompt)) + Decimal(repr(completion))


def verdict(got: Decimal | None, want: Decimal | None, tolerance: Decimal = Decimal(0)) -> str:
    if want is None:
        return "agree" if got is None else "priced an unpriced model"
    if got is None:
        return "unpriced"
    if got == 0 and want != 0:
        return "silent $0"
    return "agree" if abs(got - want) <= tolerance else "wrong"


def run(corpus: Path) -> list[dict[str, Any]]:
    pricer = margindash_pricer()
    rows = []
    for line in corpus.read_text().splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        [ev] = normalize(case["event"])
        want = None if case["expected_cost_usd"] is None else Decimal(case["expected_cost_usd"])
        got = {
            "margindash": price_margindash(pricer, ev),
            "genai-prices": price_genai(ev),
            "litellm": price_litellm(ev),
        }
        rows.append(
            {
                "id": case["id"],
                "expected": want,
                **{f"{k}_cost": v for k, v in got.items()},
                **{k: verdict(v, want, FLOAT_TOLERANCE if k == "litellm" else Decimal(0)) for k, v in got.items()},
            }
        )
    return rows


TOOLS = ("margindash", "genai-prices", "litellm")


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, int, int, int, int, int]]:
    out = []
    for tool in TOOLS:
        v = [r[tool] for r in rows]
        out.append(
            (
                tool,
                v.count("agree"),
                v.count("wrong"),
                v.count("unpriced"),
                v.count("silent $0"),
                v.count("priced an unpriced model"),
            )
        )
    return out


def _money(d: Decimal | None) -> str:
    return "-" if d is None else format(d.normalize(), "f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--markdown", action="store_true", help="print the agreement table as Markdown (for the README)"
    )
    parser.add_argument("--cases", action="store_true", help="also print every case with each tool's cost")
    args = parser.parse_args(argv)
    try:
        import genai_prices  # noqa: F401
        import litellm  # noqa: F401
    except ImportError as exc:
        print(f"compare_peers: {exc.name} is not installed: pip install -e '.[peers]'", file=sys.stderr)
        return 2
    from importlib.metadata import version

    rows = run(args.corpus)
    n = len(rows)
    versions = f"genai-prices {version('genai-prices')}, litellm {version('litellm')}"
    if args.cases:
        for r in rows:
            print(
                f"{r['id']:<58} want {_money(r['expected']):>10} | "
                + " | ".join(f"{t} {_money(r[t + '_cost'])} ({r[t]})" for t in TOOLS)
            )
        print()
    if args.markdown:
        print(f"{n} judged cases ({versions}):")
        print()
        print("| tool | agrees | wrong | unpriced | silent $0 | priced an unpriced model |")
        print("|---|---:|---:|---:|---:|---:|")
        for tool, agree, wrong, unpriced, zero, extra in summary(rows):
            print(f"| {tool} | {agree}/{n} ({agree * 100 // n}%) | {wrong} | {unpriced} | {zero} | {extra} |")
    else:
        print(f"{n} judged cases ({versions})")
        print(f"{'tool':<14}{'agrees':>14}{'wrong':>7}{'unpriced':>10}{'silent $0':>11}{'priced unpriced':>17}")
        for tool, agree, wrong, unpriced, zero, extra in summary(rows):
            print(f"{tool:<14}{f'{agree}/{n} ({agree * 100 // n}%)':>14}{wrong:>7}{unpriced:>10}{zero:>11}{extra:>17}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
