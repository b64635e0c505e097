"""#17/#20: option values are parsed with the stdlib (no pydantic), as Typer parses them; every usage error, Click's
or ours, prints as `error:`/`hint:` lines with exit 2, never Click's `Usage:` preamble."""

from __future__ import annotations

import pytest
import typer
import typer.main


def tree_params():
    from margindash_cli.cli import app

    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        for param in cmd.params:
            out.append((" ".join(path), param))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, ["margindash"])
    return out


def test_every_parameter_has_a_stdlib_parser():
    from margindash_cli.cli.values import _Value

    other = [
        (path, p.name, p.type_descriptor.annotation)
        for path, p in tree_params()
        if not isinstance(p._runtime_param, _Value)
    ]
    assert not other, f"parameters left to Typer's pydantic adapter (a type values.py does not parse): {other}"


SAMPLES = {
    "str": ["abc", "", "ünï", "--x", "2026-10-01"],
    "int": ["5", "0", "-1", "1", "abc", "1.5", " 7 ", "", "99999999999999999999", "+3"],
    "bool": ["true", "false", "1", "0", "yes", "no", "on", "off", "maybe", ""],
}


def _outcome(parser, value, param, ctx):
    try:
        return ("ok", parser.coerce(value, param=param, ctx=ctx))
    except typer.BadParameter:
        return ("bad", None)


@pytest.mark.parametrize("kind", ["str", "int", "bool", "path"])
def test_our_parsers_agree_with_typers_own(kind, tmp_path):
    """Differential: for every parameter of the kind, our parser and Typer's pydantic one accept the same values and
    give the same result, or both refuse."""
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from margindash_cli.cli.values import _Value

    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir").mkdir()
    paths = [str(tmp_path / "file.txt"), str(tmp_path / "dir"), str(tmp_path / "missing.csv"), "-", "rel/x.csv"]
    checked = 0
    params = tree_params()
    ctx = Context(
        typer.main.get_command(__import__("margindash_cli.cli", fromlist=["app"]).app), info_name="margindash"
    )
    for path, param in params:
        ours = param._runtime_param
        if not isinstance(ours, _Value) or ours.kind != kind:
            continue
        theirs = build_runtime_param(param.type_descriptor)
        values = paths if kind == "path" else SAMPLES[kind]
        for value in values:
            given = (value,) if param.nargs == -1 or param.multiple else value
            a, b = _outcome(ours, given, param, ctx), _outcome(theirs, given, param, ctx)
            assert a == b, f"{path} {param.name} {value!r}: ours {a}, Typer's {b}"
            checked += 1
    assert checked > 10


@pytest.fixture
def store(cli, tmp_path):
    log = tmp_path / "calls.jsonl"
    log.write_text(
        '{"timestamp": "2026-10-01T10:00:00Z", "customer_id": "acme", "vendor": "openai", "model": "gpt-4o",'
        ' "input_tokens": 1000, "output_tokens": 50}\n'
    )
    assert cli("ingest", log).exit_code == 0
    return log


BAD = [
    # a bad int
    (["events", "--limit", "abc"], "error: --limit 'abc' is not a whole number", "margindash events -h"),
    (["simulate", "--top", "x"], "error: --top 'x' is not a whole number", "margindash simulate -h"),
    (["report", "--top", "many"], "error: --top 'many' is not a whole number", "margindash report -h"),
    (["doctor", "--price-max-age-days", "0"], "error: --price-max-age-days '0' must be 1 or more", "doctor -h"),
    (["budget", "check", "--blocklist-ttl", "1h"], "error: --blocklist-ttl '1h' is not a whole number", "check -h"),
    # a bad choice (the commands' own check)
    (["report", "--format", "xml"], "error: unknown --format 'xml'", "use one of table"),
    (["events", "--format", "yaml"], "error:", "hint:"),
    # a missing argument, and an option without its value
    (["ingest"], "error: missing argument PATHS...", "usage: margindash ingest [OPTIONS] PATHS..."),
    (["budget", "set"], "error: missing argument NAME", "usage: margindash budget set [OPTIONS] NAME"),
    (["revenue", "import"], "error: missing argument FILE", "usage: margindash revenue import [OPTIONS] FILE"),
    (["events", "--limit"], "error: option '--limit' requires an argument", "margindash events -h"),
    # an unknown option, with Click's did-you-mean
    (["report", "--topp", "3"], "error: margindash report has no option --topp", "did you mean --top"),
    (["report", "trend", "--sincee", "2026-10-01"], "has no option --sincee", "did you mean --since?"),
    (["prices", "list", "--jsn"], "error: margindash prices list has no option --jsn", "did you mean --json?"),
    (["--dbb", "x", "report"], "error: margindash has no option --dbb", "did you mean --db?"),
    (["reprt"], "error: no such command 'reprt'", "did you mean report"),
    # a bad date
    (["report", "--since", "2026-13-01"], "error:", "YYYY-MM-DD"),
    (["events", "--since", "yesterdayish"], "error:", "hint:"),
    (["budget", "list", "--as-of", "31/10/2026"], "error:", "hint:"),
    # a path that must exist
    (["fx", "import", "nofile.csv"], "error: FILE 'nofile.csv' does not exist", "margindash fx import -h"),
    (["db", "path", "extra"], "error: got unexpected extra argument", "margindash db path -h"),
]


@pytest.mark.parametrize("args,error,hint", BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_every_usage_error_prints_in_one_style(cli, store, args, error, hint):
    result = cli(*args)
    assert result.exit_code == 2, (args, result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert err.startswith("error: ") and error in err, err
    lines = err.splitlines()
    assert any(line.startswith("hint: ") for line in lines) and hint in err, err
    assert "Usage:" not in err and "Try '" not in err and "Traceback" not in err, err
    assert "Input should be" not in err and "pydantic" not in err.lower(), err  # pydantic's words, gone
    assert result.stdout == ""


def test_a_group_without_its_subcommand_still_shows_its_help(cli):
    result = cli("budget")  # Click's NoArgsIsHelpError: the help, on stderr, exit 2 (as before)
    assert "Usage: margindash budget" in result.stderr and "error:" not in result.stderr
