"""What every command's output shares: the one --json path (`emit_json`, streamed for an iterator; `emit_json_lines`
for --nl), the safe consoles, `table` and the one fit-to-terminal routine (`print_fitted`), the CSV and Markdown
writers, money cells and sparklines. Reads result models only; never the store. The tables of each command are in
render/<command>.py.

Only the payload goes to stdout; progress, warnings and hints go to stderr so output pipes cleanly.
Money arrives here as exact values and is rounded once, for display.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from margindash_cli.core.money import table_usd
from margindash_cli.core.textsafe import md_text, safe, safe_lines

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

Scale = tuple[Decimal, Decimal]  # the (low, high) of a table's sparklines
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # a style escape in a drawn frame line


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_json(payload: Any) -> str:
    return orjson.dumps(payload, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def _payload(result: Any) -> Any:
    to_json = getattr(result, "to_json", None)
    return to_json() if callable(to_json) else result


def emit_json(result: Any) -> None:
    """The one --json path of every command: a result's `to_json()` (its one spelling), or a JSON value as it is.
    A payload that is an iterator is streamed: written as a JSON array one item at a time, as it is read (the same
    text as the whole list at once), so memory stays flat in its length (`events --limit 0 --json`)."""
    payload = _payload(result)
    if not isinstance(payload, Iterator):
        sys.stdout.write(dumps_json(payload) + "\n")
        return
    first = True
    for item in payload:
        # JSON text never holds a raw newline inside a string, so indenting every line nests the item one level
        sys.stdout.write(("[\n  " if first else ",\n  ") + dumps_json(item).replace("\n", "\n  "))
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")


def emit_json_lines(result: Any) -> None:
    """--nl: one compact JSON object per line, as sqlite-utils' --nl, each written as it is read (a payload that is
    one object is one line)."""
    payload = _payload(result)
    items = payload if isinstance(payload, (Iterator, list)) else [payload]
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    for item in items:
        sys.stdout.write(orjson.dumps(item, default=_default, option=option).decode())


def _console_class() -> type[Console]:
    from rich.console import Console  # lazy: start-up

    class SafeConsole(Console):
        """A console that never reads markup and shows control characters escaped, whatever it is handed
        (defence in depth: cells and interpolated log values are made safe where they are built)."""

        def render_str(self, text: str, **kwargs: Any) -> Text:
            kwargs["markup"] = False
            return super().render_str(safe_lines(text), **kwargs)

    return SafeConsole


def stdout_console() -> Console:
    return _console_class()(highlight=False, soft_wrap=False, markup=False)


def stderr_console() -> Console:
    return _console_class()(stderr=True, highlight=False, markup=False)


def warn(message: str) -> None:
    print(f"warning: {safe_lines(message)}", file=sys.stderr)


def text_cell(value: object) -> Text | None:
    """A table cell (or title) that is text only: a log value is never read as markup nor sent as control."""
    from rich.text import Text  # lazy: start-up

    if value is None or isinstance(value, Text):
        return value
    return Text(safe(value))


def table(
    title: str | None,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    *,
    footer: list[str] | None = None,
    caption: str | None = None,
) -> Table:
    """A Rich table; columns are (header, justify). Cells are already formatted text (or Rich Text); every
    string (title, caption, header, cell, footer) goes in as plain text (`text_cell`)."""
    from rich.table import Table  # lazy: start-up

    t = Table(title=text_cell(title), caption=text_cell(caption), show_footer=footer is not None, header_style="bold")
    for i, (header, justify) in enumerate(columns):
        # Ids and names (left columns) are never cut with an ellipsis: a value too long for its column folds onto
        # the next line whole, so it can still be read and copied (#17).
        t.add_column(
            text_cell(header),
            justify=justify,
            footer=text_cell(footer[i]) if footer else "",
            no_wrap=justify == "right",
            overflow="ellipsis" if justify == "right" else "fold",
        )
    for row in rows:
        t.add_row(*(text_cell(c) for c in row))
    return t


def print_fitted(
    console: Console,
    title: str | None,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    *,
    footer: list[str] | None = None,
    caption: str | None = None,
    drop: tuple[str, ...] = (),
    every: str = "--format csv",
    what: str = "column",
) -> list[str]:
    """Print a table that fits the terminal: columns named in `drop` are left out, in that order, until
    it does (a caption says which, and that `every` has every `what`), rather than squeezing every column into
    illegible slivers. The one fit-to-terminal routine of every table. Returns the headers it left out (so a note
    about a hidden column is left out too).

    When the table is still too wide with every `drop` column gone, its id and name columns fold (each value whole,
    over two lines or more) and amounts keep their width (`_folded_widths`): nothing is cut with an ellipsis. So a
    cell wraps only then (a budget table: one line per budget while dropping columns can make it fit).

    The width is the terminal's (or COLUMNS); when stdout is not a terminal and COLUMNS is unset the table takes
    its full width (a pipe or a file gets every column). A table that fits at its natural width is drawn by
    `_draw_plain`, row by row, rather than by Rich cell by cell (5,000 rows: 0.2 s instead of 10 s, #17)."""
    limit = fit_width(console)
    keep = list(range(len(columns)))
    hidden: list[str] = []
    headers = [h for h, _ in columns]
    cells = [[_plain_cell(c) for c in row] for row in rows]
    natural = _natural_widths(columns, cells, footer)
    for name in (None, *drop):
        if name is not None and name in headers:
            keep.remove(headers.index(name))
            hidden.append(name)
        if limit is None or sum(natural[i] + 3 for i in keep) + 1 <= limit:
            break
    note = f"hidden to fit the terminal: {', '.join(hidden)} ({every} has every {what})" if hidden else None
    full_caption = "; ".join(c for c in (caption, note) if c) or None
    if limit is None or sum(natural[i] + 3 for i in keep) + 1 <= limit:
        _draw_plain(
            console,
            title,
            [columns[i] for i in keep],
            [[r[i] for i in keep] for r in cells],
            [natural[i] for i in keep],
            footer=[footer[i] for i in keep] if footer else None,
            caption=full_caption,
        )
        return hidden
    shown = [columns[i] for i in keep]
    widths = _folded_widths(shown, [natural[i] for i in keep], limit)
    t = table(
        title,
        shown,
        [[row[i] for i in keep] for row in rows],
        footer=[footer[i] for i in keep] if footer else None,
        caption=full_caption,
    )
    for col, w in zip(t.columns, widths):
        col.width = w
    needed = sum(w + 3 for w in widths) + 1
    if needed <= console.width:
        console.print(t)
        return hidden
    # Even folded, the columns that are never cut (amounts) are wider than the terminal: the table is drawn wider
    # and the terminal wraps its lines, rather than cutting a value (#17).
    _console_like(console, console.file, needed).print(t)
    return hidden


def _console_like(console: Console, file: Any, width: int) -> Console:
    """A console writing to `file` at `width` with `console`'s colours and terminal-ness, and no markup,
    highlighting or soft wrap: a table drawn wider than the terminal, or a frame drawn to a buffer."""
    return _console_class()(
        file=file,
        width=width,
        color_system=console.color_system,  # type: ignore[arg-type]
        force_terminal=console.is_terminal,
        no_color=console.no_color,
        highlight=False,
        soft_wrap=False,
        markup=False,
        legacy_windows=False,
    )


FOLD_FLOOR = 12  # the narrowest an id or name column is folded to (less if its widest value is shorter)


def _folded_widths(columns: list[tuple[str, str]], natural: list[int], limit: int) -> list[int]:
    """The column widths of a table too wide for `limit` once every column it may drop is gone: amounts (right
    columns) keep their natural width, never cut; the id and name columns (left) fold, the widest first, down to
    FOLD_FLOOR each. Rich's own narrowing shrinks every column evenly at the last, down
    to none: `reconcile` drew its provider, day and model columns zero wide and cut its amounts (#17)."""
    widths = list(natural)
    foldable = [justify != "right" for _h, justify in columns]
    floor = [min(n, FOLD_FLOOR) for n in natural]
    excess = sum(w + 3 for w in widths) + 1 - limit
    while excess > 0:
        candidates = [i for i, ok in enumerate(foldable) if ok and widths[i] > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def stdout_is_terminal() -> bool:
    """Is stdout a terminal (Rich's test: also TTY_COMPATIBLE=1 or FORCE_COLOR)? A table on a terminal is capped
    (`--top 50`); a pipe or a file gets every row."""
    return stdout_console().is_terminal


def fit_width(console: Console) -> int | None:
    """The width a table must fit: COLUMNS when set, else the terminal's; None (its full width) when stdout is not
    a terminal and COLUMNS is unset."""
    import os  # lazy: start-up

    if os.environ.get("COLUMNS", "").isdigit() or console.is_terminal:
        return console.width
    return None


def _plain_cell(cell: Any) -> tuple[str, str | None]:
    """A cell as (its one line of safe text, its Rich style or None)."""
    if cell is None:
        return "", None
    if isinstance(cell, str):
        return safe(cell), None
    plain = getattr(cell, "plain", None)
    if plain is None:
        return safe(cell), None
    style = cell.style
    return safe(plain), (str(style) or None) if style else None


def _cell_len(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # lazy: start-up

    return cell_len(text)


def _natural_widths(
    columns: list[tuple[str, str]], cells: list[list[tuple[str, str | None]]], footer: list[str] | None
) -> list[int]:
    """Each column's width with no cell wrapped: its widest header, cell or footer."""
    widths = [_cell_len(safe(h)) for h, _ in columns]
    if footer:
        widths = [max(w, _cell_len(safe(f))) for w, f in zip(widths, footer)]
    for row in cells:
        for i, (text, _style) in enumerate(row):
            n = len(text) if text.isascii() else _cell_len(text)
            if n > widths[i]:
                widths[i] = n
    return widths


def _draw_plain(
    console: Console,
    title: str | None,
    columns: list[tuple[str, str]],
    cells: list[list[tuple[str, str | None]]],
    widths: list[int],
    *,
    footer: list[str] | None,
    caption: str | None,
) -> None:
    """Draw a table whose cells all fit on one line: Rich draws its frame (title, header, footer, caption) with no
    body rows, at the natural column widths, and the body rows are written here in Rich's own layout, so the output
    is the same as Rich's table to the byte."""
    import io  # lazy: start-up

    from rich.text import Text  # lazy: start-up

    frame = table(title, columns, [], footer=footer, caption=caption)
    for col, w in zip(frame.columns, widths):
        col.width = w
    buf = io.StringIO()
    frame_console = _console_like(console, buf, sum(w + 3 for w in widths) + 1)
    frame_console.print(frame)
    styles: dict[str, tuple[str, str]] = {}

    def styled(text: str, style: str | None) -> str:
        if style is None or frame_console.color_system is None:
            return text
        if style not in styles:
            with frame_console.capture() as cap:
                frame_console.print(Text("X", style=style), end="")
            styles[style] = tuple(cap.get().split("X", 1))  # type: ignore[assignment]
        before, after = styles[style]
        return before + text + after

    right = [j == "right" for _h, j in columns]
    lines = []
    for row in cells:
        parts = []
        for (text, style), w, r in zip(row, widths, right):
            pad = " " * (w - (len(text) if text.isascii() else _cell_len(text)))
            parts.append(" " + styled(pad + text if r else text + pad, style) + " ")  # Rich styles the padding too
        lines.append("│" + "│".join(parts) + "│\n")
    frame_lines = buf.getvalue().splitlines(keepends=True)
    at = next(i for i, line in enumerate(frame_lines) if _ANSI.sub("", line).startswith("┡")) + 1  # under the header
    console.file.write("".join(frame_lines[:at] + lines + frame_lines[at:]))
    console.file.flush()


def write_csv(records: list[dict[str, Any]], fieldnames: list[str]) -> None:
    """CSV rows; the caller has made every text cell safe (`textsafe.csv_text`) and left numbers as they are."""
    import csv  # lazy: start-up

    writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})


def write_markdown(
    records: list[dict[str, Any]], headers: list[str], numeric: set[str], *, note: str | None = None
) -> None:
    """A GitHub-flavoured Markdown table; `numeric` columns are right-aligned. Cells arrive formatted; any
    that is not is escaped here (`textsafe.md_text`), so no value adds a column, a link or an image."""
    sys.stdout.write("| " + " | ".join(headers) + " |\n")
    sys.stdout.write("|" + "|".join("---:" if h in numeric else "---" for h in headers) + "|\n")
    for r in records:
        sys.stdout.write(
            "| "
            + " | ".join("" if r.get(h) is None else md_text(r[h]) if h not in numeric else str(r[h]) for h in headers)
            + " |\n"
        )
    if note:
        sys.stdout.write(f"\n{md_text(note)}\n")


def display_money(amount: Decimal) -> str:
    """A Decimal USD amount for a table (see money.table_usd): cents, `<$0.01` under a cent."""
    from margindash_cli.core.money import usd_to_pico  # lazy: start-up

    return table_usd(usd_to_pico(amount))


def red_if_negative(text: str, value: Decimal | int | None) -> str | Text:
    from rich.text import Text  # lazy: start-up

    return Text(text, style="red") if value is not None and value < 0 else text


SPARK = "▁▂▃▄▅▆▇█"  # sparkline levels, lowest to highest


def spark_scale(series: list[list[Decimal | None]]) -> Scale | None:
    """The one (low, high) scale of every sparkline of a table: the min and max of all their values."""
    present = [v for values in series for v in values if v is not None]
    if not present:
        return None
    return min(present), max(present)


def spark_level(value: Decimal, scale: Scale) -> int:
    lo, hi = scale
    if hi == lo:
        return len(SPARK) // 2
    return int((value - lo) * (len(SPARK) - 1) / (hi - lo) + Decimal("0.5"))


def sparkline(values: list[Decimal | None], scale: Scale | None = None) -> str:
    """The shape of a series on `scale` (default: its own min to max); `·` where a value is missing.

    A table passes one scale for all its rows (`spark_scale`), so 99.8% -> 99.6% draws flat next to
    33% -> -42%, and says the scale and where zero falls in its caption (`spark_caption`)."""
    scale = scale or spark_scale([values])
    return "".join("·" if v is None else SPARK[spark_level(v, scale)] for v in values)


def spark_caption(scale: Scale | None) -> str:
    """'sparkline scale: -42.4% (▁) to 99.8% (█), 0% = ▂' (the zero line, when the scale spans it)."""
    if scale is None:
        return "sparkline: no period has revenue"
    lo, hi = scale
    text = f"sparkline scale for every row: {lo:.1f}% ({SPARK[0]}) to {hi:.1f}% ({SPARK[-1] if hi != lo else SPARK[len(SPARK) // 2]})"
    if lo < 0 < hi:
        text += f", 0% = {SPARK[spark_level(Decimal(0), scale)]}"
    return text


def names_text(names: list[str], limit: int = 5) -> str:
    if not names:
        return "none"
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit} more)" if len(names) > limit else "")
