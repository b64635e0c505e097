"""#17: `0` means "all" the same way in every `--top`/`--limit` of every command (the walk below), and says so in
its help; `simulate --top 0` lists every candidate, `dashboard --top 0` every customer with no
'(other)' row; a negative count is a usage error."""

from __future__ import annotations

import json

import pytest
import typer.main

NOW = "2026-10-10T00:00:00Z"
CUSTOMERS = [f"cust-{i:02d}" for i in range(6)]


def count_options():
    """Every --top/--limit of every command: (command path, option)."""
    from margindash_cli.cli import app

    out = []

    def walk(cmd, path):
        for param in cmd.params:
            if set(getattr(param, "opts", [])) & {"--top", "--limit"}:
                out.append((" ".join(path), param))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def test_every_top_and_limit_takes_0_for_all():
    checked = count_options()
    assert {path for path, _ in checked} >= {"simulate", "dashboard", "events", "report", "report trend"}
    for path, param in checked:
        info = param.type_descriptor.parameter_info
        assert info.min in (None, 0), f"{path} {param.opts}: min {info.min}, so 0 (all) is refused"
        assert "0 = all" in (param.help or ""), f"{path} {param.opts}: help does not say 0 = all"


@pytest.fixture
def store(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    log = tmp_path / "calls.jsonl"
    lines = []
    for i, customer in enumerate(CUSTOMERS):
        for day in (1, 2, 3):
            lines.append(
                {
                    "timestamp": f"2026-10-0{day}T1{i}:00:00Z",
                    "customer_id": customer,
                    "feature": "chat",
                    "vendor": "openai",
                    "model": "gpt-4o",
                    "input_tokens": 1000 * (i + 1),
                    "output_tokens": 100,
                    "request_id": f"r-{customer}-{day}",
                }
            )
    log.write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert cli("ingest", log).exit_code == 0
    return log


def test_simulate_top_0_lists_every_candidate(cli, store):
    some = cli("simulate", "--since", "2026-10-01", "--top", "1")
    every = cli("simulate", "--since", "2026-10-01", "--top", "0")
    assert some.exit_code == every.exit_code == 0, (some.stderr, every.stderr)
    ranked = json.loads(cli("simulate", "--since", "2026-10-01", "--json").stdout)
    assert "not shown (--top 0 shows all" in some.stdout + some.stderr
    assert "not shown" not in every.stdout + every.stderr
    assert len(every.stdout.splitlines()) > len(some.stdout.splitlines())
    assert ranked  # the JSON has every candidate whatever --top says
    negative = cli("simulate", "--top", "-1")
    assert negative.exit_code == 2 and negative.stderr.startswith("error: ") and "Usage:" not in negative.stderr


def _page_rows(cli, tmp_path, *args):
    from margindash_cli.dashboard import page

    out = tmp_path / "d.html"
    result = cli("dashboard", "-o", out, "--since", "2026-10-01", "--simulate-days", "0", *args)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    start = text.index(f'id="{page.DATA_ELEMENT_ID}"')
    data = json.loads(text[text.index(">", start) + 1 : text.index("</script>", start)])
    return [row["key"] if "key" in row else row for row in data["report"]["rows"]]


def test_dashboard_top_0_shows_every_customer(cli, store, tmp_path):
    every = _page_rows(cli, tmp_path, "--top", "0")
    assert len(every) == len(CUSTOMERS) and "(other" not in json.dumps(every)
    some = _page_rows(cli, tmp_path, "--top", "2")
    assert len(some) == 3 and "(other 4)" in json.dumps(some[-1])
    negative = cli("dashboard", "-o", tmp_path / "x.html", "--top", "-1")
    assert negative.exit_code == 2 and "error: --top '-1' must be 0 or more" in negative.stderr
