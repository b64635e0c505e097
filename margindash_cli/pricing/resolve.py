"""Which catalog key prices a call: (vendor, model as logged) -> (provider, model) or None.

Order, first hit wins:
1. exact      - (vendor, model) is a key, as given or with the vendor name canonicalized
                ("gemini"/"vertex_ai" -> "google", "bedrock_converse"/"aws" -> "bedrock", ...).
2. alias      - a user or catalog alias for (vendor, name), else a vendor-less alias (None, name).
3. normalized - the same provider, after removing routing noise from both the logged id and the
                catalog ids: routing prefixes (`openai/`, `bedrock/`, `vertex_ai/`, ...); Bedrock
                foundation-model and system inference-profile ARNs; Vertex/Gemini resource names
                (`publishers/google/models/...`, `models/...`); Bedrock geo prefixes (`us.`, `eu.`,
                `apac.`, `global.`, ...), the vendor prefix of Bedrock ids (`anthropic.`) and the
                `-v1:0`-style suffix; Vertex `@20250929` (tried as `-20250929` first, then without);
                `3.5` -> `3-5`; case. Among geo variants of a Bedrock id the same geo wins, then the
                in-region id, then other geos, and the ~10% cheaper `global.` price only last.
                With no vendor, or one the catalog does not know ("litellm"), the routing prefix or
                the model family (claude -> anthropic, gpt-/o3 -> openai, gemini -> google, ...)
                names the provider.
4. origin     - the price the model's maker charges (`us.anthropic.claude-...` on Bedrock with no
                Bedrock price -> Anthropic's), found by the same exact/alias/normalized lookups.
5. None       - unpriced. Unpriced is never $0.

Never done, on purpose: stripping a date or version suffix (`gpt-4o-2024-05-13` is not `gpt-4o`),
prefix/substring/"longest match" guessing (that is how `claude-opus-4-7` got priced as
`claude-opus-4`). A name either matches a key after removing routing noise, or it is unpriced.

Results are memoized per (vendor, model): the resolver is called once per event at 250k events/s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from margindash_cli.pricing.model import PriceVersion

# Spellings of who served a call -> the catalog's provider id.
VENDOR_ALIASES = {
    "openai": "openai",
    "openai_chat": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",
    "google_ai_studio": "google",
    "google-ai-studio": "google",
    "googleai": "google",
    "vertex": "google",
    "vertexai": "google",
    "vertex_ai": "google",
    "vertex-ai": "google",
    "google_vertex": "google",
    "google-vertex": "google",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "bedrock_mantle": "bedrock",
    "aws": "bedrock",
    "aws_bedrock": "bedrock",
    "aws-bedrock": "bedrock",
    "amazon": "bedrock",
    "amazon_bedrock": "bedrock",
    "amazon-bedrock": "bedrock",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "azure_text": "azure",
    "xai": "xai",
    "x-ai": "xai",
    "x.ai": "xai",
    "grok": "xai",
    "mistral": "mistral",
    "mistralai": "mistral",
    "mistral_ai": "mistral",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "deepseek": "deepseek",
    "groq": "groq",
    "together": "together",
    "together_ai": "together",
    "together-ai": "together",
    "togetherai": "together",
    "fireworks": "fireworks",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "fireworksai": "fireworks",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "perplexityai": "perplexity",
    "cerebras": "cerebras",
    "moonshot": "moonshot",
    "moonshotai": "moonshot",
    "moonshot_ai": "moonshot",
}
NO_VENDOR = frozenset({"", "unknown", "none", "null"})  # logged vendor values that say nothing
# First path segments that are routing noise (LiteLLM/Langfuse style `provider/model`).
ROUTING_PREFIXES = frozenset(VENDOR_ALIASES) | {"vertex_ai_beta"}
# Bedrock cross-region inference profile prefixes (`us.anthropic.claude-...`).
BEDROCK_GEOS = frozenset({"us", "eu", "apac", "global", "au", "jp", "ca", "us-gov", "ap"})
# Vendor prefix of Bedrock model ids -> the maker's provider id (None: only sold through Bedrock).
BEDROCK_ORIGINS = {
    "anthropic": "anthropic",
    "amazon": None,
    "meta": None,
    "mistral": "mistral",
    "cohere": "cohere",
    "ai21": None,
    "deepseek": "deepseek",
    "openai": "openai",
    "qwen": None,
    "writer": None,
    "google": "google",
    "nvidia": None,
    "minimax": None,
    "moonshotai": "moonshot",
    "twelvelabs": None,
    "stability": None,
    "luma": None,
    "zai": None,
}
# Model-name families whose maker is unambiguous: normalized-name prefix -> provider.
FAMILY_ORIGINS = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("codex-", "openai"),
    ("gemini", "google"),
    ("gemma", "google"),
    ("grok", "xai"),
    ("mistral-", "mistral"),
    ("codestral", "mistral"),
    ("magistral", "mistral"),
    ("ministral", "mistral"),
    ("pixtral", "mistral"),
    ("devstral", "mistral"),
    ("deepseek-", "deepseek"),
    ("command-", "cohere"),
)
# arn:aws:bedrock:REGION:ACCOUNT:foundation-model/ID or .../inference-profile/ID. Application
# inference-profile ARNs (`application-inference-profile/abc123`) are opaque: they need an alias.
_BEDROCK_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)/(?P<id>.+)$")
# Vertex resource name: projects/P/locations/L/publishers/google/models/ID
_VERTEX_RESOURCE = re.compile(r"(?:^|/)publishers/[^/]+/models/(?P<id>[^/]+)$")
_FIREWORKS_PATHS = ("accounts/fireworks/models/", "accounts/fireworks/routers/")
_VERSION_SUFFIX = re.compile(r"-v\d+:0$")  # Bedrock API version `-v1:0`, `-v2:0`; not `claude-v2:1` (Claude 2.1)
_DIGIT_DOT = re.compile(r"(?<=\d)\.(?=\d)")  # 3.5 -> 3-5


class Resolution(NamedTuple):
    provider: str
    model: str
    how: str  # "exact", "alias", "normalized", "origin"


class Normalized(NamedTuple):
    """A model id with its routing noise taken off."""

    names: tuple[str, ...]  # candidate normalized names, best first
    geo: str | None  # Bedrock geo prefix, e.g. "us"
    route: str | None  # provider named by a routing prefix (`bedrock/...` -> "bedrock")
    origin: str | None  # the maker, from a Bedrock vendor prefix or the model family


def canonical_vendor(vendor: str | None) -> str | None:
    """The catalog provider id for a logged vendor name; None when the log does not say."""
    if vendor is None:
        return None
    v = vendor.strip().lower()
    if v in NO_VENDOR:
        return None
    if v in VENDOR_ALIASES:
        return VENDOR_ALIASES[v]
    if v.startswith("vertex_ai"):  # LiteLLM's vertex_ai-anthropic_models, vertex_ai-language-models...
        return "google"
    return v


def family_origin(name: str) -> str | None:
    """The maker of a normalized model name when its family says so unambiguously."""
    for prefix, provider in FAMILY_ORIGINS:
        if name.startswith(prefix):
            return provider
    return None


def normalize_model(model: str) -> Normalized:
    """Strip routing noise from a model id (see the module docstring). Pure and deterministic."""
    name = model.strip().lower()
    route = None
    m = _BEDROCK_ARN.match(name) or _VERTEX_RESOURCE.search(name)
    if m:  # a Bedrock model/system-profile ARN or a Vertex resource name: the id is at its end
        route, name = ("bedrock" if m.re is _BEDROCK_ARN else "google"), m.group("id")
    elif name.startswith("models/"):  # Gemini API resource name
        name = name[len("models/") :]
    elif name.startswith(_FIREWORKS_PATHS):  # Fireworks model paths name their provider (the key keeps the path)
        route = "fireworks"
    # Routing prefixes: `bedrock/`, `vertex_ai/`, ... (possibly two: `openrouter/anthropic/...`).
    while "/" in name:
        head, _, rest = name.partition("/")
        if head not in ROUTING_PREFIXES or not rest:
            break
        if route is None:
            route = canonical_vendor(head)
        name = rest
    geo = None
    origin = None
    head, dot, rest = name.partition(".")
    if dot and head in BEDROCK_GEOS:
        inner_head, inner_dot, _ = rest.partition(".")
        if inner_dot and inner_head in BEDROCK_ORIGINS:
            geo, name = head, rest
    head, dot, rest = name.partition(".")
    if dot and head in BEDROCK_ORIGINS and rest and not rest[0].isdigit():
        origin = BEDROCK_ORIGINS[head]
        name = rest
        if route is None:
            route = "bedrock"
    name = _VERSION_SUFFIX.sub("", name)
    if "@" in name:
        base, _, suffix = name.partition("@")
        names = (base,) if suffix in ("", "default", "latest") else (f"{base}-{suffix}", base)
    else:
        names = (name,)
    names = tuple(dict.fromkeys(_DIGIT_DOT.sub("-", n) for n in names))
    if origin is None:
        origin = family_origin(names[0])
    return Normalized(names, geo, route, origin)


def _geo_rank(wanted: str | None, have: str | None) -> int:
    """Preference among geo variants of a Bedrock id: the same geo, then in-region, then other geos,
    then `global.` last (global profiles are ~10% cheaper, so never pick them for a regional call
    when a regional price exists)."""
    if have == wanted:
        return 0
    if have is None:
        return 1
    if have != "global":
        return 2
    return 3


def _without_geo(text: str) -> str:
    head, dot, rest = text.partition(".")
    return rest if dot and head in BEDROCK_GEOS else text


def _form_rank(logged: str, key: str) -> int:
    """Among keys that normalize alike, prefer the one written like the logged id: 0 when the key is the
    logged id (without its geo prefix) plus only a Bedrock API version (`-v1:0`); 1 when both use a
    Vertex `@` version or neither does; 2 otherwise. (`anthropic.claude-haiku-4-5-20251001` is the
    `-v1:0` entry, never LiteLLM's `anthropic.claude-haiku-4-5@20251001`.)"""
    a, b = (_without_geo(t.strip().lower()) for t in (logged, key))
    if b == a or _VERSION_SUFFIX.sub("", b) == a:
        return 0
    return 1 if ("@" in a) == ("@" in b) else 2


class Resolver:
    """Resolves logged (vendor, model) names to catalog keys; build once, call per event."""

    def __init__(
        self,
        keys: Iterable[tuple[str, str]],
        aliases: Mapping[tuple[str | None, str], tuple[str, str]] | None = None,
    ):
        self.keys: frozenset[tuple[str, str]] = frozenset(keys)
        self._providers = frozenset(p for p, _ in self.keys)
        self.aliases = {k: tuple(v) for k, v in (aliases or {}).items() if tuple(v) in self.keys}
        # provider -> normalized name -> [(geo, key model)], and the same for alias names.
        self._norm: dict[str, dict[str, list[tuple[str | None, str]]]] = {}
        for provider, model in self.keys:
            n = normalize_model(model)
            self._norm.setdefault(provider, {}).setdefault(n.names[0], []).append((n.geo, model))
        self._norm_alias: dict[tuple[str | None, str], tuple[str, str]] = {}
        for (vendor, name), target in sorted(self.aliases.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            key = (canonical_vendor(vendor) if vendor else None, normalize_model(name).names[0])
            self._norm_alias.setdefault(key, target)
        self._memo: dict[tuple[str | None, str], Resolution | None] = {}

    def resolve(self, vendor: str | None, model: str) -> Resolution | None:
        key = (vendor, model)
        try:
            return self._memo[key]
        except KeyError:
            pass
        res = self._resolve(vendor, model)
        self._memo[key] = res
        return res

    __call__ = resolve

    def _resolve(self, vendor: str | None, model: str) -> Resolution | None:
        v = canonical_vendor(vendor)
        # 1. exact
        for p in (vendor, v):
            if p and (p, model) in self.keys:
                return Resolution(p, model, "exact")
        # 2. alias
        for a in ((vendor, model), (v, model), (None, model)):
            target = self.aliases.get(a)
            if target is not None:
                return Resolution(target[0], target[1], "alias")
        if not model:
            return None
        n = normalize_model(model)
        # A vendor the catalog knows nothing about (a gateway's own name, "litellm") says nothing
        # about the price: the routing prefix or the model family decides the provider then.
        provider = v if v in self._providers else (n.route or n.origin)
        # 3. normalized, within the provider that served the call
        if provider is not None:
            hit = self._lookup(provider, model, n)
            if hit is not None:
                return Resolution(hit[0], hit[1], "normalized")
        # 4. the maker's own price for a hosted model
        origin = n.origin if n.origin != provider else None
        if origin is None and n.route is not None and n.route != provider:
            origin = n.route
        if origin is not None:
            hit = self._lookup(origin, model, n)
            if hit is not None:
                return Resolution(hit[0], hit[1], "origin")
        return None

    def _lookup(self, provider: str, model: str, n: Normalized) -> tuple[str, str] | None:
        if (provider, model) in self.keys:
            return provider, model
        target = self.aliases.get((provider, model))
        if target is not None:
            return target
        index = self._norm.get(provider, {})
        for name in n.names:
            if (provider, name) in self.keys:
                return provider, name
            cands = index.get(name)
            if cands:
                best = min(cands, key=lambda c: (_geo_rank(n.geo, c[0]), _form_rank(model, c[1]), len(c[1]), c[1]))
                return provider, best[1]
            target = self._norm_alias.get((provider, name)) or self._norm_alias.get((None, name))
            if target is not None:
                return target
        return None


def price_at(versions_sorted: Sequence[PriceVersion], ts_ms: int) -> PriceVersion | None:
    """The version in force at UTC epoch milliseconds `ts_ms`: the last one that started at or
    before it. `versions_sorted` is ordered by start (None = since the beginning, first). None when
    the call predates every version."""
    for version in reversed(versions_sorted):
        start = version.effective_from_ms
        if start is None or start <= ts_ms:
            return version
    return None
