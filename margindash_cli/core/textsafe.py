"""Log values printed as text, never as markup or terminal control (#16, #22 item 15).

A customer, feature, model, segment or tag comes from a log that anyone with write access to the app can
shape. Printed to a terminal it must stay text:
- Rich markup (`[/x]`, `[link=...]`) is never parsed: the consoles margindash prints with have markup off,
  and table cells and titles are handed over as `rich.text.Text` (see `render.table`).
- Control characters (ESC and the rest of C0, DEL, C1) and the bidirectional overrides that reorder a line
  are shown escaped (`\\x1b`, `\\u202e`), so no value can clear the screen, set the title, move the cursor
  or make a line read as something else. `safe` escapes a newline too (a value stays on one line);
  `safe_lines` keeps the newlines of our own multi-line messages.

Pure: no Rich import here, so any module may use it.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates and line/paragraph separators
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_UNSAFE_KEEP_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe(value: object) -> str:
    """`value` as one line of inert text: every control character escaped (`\\x1b`, `\\n`, `\\u202e`)."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def safe_lines(text: str) -> str:
    """As `safe`, but newlines stay: for messages that are ours and span lines."""
    return _UNSAFE_KEEP_NEWLINE.sub(_escape, text) if _UNSAFE_KEEP_NEWLINE.search(text) else text


# -- spreadsheet and Markdown cells ---------------------------------------------------------------------

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # a text cell starting with one is read as a formula (OWASP)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>!|~#])")  # GFM backslash-escapable punctuation that could make markup


def csv_formula_safe(value: str | None) -> str | None:
    """The OWASP rule alone: a leading single quote on a text that a spreadsheet would run as a formula."""
    if value is not None and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(value: object) -> str:
    """A CSV text cell (id, name, tag) that a spreadsheet shows as text: one starting with `= + - @`, a tab
    or a carriage return gets a leading single quote (the OWASP rule against formula injection).
    Only for text columns: numbers (a margin of -12.50) are written as they are."""
    text = "" if value is None else (value if isinstance(value, str) else str(value))
    if text.startswith(CSV_FORMULA_PREFIXES):
        text = "'" + text
    return safe(text)  # ESC and other controls shown escaped: a CSV is often looked at in a terminal


def md_text(value: object) -> str:
    """A Markdown table cell from a log value: control characters and newlines escaped (one line), and the
    punctuation that makes links, images, HTML, emphasis or a new column (`| [ ] ! < > * _`...) escaped."""
    text = safe("" if value is None else value)
    return _MD_SPECIAL.sub(r"\\\1", text)
