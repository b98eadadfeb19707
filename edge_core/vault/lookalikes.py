"""Names that could pass for another person's: invisible characters, and Unicode confusables (UTS #39).

``brad`` followed by a Hangul filler (U+3164) or a braille blank (U+2800),
or spelt with a Cyrillic soft sign (``Ьrad``), is shown as "brad" and is
another person. Two rules refuse such names:

* no default-ignorable code point (Unicode's ``Default_Ignorable_Code_Point``:
  the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors,
  the combining grapheme joiner, tag characters ...) and no character in
  :data:`BLANKS` (printable, not ignorable, yet drawn as nothing);
* no new name whose confusable skeleton (UTS #39 section 4, computed by ICU's
  ``SpoofChecker``, the Unicode Consortium's own implementation, with the
  confusables data of the ICU it links) equals an enrolled name's.

ICU is used rather than a table copied into FaceSeal: its data follows Unicode's
confusables.txt release by release.
"""

from __future__ import annotations

import icu

BLANKS = frozenset("\u2800")
"""Characters that are neither default-ignorable nor whitespace, yet render as nothing (BRAILLE PATTERN BLANK)."""

_IGNORABLE = icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT
_checker = icu.SpoofChecker()


def invisible_character(name: str) -> str | None:
    """The first character of ``name`` that shows nothing (``U+3164``, as people look it up), or None."""
    for char in name:
        if char in BLANKS or icu.Char.hasBinaryProperty(char, _IGNORABLE):
            return f"U+{ord(char):04X}"
    return None


def skeleton(name: str) -> str:
    """The UTS #39 skeleton of ``name``: equal for two strings that can be mistaken for one another."""
    return _checker.getSkeleton(0, name)


def lookalike(name: str, enrolled: list[str]) -> str | None:
    """The first of ``enrolled`` that ``name`` can be mistaken for (same skeleton, not the same name), or None."""
    mark = skeleton(name)
    return next((other for other in enrolled if other != name and skeleton(other) == mark), None)
