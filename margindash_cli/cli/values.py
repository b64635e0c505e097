"""Option and argument values parsed with the standard library, and every usage error in one style.

Typer 0.29 parses each parameter through a pydantic TypeAdapter that it builds on first use, so every command paid
for importing pydantic (about 60 ms) before doing anything (#20). Our parameters are of five plain types (str, int
with an optional minimum, bool, Path, and lists of str), which need no pydantic: `install` gives each such parameter
of the built command tree a parser of its own, in the slot Typer fills lazily with its adapter (`_runtime_param`,
checked by tests/cli/test_values.py against Typer's own results). A parameter of any other type keeps Typer's.

`usage_error` turns a Click usage error (an unknown option, a missing argument, a bad value) into the project's
`error:`/`hint:` lines, exit 2, as the core's own `UsageError`s print (#17: Click's `Usage:` preamble is gone).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, get_args, get_origin

import typer

TRUE_WORDS = ("1", "true", "t", "yes", "y", "on")  # a bool given as text (an env var): what Click accepts
FALSE_WORDS = ("0", "false", "f", "no", "n", "off", "")


def install(command: Any) -> None:
    """Give every str/int/bool/Path/list[str] parameter of `command` and its subcommands a stdlib parser."""
    for param in command.params:
        _install_one(param)
    if hasattr(command, "get_help_option"):  # -h/--help is made on first use, with the context's names
        made = command.get_help_option

        def get_help_option(ctx: Any, made: Any = made) -> Any:
            option = made(ctx)
            if option is not None:
                _install_one(option)
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        install(sub)


def _install_one(param: Any) -> None:
    if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
        parser = _parser_for(param)
        if parser is not None:
            param._runtime_param = parser


def _parser_for(param: Any) -> _Value | None:
    desc = param.type_descriptor
    info = desc.parameter_info
    if info.parser is not None or desc.is_choice or desc.is_file or getattr(info, "clamp", False):
        return None
    annotation, many = desc.annotation, False
    if get_origin(annotation) is list:
        (annotation,), many = get_args(annotation), True
    if annotation is Path or (annotation is str and desc.is_path):
        kind = "path"
    elif annotation in (str, int, bool):
        kind = annotation.__name__
    else:
        return None
    if kind == "path" and info.path_type not in (None, Path, str):
        return None
    return _Value(kind, many, info, as_path=annotation is Path)


class _Value:
    """The parser of one parameter: what Typer's RuntimeParam.coerce does, for one of our plain types."""

    def __init__(self, kind: str, many: bool, info: Any, *, as_path: bool):
        self.kind, self.many, self.info, self.as_path = kind, many, info, as_path

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if multi and isinstance(value, str):
            raise typer.BadParameter("Value must be an iterable.", ctx=ctx, param=param)
        if self.many:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [self.one(item, param, ctx) for item in items]
        return self.one(value, param, ctx)

    def one(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        name = param_label(param)
        if self.kind == "str":
            return str(value)
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
            raise typer.BadParameter(f"{name} {value!r} is not true or false", ctx=ctx, param=param)
        if self.kind == "int":
            return self._int(value, name, param, ctx)
        return self._path(value, name, param, ctx)

    def _int(self, value: Any, name: str, param: Any, ctx: Any) -> int:
        low, high = self.info.min, self.info.max
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text)
            except ValueError:
                raise typer.BadParameter(f"{name} {value!r} is not a whole number", ctx=ctx, param=param) from None
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{low} or more" if high is None else f"{high} or less" if low is None else f"from {low} to {high}"
            raise typer.BadParameter(f"{name} {value!r} must be {bounds}", ctx=ctx, param=param)
        return number

    def _path(self, value: Any, name: str, param: Any, ctx: Any) -> Any:
        info = self.info
        path = Path(value) if self.as_path else str(value)
        if info.file_okay and info.allow_dash and str(path) == "-":
            return path
        where = os.path.realpath(path) if info.resolve_path else path
        try:
            mode = os.stat(where).st_mode
        except OSError:
            if info.exists:
                raise typer.BadParameter(f"{name} {str(value)!r} does not exist", ctx=ctx, param=param) from None
            return Path(where) if self.as_path else where
        if not info.file_okay and stat.S_ISREG(mode):
            raise typer.BadParameter(f"{name} {str(value)!r} is a file, not a folder", ctx=ctx, param=param)
        if not info.dir_okay and stat.S_ISDIR(mode):
            raise typer.BadParameter(f"{name} {str(value)!r} is a folder, not a file", ctx=ctx, param=param)
        if info.readable and not os.access(where, os.R_OK):
            raise typer.BadParameter(f"{name} {str(value)!r} cannot be read (permissions)", ctx=ctx, param=param)
        if info.writable and not os.access(where, os.W_OK):
            raise typer.BadParameter(f"{name} {str(value)!r} cannot be written (permissions)", ctx=ctx, param=param)
        return Path(where) if self.as_path else where


def param_label(param: Any) -> str:
    """How an error names a parameter: its first long option (`--limit`), or an argument's metavar (`FILE`)."""
    if getattr(param, "param_type_name", None) == "argument":
        return param.metavar or (param.name or "value").upper()
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or list(param.opts) or [param.name])[0]


# -- usage errors --


def is_help_request(exc: BaseException) -> bool:
    """`margindash budget` with no subcommand shows its help: a UsageError that is no error."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def usage_error_lines(exc: Any, where: str = "margindash") -> tuple[str, str]:
    """The `error:` message and the `hint:` of a Click usage error, in the words the core's UsageErrors use.
    `where` names the command when the error does not (Click's "requires an argument" carries no context)."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else where
    help_hint = f"`{path} -h` lists what it takes"
    kind = type(exc).__name__
    if kind == "NoSuchOption":
        near = sorted(exc.possibilities or [])
        if not near and ctx is not None:
            import difflib  # lazy: start-up

            options = [o for p in ctx.command.params for o in getattr(p, "opts", []) if o.startswith("--")]
            near = difflib.get_close_matches(exc.option_name, options, n=3)
        hint = f"did you mean {_either(near)}? {help_hint}" if near else help_hint
        return f"{path} has no option {exc.option_name}", hint
    if kind == "MissingParameter":
        what = param_label(exc.param) if exc.param is not None else "a value"
        usage = ctx.get_usage().replace("Usage: ", "", 1) if ctx is not None else path
        noun = "argument" if getattr(exc.param, "param_type_name", "") == "argument" else "option"
        return f"missing {noun} {what}", f"usage: {usage}; {help_hint}"
    if kind == "BadParameter":
        message = exc.message
        if exc.param is not None and not message.startswith(param_label(exc.param)):
            message = f"{param_label(exc.param)}: {_lower_first(message.rstrip('.'))}"
        return message, help_hint
    message = _lower_first(exc.format_message().rstrip("."))
    if "Did you mean" in message:  # Typer's "No such command 'reprt'. Did you mean 'report', 'export'?"
        message, _, near = message.partition(". Did you mean ")
        return message, f"did you mean {_either(n.strip(chr(39)) for n in near.rstrip('?').split(', '))}? {help_hint}"
    return message, help_hint


def _either(names: Any) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
