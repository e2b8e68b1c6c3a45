"""What free text a person writes (an override's reason, an actor's name) may hold.

Such text is shown in the audit trail, on the status page and in log lines, so nothing in it may split a
line, hide text or reorder it: control characters (C0, DEL and C1), format characters (zero-width spaces,
bidi marks, word joiners, ...), line and paragraph separators and lone surrogates are refused, and at
least one character must be visible. Everything else is data: quotes, shell characters, accents, emoji.
"""

from __future__ import annotations

import unicodedata

# Bidi embeddings, overrides and isolates reorder how the audit trail displays text ("Trojan Source").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The zero-width joiner is a format character too, but it glues emoji sequences (👩‍💻, 🏳️‍🌈); alone it
# shows nothing, which the visible-character rule catches.
_JOINER = "\u200d"
# Letters and symbols by category that nevertheless draw nothing (Hangul fillers, the blank Braille cell).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def problem(text: str) -> str | None:
    """Why `text` may not be recorded (its first bad character and where), or None when it may."""
    for position, char in enumerate(text, 1):
        category = unicodedata.category(char)
        where = f"{_describe(char)} at position {position}"
        if category == "Cc":
            return f"contains control characters ({where}); write it on one line, without tabs or escapes"
        if char in BIDI_CONTROLS:
            return f"contains bidirectional control characters ({where}); they reorder how the text is displayed"
        if category in ("Cf", "Cs", "Zl", "Zp") and char != _JOINER:
            return f"contains invisible or line-breaking characters ({where}); they can hide or disguise text"
    if not any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK for c in text):
        return "has no visible character"
    return None


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")
