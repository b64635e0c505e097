"""The exact cost of one call, in integer picodollars (1e-12 USD). Never float.

Input is the canonical token vector (see core/call.py's `Call`): `input_tokens` counts ALL prompt
tokens and `cached_input_tokens` (cache reads) and `cache_write_tokens` are parts of it;
`cache_write_1h_tokens` is the part of the writes with a one-hour lifetime; `output_tokens` counts
ALL output and `reasoning_tokens` is part of it. If a part exceeds its whole (a malformed log), the
parts win: the whole is taken as their sum, so a call is never billed below its parts.

Billing rules (PRICING_RULES.md):
- uncached input = input - cache reads - cache writes, at the input rate.
- Audio prompt tokens (`input_audio_tokens`, part of the uncached input) at the input-audio rate;
  cached audio (`cached_audio_tokens`, part of the cache reads) at the cached-audio rate; audio and
  image output tokens (parts of output, besides reasoning) at the output-audio / output-image rates.
  Where a price lists no such rate they bill at its input / cache-read / output rate.
- Cache reads at the cache-read rate; with none listed, at the input rate (some providers report
  cached tokens but bill them in full).
- 5-minute cache writes at the write rate; with none listed, at the input rate.
- 1-hour cache writes at the 1-hour rate. With none listed: Claude models (Anthropic, and Claude
  hosted on Bedrock/Vertex/Azure) bill 2x the input rate, which is Anthropic's published rule;
  any other model falls back to its 5-minute write rate, then to the input rate.
- Reasoning tokens at the reasoning rate where the model has one; otherwise they are ordinary
  output, billed once at the output rate (never on top of output). The breakdown still shows
  them in `reasoning` so the split is visible; the total is the same either way.
- Long-context tiers are a cliff: the tier is chosen once from ALL prompt tokens, then its rates
  apply to every class of the call, output included. A tier's missing rates fall back to base.
- Service tier, as the response says it was served: batch and flex use the price's explicit rates
  for that tier (per class; inside a long-context tier, that tier's own batch/flex rates), and any
  class without an explicit rate bills at 0.5x its standard rate (batch is half price; OpenAI flex
  is priced as batch). Priority uses explicit priority rates; where none are listed the call is
  billed at standard rates and flagged `service_rates="standard-fallback"` (priority is not a
  fixed multiple: gpt-5 2x, gpt-4o 1.7x, gpt-4.1 1.75x). An unknown tier name is billed at
  standard rates and flagged the same way. "default", "standard", "auto", None are standard.
- Units (requests, images, web searches) at their per-unit USD price; a unit with no price is
  listed in `unpriced_units` and adds nothing.
- A call that needs a rate the price lacks (input tokens but no input rate, output tokens but no
  output rate) cannot be priced: `cost_of` returns None (unpriced, never $0).

Exactness: a rate of R USD/MTok is R * 10^6 picodollars per token, an integer whenever R has at
most 6 decimal places (every list price seen so far). Rates are converted once per price version,
service tier and long-context tier, and cached on the version, so a call costs a few integer
multiplications. A rate with more decimals (e.g. OpenRouter's 0.0833333333333 USD/MTok, or half of
an odd picodollar rate) is carried exactly as a scaled integer; the call's total is then rounded
once, half-even, to the picodollar, and the per-class amounts are apportioned by largest remainder
so that they still add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any, NamedTuple

from margindash_cli.core.money import usd_text
from margindash_cli.pricing.model import PriceVersion, Tier
from margindash_cli.pricing.resolve import normalize_model

PICO_PER_USD = 10**12  # picodollars in one US dollar
PICO_PER_TOKEN_PER_MTOK = 10**6  # 1 USD/MTok = 10^-6 USD/token = 10^6 picodollars/token
HALF = Decimal("0.5")
CLAUDE_1H_WRITE_MULTIPLIER = 2  # Anthropic: a one-hour cache write costs 2x the input rate
STANDARD_TIERS = frozenset({None, "", "default", "standard", "auto", "on_demand"})
CLASSES = (
    "uncached_input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "input_audio",
    "output_audio",
    "output_image",
    "cache_read_audio",
)


class CostBreakdown(NamedTuple):
    """What one call cost, per token class, in integer picodollars; the classes add up to `total`.
    (A NamedTuple rather than a dataclass: one is built per event in the hot loop.)"""

    uncached_input: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    reasoning: int
    units: int
    total: int
    tier: int | None  # threshold of the long-context tier applied; None = base rates
    service_tier: str  # the tier billed: "default", "batch", "flex", "priority" (or the unknown name)
    service_rates: str  # "standard", "explicit", "half" (0.5x fallback), "standard-fallback" (flagged)
    unpriced_units: tuple[str, ...] = ()
    # Audio and image tokens at their own rates (parts of uncached input and of output; see `cost_of`).
    input_audio: int = 0
    output_audio: int = 0
    output_image: int = 0
    cache_read_audio: int = 0


class _IntRates(NamedTuple):
    """Per-class rates in picodollars per token, times `scale`; None = no such rate."""

    scale: int
    uncached_input: int | None
    cache_read: int | None
    cache_write_5m: int | None
    cache_write_1h: int | None
    output: int | None
    reasoning: int | None
    input_audio: int | None
    output_audio: int | None
    output_image: int | None
    cache_read_audio: int | None
    service_rates: str


def cost_of(
    price: PriceVersion,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_audio_tokens: int = 0,
    output_audio_tokens: int = 0,
    output_image_tokens: int = 0,
    cached_audio_tokens: int = 0,
    service_tier: str | None = None,
    units: Mapping[str, Any] | None = None,
) -> CostBreakdown | None:
    """The exact cost of one call at `price`; None when the price cannot bill it (see module doc).

    Audio prompt tokens are part of the uncached input (cached audio bills as cached input), audio and
    image output tokens part of the output besides reasoning; each part is capped at what is left of
    its whole, so a malformed log never bills a token twice."""
    write = cache_write_tokens
    write_1h = cache_write_1h_tokens if cache_write_1h_tokens <= write else write
    cached = cached_input_tokens
    prompt = input_tokens if input_tokens >= cached + write else cached + write
    uncached = prompt - cached - write
    write_5m = write - write_1h
    reasoning = reasoning_tokens
    plain_output = (output_tokens if output_tokens >= reasoning else reasoning) - reasoning
    audio_in = audio_out = image_out = audio_read = 0
    if input_audio_tokens or output_audio_tokens or output_image_tokens or cached_audio_tokens:
        audio_read = min(cached_audio_tokens, cached)
        cached -= audio_read
        audio_in = min(input_audio_tokens, uncached)
        uncached -= audio_in
        audio_out = min(output_audio_tokens, plain_output)
        image_out = min(output_image_tokens, plain_output - audio_out)
        plain_output -= audio_out + image_out

    tier_index, service, r = _tier_rates(price, prompt, service_tier)
    scale, r_in, r_read, r_w5, r_w1h, r_out, r_reas, r_ain, r_aout, r_iout, r_aread, label = r
    try:  # a class with tokens but no rate (None) raises TypeError: the call cannot be priced
        a_in = uncached * r_in if uncached else 0
        a_read = cached * r_read if cached else 0
        a_w5 = write_5m * r_w5 if write_5m else 0
        a_w1h = write_1h * r_w1h if write_1h else 0
        a_out = plain_output * r_out if plain_output else 0
        a_reas = reasoning * r_reas if reasoning else 0
        a_ain = audio_in * r_ain if audio_in else 0
        a_aout = audio_out * r_aout if audio_out else 0
        a_iout = image_out * r_iout if image_out else 0
        a_aread = audio_read * r_aread if audio_read else 0
    except TypeError:
        return None

    tier = price.tiers[tier_index].threshold if tier_index >= 0 else None
    media = a_ain + a_aout + a_iout + a_aread
    if not units and scale == 1:
        return CostBreakdown(
            a_in,
            a_read,
            a_w5,
            a_w1h,
            a_out,
            a_reas,
            0,
            a_in + a_read + a_w5 + a_w1h + a_out + a_reas + media,
            tier,
            service,
            label,
            (),
            a_ain,
            a_aout,
            a_iout,
            a_aread,
        )
    unpriced: tuple[str, ...] = ()
    unit_cost: Fraction | int = 0
    if units:
        unit_cost, unpriced = _unit_cost(price, units)
    amounts = (a_in, a_read, a_w5, a_w1h, a_out, a_reas)
    if scale == 1 and type(unit_cost) is int:
        return CostBreakdown(
            *amounts,
            unit_cost,
            sum(amounts) + media + unit_cost,
            tier,
            service,
            label,
            unpriced,
            a_ain,
            a_aout,
            a_iout,
            a_aread,
        )
    rounded = _apportion(
        [Fraction(a, scale) for a in (*amounts, a_ain, a_aout, a_iout, a_aread)] + [Fraction(unit_cost)]
    )
    return CostBreakdown(*rounded[:6], rounded[10], sum(rounded), tier, service, label, unpriced, *rounded[6:10])


def token_total(
    price: PriceVersion,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int,
    cache_write_tokens: int,
    cache_write_1h_tokens: int,
    reasoning_tokens: int,
    service_tier: str | None,
) -> int | None:
    """`cost_of(...).total` of a call with no audio or image tokens and no units, when the rates it bills at are
    whole picodollars (scale 1: every list price seen so far); None when the call needs `cost_of` (a rate with more
    decimals, or one it lacks: `cost_of` then says unpriced). The same integer steps as `cost_of`, without building
    its breakdown: the hot path of ingest (tests/core/test_rate_cache.py holds the two equal)."""
    write = cache_write_tokens
    write_1h = cache_write_1h_tokens if cache_write_1h_tokens <= write else write
    cached = cached_input_tokens
    prompt = input_tokens if input_tokens >= cached + write else cached + write
    r = _tier_rates(price, prompt, service_tier)[2]
    if r.scale != 1:
        return None
    uncached = prompt - cached - write
    write_5m = write - write_1h
    reasoning = reasoning_tokens
    plain_output = (output_tokens if output_tokens >= reasoning else reasoning) - reasoning
    try:  # a class with tokens but no rate (None) raises TypeError: `cost_of` says unpriced
        return (
            (uncached * r.uncached_input if uncached else 0)
            + (cached * r.cache_read if cached else 0)
            + (write_5m * r.cache_write_5m if write_5m else 0)
            + (write_1h * r.cache_write_1h if write_1h else 0)
            + (plain_output * r.output if plain_output else 0)
            + (reasoning * r.reasoning if reasoning else 0)
        )
    except TypeError:
        return None


def _unit_cost(price: PriceVersion, units: Mapping[str, Any]) -> tuple[Fraction | int, tuple[str, ...]]:
    total: Fraction | int = 0
    unpriced = []
    for name, count in units.items():
        n = _count(count)
        if n is not None and not n:
            continue
        usd = price.units.get(name)
        if usd is None or n is None:  # no price for the unit, or a count that is not a number
            unpriced.append(name)
            continue
        with localcontext() as ctx:
            ctx.prec = 60
            pico = n * usd * PICO_PER_USD
        total += int(pico) if pico == pico.to_integral_value() else Fraction(pico)
    return total, tuple(sorted(unpriced))


def _count(value: Any) -> Decimal | None:
    """A unit count as an exact Decimal; None when it is not a finite, non-negative number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        d = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        )
    except InvalidOperation:
        return None
    return d if d.is_finite() and d >= 0 else None


