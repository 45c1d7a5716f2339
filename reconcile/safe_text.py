"""Text from files and servers shown on a terminal: every control character made visible.

Why: a spreadsheet cell, a sheet name, a roster name or a server's message can hold escape
sequences (``ESC [2J`` clears the screen, ``ESC ]8;;URL`` makes a link, ``ESC ]0;`` retitles
the window) or characters that reverse the direction of the text after them. Printed as
they are, they act on the terminal of whoever runs ``reconcile check``. Shown as ``\\x1b``,
``\\u202e``..., they are inert and still tell HR what is in the cell.
"""

from __future__ import annotations

import re

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: C0 and C1 controls, DEL, and the Unicode marks that reorder or hide text.
_ACTIVE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def inert(value: object) -> str:
    """``value`` as text, with every control or direction character written as an escape."""
    return _ACTIVE.sub(_escape, str(value))


def _escape(found: re.Match[str]) -> str:
    character = found.group()
    if character in _ESCAPES:
        return _ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
