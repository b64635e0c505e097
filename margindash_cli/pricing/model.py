"""Price versions: what one (provider, model) cost from a moment on.

Invariants:
- Token rates are exact `Decimal` USD per million tokens (MTok); None means "no such rate" (the
  cost function's fallbacks decide what that bills at), never $0. An explicit 0 is free.
- Per-unit prices (`units`) are exact `Decimal` USD per one unit ("requests", "images",
  "input_images", "web_searches").
- `effective_from` is a timezone-aware UTC datetime, or None for "since the beginning".
- A tier's `threshold` counts ALL prompt tokens of a call (uncached + cache reads + cache writes).
  `inclusive=False` means the tier applies when prompt tokens > threshold (Anthropic, Google,
  OpenAI); True means >= (xAI). A tier's rates that are None fall back to the base rates.
- `to_dict()` is JSON-safe (Decimals as strings, datetimes ISO 8601 with `Z`) and
  `from_dict(to_dict(p)) == p`; None and empty fields are left out to keep the catalog small.

These are plain frozen dataclasses, not pydantic models: they are read in the per-event hot loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from margindash_cli.core.periods import EPOCH

RATE_FIELDS = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_audio",
    "output_audio",
    "output_image",
    "cache_read_audio",
)
SERVICE_TIERS = ("batch", "flex", "priority")  # service tiers that can carry their own rates
USER_SOURCE = "user"  # the source name of prices a user set by hand; they win over every other source


def _dec(value: Any) -> Decimal:
    """A Decimal from a catalog string (or a Decimal/int); floats are refused, they are not exact."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"price values must be decimal strings, got {value!r}")
    return Decimal(value)


