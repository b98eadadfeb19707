"""Telemetry's typed errors.

Each message is one line that is safe to show and to log: it never carries the
device seed, an event's offending value (which could be a name or an embedding
that somebody tried to send) or a response body from a remote server.
"""

from __future__ import annotations

from edge_core.errors import FaceSealError, UsageError


class TelemetryError(FaceSealError):
    """Base of telemetry problems that are not the caller's input."""


class InvalidEndpoint(UsageError):
    """The collector URL is not an http(s) URL with a host (or carries credentials)."""


class InvalidPin(UsageError):
    """A certificate pin is not a SHA-256 digest (``sha256//BASE64`` or 64 hex digits)."""


class InvalidDeliveryOption(UsageError):
    """A delivery option (schedule, retention, pin with plain http) is out of its bounds."""


class UnknownBatch(UsageError):
    """No dead-lettered batch has the id the user named."""


class TelemetryDisabled(TelemetryError):
    """An action that needs the network was asked for while telemetry is off."""


class ForbiddenEvent(UsageError):
    """An event is outside the allow-listed vocabulary; the message names no value."""


class OutboxBusy(TelemetryError):
    """The connection already has an open transaction, so the outbox cannot make its own.

    The outbox commits each change atomically with BEGIN IMMEDIATE / COMMIT; it
    refuses to run inside a caller's transaction rather than commit the caller's
    half-done work by surprise.
    """


class EnvelopeError(TelemetryError):
    """A batch envelope failed verification; ``code`` is a stable machine-readable reason.

    The collector maps each code to an HTTP status, and tests assert on codes,
    not on message wording.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ExportFailed(UsageError):
    """The export file could not be written (bad path, no permission, full disk)."""
