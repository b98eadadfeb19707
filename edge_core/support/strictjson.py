"""JSON read the one way both HTTP APIs read it: UTF-8 without a BOM, no repeated key, no NaN or Infinity.

Python's ``json`` keeps the last of two equal keys, where other parsers keep
the first: a body saying ``{"confirm": false, "confirm": true}`` means
different things to a proxy or log reader and to the server. Refusing it, and
anything not in UTF-8, leaves one reading of every accepted body.
"""

from __future__ import annotations

import json


class NotStrictJson(ValueError):
    """The bytes are not one strict JSON document; the message says why, without echoing the body."""


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise NotStrictJson("a JSON object repeats a key")
    return dict(pairs)


def _refuse_constant(name: str) -> object:
    raise NotStrictJson(f"{name} is not JSON")


def loads(body: bytes) -> object:
    """The document ``body`` holds; raises :class:`NotStrictJson` for anything else."""
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys,
                          parse_constant=_refuse_constant)
    except NotStrictJson:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotStrictJson("the body is not a JSON document in UTF-8") from None