def _dec_text(value: Decimal) -> str:
    """Plain (never exponent) decimal text: Decimal('3E-7') -> '0.0000003'."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each token class; None = not listed by the source."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None
    input_audio: Decimal | None = None  # audio prompt tokens (Gemini, gpt-4o-audio, realtime); None = billed as input
    output_audio: Decimal | None = None  # generated audio tokens; None = billed as output
    output_image: Decimal | None = None  # generated image tokens (Gemini image models); None = billed as output
    cache_read_audio: Decimal | None = None  # audio prompt tokens read from cache; None = billed as cache reads

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in RATE_FIELDS)

    def to_dict(self) -> dict[str, str]:
        return {f: _dec_text(v) for f in RATE_FIELDS if (v := getattr(self, f)) is not None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rates:
        unknown = set(d) - set(RATE_FIELDS)
        if unknown:
            raise ValueError(f"unknown rate fields: {sorted(unknown)}")
        return cls(**{k: (None if v is None else _dec(v)) for k, v in d.items()})


@dataclass(frozen=True, slots=True)
class Tier:
    """A long-context tier: the whole call is billed at these rates once the prompt crosses it."""

    threshold: int
    inclusive: bool = False
    rates: Rates = Rates()
    # Service-tier rates inside this tier (e.g. LiteLLM's *_above_200k_tokens_batches); None = not listed.
    batch: Rates | None = None
    flex: Rates | None = None
    priority: Rates | None = None

    def applies(self, prompt_tokens: int) -> bool:
        return prompt_tokens >= self.threshold if self.inclusive else prompt_tokens > self.threshold

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"threshold": self.threshold}
        if self.inclusive:
            d["inclusive"] = True
        d["rates"] = self.rates.to_dict()
        for name in SERVICE_TIERS:
            r = getattr(self, name)
            if r is not None:
                d[name] = r.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Tier:
        return cls(
            threshold=int(d["threshold"]),
            inclusive=bool(d.get("inclusive", False)),
            rates=Rates.from_dict(d.get("rates") or {}),
            **{name: Rates.from_dict(d[name]) for name in SERVICE_TIERS if d.get(name) is not None},
        )


def _minute_of_day(text: str) -> int:
    """ "16:30" -> 990 (minutes after 00:00 UTC)."""
    h, _, m = str(text).partition(":")
    minute = int(h) * 60 + int(m or 0)
    if not 0 <= minute < 1440:
        raise ValueError(f"not a time of day: {text!r}")
    return minute


@dataclass(frozen=True, slots=True)
class Window:
    """A daily UTC time window with its own rates (DeepSeek's off-peak discount, 16:30-00:30 UTC).

    `start`/`end` are minutes after 00:00 UTC; the window holds start <= t < end and wraps past
    midnight when end <= start. A window's rates that are None fall back to the version's base."""

    start: int
    end: int
    rates: Rates = Rates()

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": f"{self.start // 60:02d}:{self.start % 60:02d}",
            "end": f"{self.end // 60:02d}:{self.end % 60:02d}",
            "rates": self.rates.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Window:
        return cls(_minute_of_day(d["start"]), _minute_of_day(d["end"]), Rates.from_dict(d.get("rates") or {}))


@dataclass(frozen=True)
class PriceVersion:
    """The price of one (provider, model) from `effective_from` until the next version starts."""

    provider: str
    model: str
    effective_from: datetime | None = None
    source: str = "user"  # "genai-prices", "litellm", "openrouter", "user", or a URL
    base: Rates = Rates()
    tiers: tuple[Tier, ...] = ()
    batch: Rates | None = None
    flex: Rates | None = None
    priority: Rates | None = None
    units: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    context_window: int | None = None
    max_output: int | None = None
    windows: tuple[Window, ...] = ()  # daily UTC windows with their own rates (off-peak prices)

    def __post_init__(self) -> None:
        eff = self.effective_from
        if eff is not None:
            if eff.tzinfo is None or eff.utcoffset() is None:
                raise ValueError(f"effective_from must be timezone-aware, got {eff!r}")
            if eff.tzinfo is not UTC:
                object.__setattr__(self, "effective_from", eff.astimezone(UTC))
        tiers = tuple(sorted(self.tiers, key=lambda t: t.threshold))
        if tiers != self.tiers:
            object.__setattr__(self, "tiers", tiers)
        if not isinstance(self.units, MappingProxyType):
            object.__setattr__(self, "units", MappingProxyType({k: _dec(v) for k, v in self.units.items()}))
        # Derived (init=False, not compared): the start as UTC epoch milliseconds, for `price_at` in the hot loop.
        object.__setattr__(
            self, "effective_from_ms", None if self.effective_from is None else _epoch_ms(self.effective_from)
        )

    effective_from_ms: int | None = field(init=False, repr=False, compare=False, default=None)

    def at_time(self, ts_ms: int) -> PriceVersion:
        """The price that bills a call at UTC epoch milliseconds `ts_ms`: this version, or inside one of its
        daily windows a version with the window's rates as base (built once per window, then reused)."""
        if not self.windows:
            return self
        minute = (ts_ms // 60_000) % 1440
        for i, w in enumerate(self.windows):
            if w.contains(minute):
                cache = self.__dict__.setdefault("_window_versions", {})
                v = cache.get(i)
                if v is None:
                    base = Rates(
                        **{
                            f: getattr(w.rates, f) if getattr(w.rates, f) is not None else getattr(self.base, f)
                            for f in RATE_FIELDS
                        }
                    )
                    v = cache[i] = PriceVersion(
                        self.provider,
                        self.model,
                        self.effective_from,
                        self.source,
                        base,
                        self.tiers,
                        self.batch,
                        self.flex,
                        self.priority,
                        self.units,
                        self.context_window,
                        self.max_output,
                    )
                    object.__setattr__(v, "window", w)
                return v
        return self

    def service_rates(self, service_tier: str) -> Rates | None:
        """The explicit base rates of a service tier ("batch", "flex", "priority"), if listed."""
        return getattr(self, service_tier) if service_tier in SERVICE_TIERS else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"provider": self.provider, "model": self.model}
        if self.effective_from is not None:
            d["effective_from"] = self.effective_from.isoformat().replace("+00:00", "Z")
        d["source"] = self.source
        d["base"] = self.base.to_dict()
        if self.tiers:
            d["tiers"] = [t.to_dict() for t in self.tiers]
        for name in SERVICE_TIERS:
            r = getattr(self, name)
            if r is not None:
                d[name] = r.to_dict()
        if self.units:
            d["units"] = {k: _dec_text(v) for k, v in sorted(self.units.items())}
        if self.context_window is not None:
            d["context_window"] = self.context_window
        if self.max_output is not None:
            d["max_output"] = self.max_output
        if self.windows:
            d["windows"] = [w.to_dict() for w in self.windows]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PriceVersion:
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown price version fields: {sorted(unknown)}")
        eff = d.get("effective_from")
        return cls(
            provider=d["provider"],
            model=d["model"],
            effective_from=None if eff is None else _parse_utc(eff),
            source=d.get("source", "user"),
            base=Rates.from_dict(d.get("base") or {}),
            tiers=tuple(Tier.from_dict(t) for t in d.get("tiers") or ()),
            **{name: Rates.from_dict(d[name]) for name in SERVICE_TIERS if d.get(name) is not None},
            units={k: _dec(v) for k, v in (d.get("units") or {}).items()},
            context_window=None if d.get("context_window") is None else int(d["context_window"]),
            max_output=None if d.get("max_output") is None else int(d["max_output"]),
            windows=tuple(Window.from_dict(w) for w in d.get("windows") or ()),
        )


def _parse_utc(text: str) -> datetime:
    """An ISO 8601 date or datetime as aware UTC; a bare date or zone-less time is read as UTC."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _epoch_ms(dt: datetime) -> int:
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def effective_ms(version: PriceVersion) -> int:
    """A version's start in epoch ms; 0 = since the beginning."""
    return version.effective_from_ms or 0


def version_data(version: PriceVersion) -> str:
    """A version as the store keeps it: its JSON, keys sorted, so equal versions are equal text."""
    import orjson  # lazy: start-up

    return orjson.dumps(version.to_dict(), option=orjson.OPT_SORT_KEYS).decode()
