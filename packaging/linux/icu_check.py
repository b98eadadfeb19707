"""What Qt and PyICU ask ICU for, printed as JSON: run by packaging/slim.py with Qt's own ICU and with the bundle's
other one under it (slim.share_icu), and with the full and the cut ICU data, which must all give the same answers
(collation, case mapping, time-zone names, encoding names; the look-alike rule's skeletons and ignorable characters,
edge_core/vault/lookalikes.py)."""

import json

import icu
from PySide6.QtCore import QCollator, QDateTime, QLocale, QStringConverter, QTimeZone

english, german = QLocale("en_US"), QLocale("de_DE")
words = ["b", "A", "a", "B", "ä", "Zoë", "zoe", "Ångström", "10", "9", "é", "e"]
summer = QDateTime.fromString("2026-07-01T12:00:00Z", "yyyy-MM-ddTHH:mm:ssZ")
print(json.dumps({
    "collation": sorted(words, key=QCollator(english).sortKey),
    "collation_de": sorted(words, key=QCollator(german).sortKey),
    "upper": [english.toUpper("straße ǆ ﬁ"), german.toUpper("straße")],
    "lower": english.toLower("İSTANBUL ΣΑΣ"),
    "zones": [QTimeZone(name).displayName(summer, QTimeZone.NameType.LongName, english)
              for name in (b"Europe/Paris", b"America/New_York", b"Asia/Tokyo", b"UTC", b"Europe/Istanbul",
                           b"America/Argentina/Buenos_Aires", b"Asia/Kolkata", b"Pacific/Chatham")],
    "utf8": QStringConverter.nameForEncoding(QStringConverter.Encoding.Utf8),
    "skeletons": [icu.SpoofChecker().getSkeleton(0, name)
                  for name in ("brad", "Ьrad", "раураl", "ℌello", "ＡＢＣ")],
    "ignorable": [icu.Char.hasBinaryProperty(char, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT)
                  for char in "\u3164\u115f\u200b\u2800a"],
}, ensure_ascii=False))
