"""The HTTP client every telemetry connection uses, certificate pinning, and the health check.

One place builds the client, so every connection (a batch, the health check
at enable) gets the same rules: timeouts, no redirects, no proxy variables or
``.netrc``, and, when the user pinned the collector's key, the pin checked on
every TLS connection right after the handshake and before a byte of a batch
is written. With a pin the pin replaces the certificate authorities (so a
collector with a self-signed certificate works): only a server holding the
pinned key can complete the handshake. Without a pin, https is verified
against the usual certificate authorities and the host name.
"""

from __future__ import annotations

import hmac
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from edge_core.telemetry.endpoint import health_url, pin_of_certificate


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits in seconds (connect, and each read/write of the socket)."""

    connect_s: float = 5.0
    io_s: float = 10.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.io_s, connect=self.connect_s, pool=self.connect_s)


class PinMismatch(ssl.SSLError):
    """The server's certificate does not carry the pinned public key (the message names no key)."""


class _PinnedContext(ssl.SSLContext):
    """A TLS client context that accepts exactly one public key, checked after every handshake."""

    pin: str = ""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        der = wrapped.getpeercert(binary_form=True)
        if not der or not hmac.compare_digest(pin_of_certificate(der), self.pin):
            wrapped.close()
            raise PinMismatch("the collector's certificate does not carry the pinned public key")
        return wrapped


def tls_context(pin: str | None) -> ssl.SSLContext | bool:
    """What httpx verifies with: the pinned key, or the certificate authorities (``True``)."""
    if not pin:
        return True
    context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin, checked in wrap_socket, is the verification
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.pin = pin
    return context


ENROLMENT_HEADER = "X-FaceSeal-Enrolment"
"""Where a device presents its enrolment token to a collector that asks new devices for one."""


def client(pin: str | None, timeouts: Timeouts = Timeouts(), enrolment_token: str | None = None) -> httpx.Client:
    headers = {"Content-Type": "application/json", "User-Agent": "faceseal-telemetry/1"}
    if enrolment_token:
        headers[ENROLMENT_HEADER] = enrolment_token
    # trust_env=False: no proxy variables, no .netrc credentials, nothing implicit.
    return httpx.Client(timeout=timeouts.as_httpx(), trust_env=False, follow_redirects=False,
                        headers=headers, verify=tls_context(pin))


MAX_ANSWER_BYTES = 4096


def read_capped(response: httpx.Response) -> bytes:
    """At most ``MAX_ANSWER_BYTES`` of an answer: a collector's answers are small, anything else is cut."""
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            break
    return body[:MAX_ANSWER_BYTES]


def failure_code(error: BaseException) -> str:
    """A short code for a failed request (never a message from the server or the network)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, PinMismatch):
            return "pin_mismatch"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls_untrusted"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.HTTPError):
        return f"network:{type(error).__name__}"
    return "invalid_endpoint"  # a host name the resolver cannot encode


@dataclass(frozen=True)
class Health:
    """What the collector's health check found: ``ok``, or a short code saying what was wrong."""

    ok: bool
    found: str  # "ok", "pin_mismatch", "timeout", "network:ConnectError", "not_a_collector_404", ...

    def describe(self) -> str:
        if self.ok:
            return "a FaceSeal collector answered its health check"
        if self.found.startswith("not_a_collector"):
            status = self.found.rsplit("_", 1)[-1]
            return f"something answered (HTTP {status}) but not a FaceSeal collector's health check"
        return {
            "pin_mismatch": "the server's certificate does not carry the pinned key: nothing will be sent to it",
            "tls_untrusted": "the server's certificate is not trusted (pin it with --pin-sha256 if it is yours)",
            "timeout": "no answer in time",
        }.get(self.found, f"no collector could be reached ({self.found})")


def check_health(endpoint: str, pin: str | None, timeouts: Timeouts = Timeouts(connect_s=3.0, io_s=5.0)) -> Health:
    """GET ``<endpoint>/v1/health`` once; never raises for a network problem."""
    try:
        with client(pin, timeouts) as http, http.stream("GET", health_url(endpoint)) as response:
            body, status = read_capped(response), response.status_code
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ssl.SSLError, OSError) as error:
        return Health(False, failure_code(error))
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status == 200 and isinstance(answer, dict) and answer.get("status") == "ok":
        return Health(True, "ok")
    return Health(False, f"not_a_collector_{status}")
