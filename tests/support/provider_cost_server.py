"""OpenAI's and Anthropic's cost and usage admin APIs on 127.0.0.1, as documented (see tests/fixtures/reconcile/).

The server holds fine-grained records (every dimension set) and answers each request the way the APIs do:
- every UTC day bucket of [start, end) is present, `"results": []` when nothing was used, oldest first;
- results are summed over the dimensions NOT in `group_by` (which read null); both array encodings are
  understood (`group_by[]=model` as the SDKs send, and a repeated `group_by=model`);
- `limit` counts buckets, default 7, capped per endpoint (over the cap is a 400);
- cursor pages: `has_more`/`next_page` with an opaque cursor holding `+`, `/` and `=` (so it must be URL-encoded);
- OpenAI amounts are JSON numbers of dollars written with the record's own digits (`0.9600000000000001`),
  Anthropic amounts decimal strings of cents; Anthropic wants `x-api-key` and `anthropic-version`.
- auth: a wrong key is a 401 with the provider's error body; `faults[path]` replies (429 with Retry-After, 500)
  are served first, one per request.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DAY = 86_400
OPENAI_COSTS = "/v1/organization/costs"
OPENAI_USAGE = "/v1/organization/usage/completions"
ANTHROPIC_COSTS = "/v1/organizations/cost_report"
ANTHROPIC_USAGE = "/v1/organizations/usage_report/messages"
CAPS = {OPENAI_COSTS: 180, OPENAI_USAGE: 31, ANTHROPIC_COSTS: 31, ANTHROPIC_USAGE: 31}
GROUPABLE = {
    OPENAI_COSTS: ("project_id", "line_item", "api_key_id"),
    OPENAI_USAGE: ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
    ANTHROPIC_COSTS: ("workspace_id", "description"),
    ANTHROPIC_USAGE: ("api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo"),
}
# Anthropic cost fields that read null unless grouped by description
DESCRIPTION_FIELDS = ("description", "model", "token_type", "service_tier", "context_window", "inference_geo")


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": {"message": "Too many requests", "type": "rate_limit_error"}}'


class _Raw(str):
    """A JSON number written with exactly these digits."""


def _dumps(obj: Any) -> bytes:
    raws: list[str] = []

    def default(o: Any) -> Any:
        if isinstance(o, _Raw):
            raws.append(str(o))
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError(type(o))

    def walk(o: Any) -> Any:
        if isinstance(o, _Raw):
            raws.append(str(o))
            return f"@@RAW{len(raws) - 1}@@"
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj), indent=2, default=default)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', raw)
    return text.encode()


def _cursor(offset: int) -> str:
    return "page_" + base64.b64encode(f"offset:{offset:04d}>>".encode()).decode() + "+/="


def _offset(cursor: str) -> int:
    return int(base64.b64decode(cursor[5:-3]).decode().split(":")[1].rstrip(">"))


class ProviderCostServer:
    """`srv.openai_costs.append({...})` etc. hold the records; `srv.base` is the origin to point a client at."""

    def __init__(self, openai_key: str = "sk-admin-test-openai", anthropic_key: str = "sk-ant-admin01-test") -> None:
        self.openai_key = openai_key
        self.anthropic_key = anthropic_key
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.requests: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                split = urlsplit(self.path)
                query = parse_qsl(split.query, keep_blank_values=True)
                server.requests.append((split.path, query, dict(self.headers)))
                status, headers, body = server.answer(split.path, query, self.headers)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ProviderCostServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- answering ---------------------------------------------------------------------------------------------

    def answer(self, path: str, query: list[tuple[str, str]], headers: Any) -> tuple[int, dict[str, str], bytes]:
        if path not in CAPS:
            return 404, {}, b'{"error": {"message": "not found"}}'
        anthropic = path.startswith("/v1/organizations/")
        if anthropic:
            if headers.get("x-api-key") != self.anthropic_key:
                return (
                    401,
                    {},
                    _dumps(
                        {
                            "type": "error",
                            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                            "request_id": "req_011CTest",
                        }
                    ),
                )
            if headers.get("anthropic-version") != "2023-06-01":
                return (
                    400,
                    {},
                    _dumps(
                        {
                            "type": "error",
                            "error": {
                                "type": "invalid_request_error",
                                "message": "anthropic-version: header is required",
                            },
                        }
                    ),
                )
        elif headers.get("Authorization") != f"Bearer {self.openai_key}":
            masked = (headers.get("Authorization") or "")[-4:]
            return (
                401,
                {},
                _dumps(
                    {
                        "error": {
                            "message": f"Incorrect API key provided: sk-admin-****{masked}.",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "invalid_api_key",
                        }
                    }
                ),
            )
        if self.faults[path]:
            f = self.faults[path].pop(0)
            return f.status, f.headers, f.body
        params: dict[str, list[str]] = defaultdict(list)
        for k, v in query:
            params[k[:-2] if k.endswith("[]") else k].append(v)
        try:
            if anthropic:
                start = _day_of(params["starting_at"][0])
                end = _day_of(params["ending_at"][0]) if params.get("ending_at") else start + 7
            else:
                start_s = int(params["start_time"][0])
                end_s = int(params["end_time"][0]) if params.get("end_time") else start_s + 7 * DAY
                start, end = -(-start_s // DAY), -(-end_s // DAY)
            limit = int(params["limit"][0]) if params.get("limit") else 7
        except (KeyError, IndexError, ValueError) as exc:
            return 400, {}, _dumps({"error": {"message": f"bad parameter: {exc}"}})
        if limit < 1 or limit > CAPS[path]:
            return (
                400,
                {},
                _dumps({"error": {"message": f"limit must be between 1 and {CAPS[path]} for bucket_width 1d"}}),
            )
        groups = params.get("group_by", [])
        bad = [g for g in groups if g not in GROUPABLE[path]]
        if bad:
            return 400, {}, _dumps({"error": {"message": f"invalid group_by: {bad[0]}"}})
        offset = _offset(params["page"][0]) if params.get("page") else 0
        days = list(range(start + offset, min(end, start + offset + limit)))
        more = start + offset + limit < end
        buckets = [self._bucket(path, d, set(groups), anthropic) for d in days]
        page = {"data": buckets, "has_more": more, "next_page": _cursor(offset + limit) if more else None}
        if not anthropic:
            page = {"object": "page", **page}
        return 200, {}, _dumps(page)

    def _bucket(self, path: str, day: int, groups: set[str], anthropic: bool) -> dict[str, Any]:
        records = [r for r in self.records[path] if r["day"] == day]
        summed: dict[tuple[Any, ...], dict[str, Any]] = {}
        for r in records:
            out = self._project(path, r, groups)
            k = tuple(json.dumps(out.get(d), default=str) for d in _dimensions(path))
            if k in summed:
                _add(summed[k], out)
            else:
                summed[k] = out
        results = [_finish(path, r) for r in summed.values()]
        if anthropic:
            return {"starting_at": _iso(day), "ending_at": _iso(day + 1), "results": results}
        return {"object": "bucket", "start_time": day * DAY, "end_time": (day + 1) * DAY, "results": results}

    def _project(self, path: str, r: dict[str, Any], groups: set[str]) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if k != "day"}
        if path == ANTHROPIC_COSTS:
            for k in DESCRIPTION_FIELDS:
                if "description" not in groups:
                    out[k] = None
            if "workspace_id" not in groups:
                out["workspace_id"] = None
            return out
        for k in GROUPABLE[path]:
            if k not in groups:
                out[k] = None
        if path == OPENAI_COSTS and "line_item" not in groups:
            out["quantity"] = None
            out["quantity_unit"] = None
        return out


def _dimensions(path: str) -> tuple[str, ...]:
    """What a result is keyed by: the groupable dimensions (null when not grouped) and the labels that go with them."""
    if path == ANTHROPIC_COSTS:
        return (*DESCRIPTION_FIELDS, "workspace_id", "cost_type", "currency")
    if path == OPENAI_COSTS:
        return (*GROUPABLE[path], "quantity_unit")
    return GROUPABLE[path]


def _add(acc: dict[str, Any], r: dict[str, Any]) -> None:
    for k, v in r.items():
        if k == "amount" and isinstance(v, dict):
            acc[k] = {**acc[k], "value": str(Decimal(acc[k]["value"]) + Decimal(v["value"]))}
        elif k == "amount":
            acc[k] = str(Decimal(acc[k]) + Decimal(v))
        elif isinstance(v, dict):
            acc[k] = {kk: acc[k].get(kk, 0) + vv for kk, vv in v.items()}
        elif isinstance(v, (int, str)) and k in ("quantity",) and v is not None and acc[k] is not None:
            acc[k] = str(Decimal(str(acc[k])) + Decimal(str(v)))
        elif isinstance(v, int) and not isinstance(v, bool):
            acc[k] = acc[k] + v


def _finish(path: str, r: dict[str, Any]) -> dict[str, Any]:
    r = dict(r)
    if path == OPENAI_COSTS:
        r["amount"] = {"value": _Raw(str(r["amount"]["value"])), "currency": r["amount"].get("currency", "usd")}
        if r.get("quantity") is not None:
            r["quantity"] = _Raw(str(r["quantity"]))
        return {"object": "organization.costs.result", **r}
    if path == OPENAI_USAGE:
        return {"object": "organization.usage.completions.result", **r}
    return r


def _day_of(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return int(dt.timestamp()) // DAY


def _iso(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_fixture_records(srv: ProviderCostServer, fixtures: Any) -> None:
    """The records behind the example pages in tests/fixtures/reconcile/ (one page each, day 2026-07-14)."""
    for path, name in (
        (OPENAI_COSTS, "openai_costs_page.json"),
        (OPENAI_USAGE, "openai_usage_completions_page.json"),
        (ANTHROPIC_COSTS, "anthropic_cost_report_page.json"),
        (ANTHROPIC_USAGE, "anthropic_usage_report_page.json"),
    ):
        page = json.loads((fixtures / name).read_text(), parse_float=str)
        for bucket in page["data"]:
            day = bucket["start_time"] // DAY if "start_time" in bucket else _day_of(bucket["starting_at"])
            for result in bucket["results"]:
                rec = {k: v for k, v in result.items() if k != "object"}
                srv.records[path].append({"day": day, **rec})
