"""The collector's own typed errors (a refused envelope is ``edge_core.telemetry.errors.EnvelopeError``).

Every message here is safe to print or log: database URLs appear only with
their password masked, and operator tokens never appear at all.
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base class of the collector's errors; ``str()`` is one line, safe to show."""


class BadDatabaseUrl(CollectorError):
    """``--db`` is neither an sqlite file path nor a ``postgresql://`` URL."""


class DatabaseUnavailable(CollectorError):
    """The database cannot be opened or reached (the message masks any password)."""


class SchemaTooNew(CollectorError):
    """The database was migrated by a newer collector than this one."""


class BadDuration(CollectorError):
    """A ``--since`` / ``--dead-after`` value that is neither a duration nor a UTC date."""


class Refusal(CollectorError):
    """A request the collector refuses for its own reasons (not the envelope's): ``code`` and ``detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
