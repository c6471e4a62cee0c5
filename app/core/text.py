"""The one rule for text people type (names, SKUs, descriptions, search terms, login emails).

Refused: control characters (C0, DEL, C1), the line and paragraph separators, the bidirectional embeddings,
overrides and isolates (U+202A-U+202E, U+2066-U+2069: they make a name read differently from what it holds),
U+FEFF, private-use and surrogate code points, and code points Unicode has not assigned (as of the Python that
runs: Unicode 14.0 for Python 3.11). Letters of every script, combining marks, emoji and their joiners (U+200D)
pass. Descriptions may also hold line breaks and tabs.
"""

import re
import unicodedata

# A regular-expression character class body, with escapes that both Python's `re` and pydantic's Rust engine read,
# so the OpenAPI document states the same rule the service applies. Surrogates are not listed: no UTF-8 text
# can hold one, and pydantic refuses them before any pattern runs.
_ALWAYS = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ue000-\uf8ff\U000f0000-\U0010ffff"
REFUSED = r"\x00-\x1f" + _ALWAYS
REFUSED_BESIDE_LINE_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f" + _ALWAYS

_REFUSED = re.compile(f"[{REFUSED}\ud800-\udfff]")


def unassigned(text: str) -> bool:
    """Whether `text` holds a code point Unicode has not assigned (noncharacters such as U+FFFF included)."""
    return not text.isascii() and any(unicodedata.category(char) == "Cn" for char in text)


def refused(text: str) -> bool:
    """Whether `text` breaks the rule (line breaks and tabs included)."""
    return _REFUSED.search(text) is not None or unassigned(text)
