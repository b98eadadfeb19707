"""What Qt asks ICU for, printed as JSON: run by packaging/slim.py with the full and the cut ICU data,
which must give the same answers (collation, case mapping, time-zone names, encoding names)."""

import json

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
              for name in (b"Europe/Paris", b"America/New_York", b"Asia/Tokyo", b"UTC")],
    "utf8": QStringConverter.nameForEncoding(QStringConverter.Encoding.Utf8),
}, ensure_ascii=False))
