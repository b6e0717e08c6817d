"""Text from outside (a name typed at the open front door) written where a
person reads it: a spreadsheet must not run it, a terminal must not obey it."""
from __future__ import annotations

import unicodedata

# How a cell a spreadsheet would run as a formula begins (OWASP's list).
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> object:
    """A value as a CSV cell: a list joined with `;`, none as empty, and text
    written like a formula kept as text (a leading ')."""
    text = ";".join(value) if isinstance(value, list) else ("" if value is None else value)
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA) else text


def on_terminal(text: str) -> str:
    """Control characters (an escape sequence retitling or clearing the
    terminal) shown as what they are, not obeyed."""
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text)
