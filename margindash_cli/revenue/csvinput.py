"""Reading a user's CSV file (`revenue import`, `fx import`): rows as dicts with their line number, and every
way a file can be malformed turned into an InputError naming the file, the line and the field.

- A row with more fields than the header is an error (the values would otherwise be dropped or misread).
- A field longer than MAX_FIELD_CHARS (128 KiB, the csv module's limit) is an error, not a traceback.
- A value holding a control character (NUL, ESC, a newline inside quotes...) is an error: ids are printed
  and stored as given, and a NUL would silently end them in some tools.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator

from margindash_cli.errors import InputError

MAX_FIELD_CHARS = 131_072  # the csv module's default field limit (128 KiB)
FIX_HINT = "fix the row and import again; nothing was imported"


def field_error(filename: str, line: int, field: str, why: str) -> InputError:
    return InputError(f"{filename}, line {line}, field {field}: {why}", FIX_HINT)


def has_control(value: str) -> str | None:
    """The name of the first control character in `value` (e.g. 'NUL'), else None."""
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            return {"\x00": "NUL", "\x1b": "ESC", "\n": "a newline", "\r": "a carriage return", "\t": "a tab"}.get(
                ch, f"U+{ord(ch):04X}"
            )
    return None


def read_rows(text: str, filename: str) -> tuple[set[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header names lower-cased, rows as (line, {name: stripped value})). Blank rows are skipped. Raises
    InputError for a malformed header, an extra field, an oversized field or a control character."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        names = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(f"{filename}, line 1: the header cannot be read ({exc})", FIX_HINT) from None
    header = [(f or "").strip().lower() for f in names]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                why = (
                    f"longer than {MAX_FIELD_CHARS // 1024} KiB"
                    if "field larger" in str(exc)
                    else f"not valid CSV ({exc})"
                )
                # the reader has not counted the line it failed in
                raise InputError(f"{filename}, line {reader.line_num + 1}: a field is {why}", FIX_HINT) from None
            line = reader.line_num
            if None in raw:
                extra = raw[None]
                raise field_error(
                    filename,
                    line,
                    f"#{len(header) + 1}",
                    f"{len(extra)} more field(s) than the header's {len(header)} columns",
                )
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            for k, v in row.items():
                bad = has_control(v)
                if bad:
                    raise field_error(filename, line, k or "(unnamed)", f"contains a control character ({bad})")
            if any(row.values()):
                yield line, row

    return set(header), rows()
