"""Collector URLs and certificate pins: what the user may configure, and where batches are posted.

Validation happens when telemetry is enabled, so a bad URL is refused at the
moment the user types it rather than discovered at the first upload. The user
may give the collector's base URL or the full ``/v1/batches`` URL: both are
stored as the base URL, so batches never go to ``/v1/batches/v1/batches``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from edge_core.telemetry.errors import InvalidEndpoint, InvalidPin

MAX_URL_LENGTH = 2048
BATCHES_PATH = "v1/batches"
HEALTH_PATH = "v1/health"
PIN_PREFIX = "sha256//"


def validate_endpoint(url: str) -> str:
    """Return the collector's base URL for ``url``; raise ``InvalidEndpoint`` if it is not acceptable.

    ``url`` is an http(s) URL with a host. A trailing ``/v1/batches`` (the full
    URL batches are posted to) is taken off, so either form may be given.
    Credentials in the URL are refused because settings are shown by
    ``telemetry status`` and would leak there; query strings and fragments are
    refused because the batches path is appended to the URL. Plain http is
    refused for anything but loopback: only TLS hides batches on the wire.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidEndpoint("the endpoint must be a non-empty URL of at most 2048 characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidEndpoint("the endpoint must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidEndpoint("the endpoint is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidEndpoint("the endpoint must be an http:// or https:// URL")
    if not parts.hostname or not _valid_host(parts.hostname):
        raise InvalidEndpoint("the endpoint must name a valid host")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpoint("the endpoint must not carry credentials")
    if parts.query or parts.fragment:
        raise InvalidEndpoint("the endpoint must not have a query string or fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidEndpoint("the endpoint must be https:// unless the collector is on this machine (loopback)")
    path = parts.path.rstrip("/")
    if path.endswith("/" + BATCHES_PATH):
        path = path[: -len(BATCHES_PATH) - 1]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    """A dotted-decimal host must be a real IPv4 address; a name must encode to IDNA."""
    try:
        if re.fullmatch(r"[0-9.]+", host):
            ipaddress.IPv4Address(host)
        host.encode("idna")
    except (ValueError, UnicodeError):
        return False
    return True


def batches_url(endpoint: str) -> str:
    """The URL batches are POSTed to: ``<endpoint>/v1/batches`` (keeps any path prefix)."""
    return endpoint.rstrip("/") + "/" + BATCHES_PATH


def health_url(endpoint: str) -> str:
    """The collector's health check: ``<endpoint>/v1/health``."""
    return endpoint.rstrip("/") + "/" + HEALTH_PATH


def parse_pin(text: str) -> str:
    """The SHA-256 of a certificate's public key (SubjectPublicKeyInfo, DER), as ``sha256//BASE64``.

    Accepts ``sha256//BASE64`` (curl's ``--pinnedpubkey`` form), bare base64,
    or 64 hex digits (colons allowed); raises ``InvalidPin`` for anything else.
    """
    value = text.strip() if isinstance(text, str) else ""
    if value.startswith(PIN_PREFIX):
        value = value[len(PIN_PREFIX):]
    hexdigits = value.replace(":", "")
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]{64}", hexdigits):
        raw = bytes.fromhex(hexdigits)
    elif re.fullmatch(r"[A-Za-z0-9+/]{43}=", value):
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidPin("the pin must be the SHA-256 of the collector certificate's public key: "
                         "sha256//BASE64 or 64 hex digits")
    return PIN_PREFIX + base64.b64encode(raw).decode("ascii")


def pin_of_certificate(der: bytes) -> str:
    """The pin (``sha256//BASE64`` of the SubjectPublicKeyInfo) of a DER certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    return PIN_PREFIX + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")
