"""Collector URLs: what the user may configure, and where batches are posted.

Validation happens when telemetry is enabled, so a bad URL is refused at the
moment the user types it rather than discovered at the first upload.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from edge_core.telemetry.errors import InvalidEndpoint

MAX_URL_LENGTH = 2048
BATCHES_PATH = "v1/batches"


def validate_endpoint(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host; raise ``InvalidEndpoint`` otherwise.

    Credentials in the URL are refused because settings are shown by
    ``telemetry status`` and would leak there; query strings and fragments are
    refused because the batches path is appended to the URL.
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
    return url


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
