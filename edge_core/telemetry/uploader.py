"""Delivering sealed batches to the collector over HTTP.

Safety rules, each enforced here rather than left to callers:

* No connection unless telemetry is enabled with an endpoint: the endpoint is
  read from the outbox's own settings, never passed in, so a caller cannot
  send while the user has opted out.
* Every request has connect/read/write timeouts, so a stalling collector costs
  one timeout per attempt, never a hung app.
* Delivery is idempotent: the collector answers an identical re-sent batch
  with ``200 {"status": "duplicate"}``, which counts as delivered, so a batch
  whose acknowledgement was lost (crash, dropped connection) is neither lost
  nor stored twice. Only a well-formed acknowledgement naming the batch counts:
  a captive portal's ``200 OK`` page does not.
* With a certificate pin, every connection is checked against it before a
  batch is written (:mod:`edge_core.telemetry.transport`); a mismatch is a
  failed attempt (``pin_mismatch``), retried and finally dead-lettered.
* Refusals of the batch itself (4xx with a collector error code) dead-letter
  it at once; network errors, 5xx and anything unexpected are retried with the
  outbox's backoff until ``RetryPolicy.max_attempts``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.endpoint import batches_url
from edge_core.telemetry.errors import TelemetryDisabled
from edge_core.telemetry.outbox import DueBatch, Outbox
from edge_core.telemetry.transport import MAX_ANSWER_BYTES, Timeouts, client, failure_code, read_capped

MAX_ACK_BYTES = MAX_ANSWER_BYTES
_PERMANENT_STATUSES = frozenset({400, 401, 403, 409, 413, 415, 422})
__all__ = ["FlushReport", "Timeouts", "flush"]


@dataclass(frozen=True)
class FlushReport:
    sealed: int  # batches sealed from queued events by this flush
    delivered: int  # batches the collector now holds (accepted now or earlier)
    delivered_events: int
    failed_attempts: int  # attempts that failed (retried later or dead-lettered)
    dead_lettered: int  # batches moved to the DLQ by this flush
    pending: int  # batches still waiting for a retry when the flush returned
    purged: int = 0  # sent batches older than the retention, deleted by this flush


@dataclass(frozen=True)
class _Attempt:
    delivered: bool
    error: str = ""
    permanent: bool = False


def _answer(response: httpx.Response, body: bytes, batch_id: str) -> _Attempt:
    """Classify the collector's answer to one POST."""
    try:
        ack = json.loads(body)
    except ValueError:
        ack = None
    ack = ack if isinstance(ack, dict) else {}
    if response.is_success:
        if ack.get("status") in ("accepted", "duplicate") and ack.get("batch_id") == batch_id:
            return _Attempt(delivered=True)
        return _Attempt(delivered=False, error=f"bad_ack_{response.status_code}")
    code = ack.get("error")
    if (
        response.status_code in _PERMANENT_STATUSES
        and isinstance(code, str)
        and code.isidentifier()
    ):
        return _Attempt(delivered=False, error=f"refused:{code}", permanent=True)
    return _Attempt(delivered=False, error=f"http_{response.status_code}")


def _post(client: httpx.Client, url: str, batch: DueBatch) -> _Attempt:
    """POST one signed envelope; read at most ``MAX_ACK_BYTES`` of the answer."""
    try:
        with client.stream("POST", url, content=batch.envelope.encode("ascii")) as response:
            return _answer(response, read_capped(response), batch.batch_id)
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as error:  # InvalidURL: a host IDNA cannot encode
        return _Attempt(delivered=False, error=failure_code(error))


def flush(
    outbox: Outbox,
    device_key: DeviceKey,
    *,
    timeouts: Timeouts = Timeouts(),
    max_wait_s: float = 0.0,
    seal_all: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
) -> FlushReport:
    """Seal queued events, then send every due batch, retrying for up to ``max_wait_s``.

    ``seal_all`` seals even a batch below its size/age bounds (the user asked
    to flush); background flushes pass False. With ``max_wait_s`` 0 each due
    batch gets one attempt and failures are left scheduled for a later flush;
    a positive value sleeps until retries come due while they fit in it.
    ``should_stop`` is asked before each POST: once it says True (the app is
    closing) no new request starts, and what was not sent stays pending. Sent
    batches older than the retention are purged afterwards.
    Raises ``TelemetryDisabled`` (and connects to nothing) while opted out.
    """
    settings = outbox.settings()
    if not settings.enabled or not settings.endpoint:
        raise TelemetryDisabled(
            "telemetry is disabled; enable it with 'faceseal telemetry enable --endpoint URL'"
        )
    sealed = len(outbox.seal(device_key, force=seal_all))
    url = batches_url(settings.endpoint)
    deadline = outbox.clock() + max_wait_s
    delivered = delivered_events = failed = dead = 0
    with client(settings.pin_sha256, timeouts, outbox.enrolment_token()) as http:
        while not should_stop():
            due = outbox.due()
            for batch in due:
                if should_stop():
                    break
                attempt = _post(http, url, batch)
                if attempt.delivered:
                    outbox.mark_sent(batch.batch_id)
                    delivered += 1
                    delivered_events += batch.event_count
                    continue
                failed += 1
                state = outbox.mark_failed(
                    batch.batch_id, attempt.error, permanent=attempt.permanent
                )
                dead += state == "dead"
            if due:
                continue
            next_at = outbox.status().next_attempt_at
            if next_at is None or next_at > deadline:
                break
            time.sleep(max(0.0, next_at - outbox.clock()))
    purged = outbox.purge_sent()
    return FlushReport(
        sealed, delivered, delivered_events, failed, dead, outbox.status().pending_batches, purged
    )
