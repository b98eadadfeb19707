"""Whether this computer can draw colour emoji (a flag in a name), and what to say when it cannot.

FaceSeal ships no font: a colour emoji font is ~10 MB and every desktop
distribution packages one (Debian and Ubuntu ``fonts-noto-color-emoji``,
Fedora ``google-noto-emoji-color-fonts``), which the .deb and .rpm recommend.
Without one Qt draws an emoji as an empty box; the name is still stored and
matched exactly as typed, and the window says so where the name is typed.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

EMOJI_FONT_PACKAGES = "fonts-noto-color-emoji (Debian, Ubuntu) or google-noto-emoji-color-fonts (Fedora)"
REGIONAL_INDICATOR_A = 0x1F1E6
"""The first letter of the flag alphabet: a font drawing it draws flags (and, in practice, the other emoji)."""


def is_emoji(character: str) -> bool:
    code = ord(character)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF


@lru_cache(maxsize=1)
def emoji_font() -> str | None:
    """The family of an installed font that draws emoji, or None (asked of fontconfig once per process)."""
    for family in QFontDatabase.families():
        if QFontMetrics(QFont(family)).inFontUcs4(REGIONAL_INDICATOR_A):
            return family
    return None


def emoji_note(text: str) -> str | None:
    """What to say about ``text`` when it holds emoji this computer cannot draw, else None."""
    if not any(is_emoji(character) for character in text) or emoji_font() is not None:
        return None
    return ("This computer has no colour emoji font, so the emoji in this name show as empty boxes here; the name is "
            f"stored and matched exactly as typed. Installing {EMOJI_FONT_PACKAGES} shows them.")