def _apportion(parts: list[Fraction]) -> list[int]:
    """Round the sum of exact parts once (half-even) and split it into integers that add up to it,
    giving the leftover picodollars to the parts with the largest remainders."""
    total = round(sum(parts))  # round() of a Fraction is half-even
    floors = [p.numerator // p.denominator for p in parts]
    left = total - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _tier_rates(price: PriceVersion, prompt: int, service_tier: str | None) -> tuple[int, str, _IntRates]:
    """(tier index, service tier, integer rates) of the call's long-context tier (the last threshold its prompt
    passes; -1 for none) and service tier (the standard ones read "default"), cached on the price version: the one lookup of `cost_of` and `token_total`."""
    tier_index = -1
    tiers = price.tiers
    if tiers:
        for i, t in enumerate(tiers):
            if (prompt >= t.threshold) if t.inclusive else (prompt > t.threshold):
                tier_index = i
    service = "default" if service_tier in STANDARD_TIERS else service_tier
    cache = price.__dict__.get("_int_rates")
    r = cache.get((tier_index, service)) if cache is not None else None
    return tier_index, service, (r if r is not None else _rates(price, tier_index, service))


def _rates(price: PriceVersion, tier_index: int, service: str) -> _IntRates:
    """The integer rates of (tier, service tier) for a price version, computed once and cached."""
    cache = price.__dict__.get("_int_rates")
    if cache is None:
        cache = {}
        object.__setattr__(price, "_int_rates", cache)
    key = (tier_index, service)
    r = cache.get(key)
    if r is None:
        r = cache[key] = _build_rates(price, tier_index, service)
    return r


def effective_rates(
    price: PriceVersion, tier_index: int = -1, service: str = "default"
) -> tuple[dict[str, Decimal | None], str]:
    """USD/MTok per class after every fallback (tier -> base, cache -> input, service tier), and
    which service rates applied. For `--explain` output and tests; `cost_of` uses the integer form."""
    tier = price.tiers[tier_index] if tier_index >= 0 else None
    std, own_reasoning = _standard(price, tier)
    if service == "default":
        return std, "standard"
    if service not in ("batch", "flex", "priority"):
        return std, "standard-fallback"
    explicit = getattr(tier, service) if tier is not None else price.service_rates(service)
    if explicit is None and service == "priority":
        return std, "standard-fallback"
    # batch/flex: a class with no explicit rate is half its standard rate; priority: its standard rate.
    factor = HALF if service in ("batch", "flex") else None
    out: dict[str, Decimal | None] = {}
    for cls, rate in std.items():
        e = None if explicit is None else getattr(explicit, _RATE_FIELD[cls])
        if e is None and cls == "reasoning" and not own_reasoning:
            e = out["output"]  # reasoning is ordinary output here: whatever output costs in this tier
        if e is None:
            e = None if rate is None else (rate * factor if factor is not None else rate)
        out[cls] = e
    return out, ("explicit" if explicit is not None else "half")


def _standard(price: PriceVersion, tier: Tier | None) -> tuple[dict[str, Decimal | None], bool]:
    """Standard-tier USD/MTok per class with the fallbacks applied, and whether reasoning has its own rate."""
    base = price.base
    tr = tier.rates if tier is not None else None

    def pick(name: str) -> Decimal | None:
        if tr is not None:
            v = getattr(tr, name)
            if v is not None:
                return v
        return getattr(base, name)

    inp = pick("input")
    out = pick("output")
    read = pick("cache_read")
    w5 = pick("cache_write_5m")
    w1h = pick("cache_write_1h")
    if w1h is None and inp is not None:
        if _is_claude(price):
            w1h = inp * CLAUDE_1H_WRITE_MULTIPLIER
        else:
            w1h = w5 if w5 is not None else inp
    reasoning = pick("reasoning")
    audio_in, audio_out, image_out, audio_read = (
        pick("input_audio"),
        pick("output_audio"),
        pick("output_image"),
        pick("cache_read_audio"),
    )
    rates = {
        "uncached_input": inp,
        "cache_read": read if read is not None else inp,
        "cache_write_5m": w5 if w5 is not None else inp,
        "cache_write_1h": w1h,
        "output": out,
        "reasoning": reasoning if reasoning is not None else out,
        # Audio/image tokens with no rate of their own bill as input/output (the rate the price states).
        "input_audio": audio_in if audio_in is not None else inp,
        "output_audio": audio_out if audio_out is not None else out,
        "output_image": image_out if image_out is not None else out,
        "cache_read_audio": audio_read if audio_read is not None else (read if read is not None else inp),
    }
    return rates, reasoning is not None


_RATE_FIELD = {  # breakdown class -> the Rates field that prices it
    "uncached_input": "input",
    "cache_read": "cache_read",
    "cache_write_5m": "cache_write_5m",
    "cache_write_1h": "cache_write_1h",
    "output": "output",
    "reasoning": "reasoning",
    "input_audio": "input_audio",
    "output_audio": "output_audio",
    "output_image": "output_image",
    "cache_read_audio": "cache_read_audio",
}


def _is_claude(price: PriceVersion) -> bool:
    if price.provider == "anthropic":
        return True
    return normalize_model(price.model).names[0].startswith("claude")


def _build_rates(price: PriceVersion, tier_index: int, service: str) -> _IntRates:
    with localcontext() as ctx:
        ctx.prec = 80  # far more digits than any price has: every step below is exact
        usd, label = effective_rates(price, tier_index, service)
        pico = {cls: (None if v is None else v * PICO_PER_TOKEN_PER_MTOK) for cls, v in usd.items()}
        decimals = max((-v.normalize().as_tuple().exponent for v in pico.values() if v is not None), default=0)
        scale = 10 ** max(decimals, 0)
        ints = {cls: (None if v is None else int(v * scale)) for cls, v in pico.items()}
    return _IntRates(scale=scale, service_rates=label, **ints)


def format_usd(pico: int) -> str:
    """The exact USD amount of a picodollar integer as a plain decimal string: 138000000000 -> '0.138'."""
    return usd_text(pico) or "0"
