"""Presence assertions: what an app gets when the person at the screen proved to be its owner, and their check.

An app asks the sign-in agent (``{"op": "authenticate", "audience", "nonce",
"reason"}`` on its socket, docs/SIGNIN.md "For app developers"); on an accepted
attempt the agent answers a short-lived assertion signed by the device key:

    fsa1.<base64url(canonical JSON claims)>.<base64url(Ed25519 signature)>

The signature covers ``faceseal/assertion/v1\\n`` and the claims' bytes exactly
as carried. Claims: ``v`` (1), ``iss`` (the device id), ``key`` (the device's
public key, standard base64), ``sub`` (the identity's random id, never a
name), ``aud`` (the app that asked), ``nonce`` (the app's, echoed),
``iat``/``exp`` (Unix seconds; 60 s apart), ``liveness`` (the band, or
``not_checked`` when the policy asks for none).

The app checks it offline (:func:`verify`, ``faceseal assertion verify``)
against the device key it pinned when it was set up (its fingerprint from
``faceseal status``): the key an assertion carries proves nothing by itself.
A replay fails the app's fresh nonce, a stale one its expiry, another app's its
audience, and any edit or another key the signature or the pin.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.audit.evidence import DevicePin
from edge_core.errors import FaceSealError, UsageError
from edge_core.support.canonical import canonical_json
from edge_core.telemetry.device import ASSERTION_DOMAIN, DeviceKey, device_id_for

PREFIX = "fsa1"
LIFETIME_S = 60
"""How long an assertion stands: long enough to carry to the app, too short to be worth stealing."""
MAX_TOKEN = 4096
SKEW_S = 5
"""How far in the future an ``iat`` may be (the app's and the device's clocks are the same machine's)."""
CLAIMS = frozenset({"v", "iss", "key", "sub", "aud", "nonce", "iat", "exp", "liveness"})
AUDIENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class AssertionRefused(FaceSealError):
    """A presence assertion that must not be believed: the reason is said, never the claims as fact."""


def check_audience(audience: object) -> str:
    """An app's name as assertions carry it: 1 to 128 characters of ``A-Za-z0-9._:/-`` (a D-Bus or reverse-DNS name)."""
    if not isinstance(audience, str) or not AUDIENCE.match(audience):
        raise UsageError("an audience is the app's name: 1 to 128 letters, digits and . _ : / - (e.g. org.example.App)")
    return audience


def check_nonce(nonce: object) -> str:
    """A nonce as the app makes it: 16 to 128 base64url characters, fresh for every request."""
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise UsageError("a nonce is 16 to 128 base64url characters (A-Z a-z 0-9 _ -), new for every request")
    return nonce


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: DeviceKey, subject: str, audience: str, nonce: str, liveness: str, now: int) -> str:
    """The assertion for ``subject`` (an identity id) to ``audience``, signed by this device's key."""
    claims = {"v": 1, "iss": key.device_id, "key": key.public_key_b64, "sub": subject,
              "aud": check_audience(audience), "nonce": check_nonce(nonce), "iat": now, "exp": now + LIFETIME_S,
              "liveness": liveness}
    payload = canonical_json(claims)
    return f"{PREFIX}.{_b64(payload)}.{_b64(key.sign_assertion(payload))}"


def verify(token: str, pin: DevicePin, audience: str, nonce: str, now: float) -> dict[str, Any]:
    """The claims of ``token``, believed only if the pinned device signed it, for ``audience`` and ``nonce``, and it
    stands at ``now``; else :class:`AssertionRefused` says why."""
    refused = AssertionRefused
    if not math.isfinite(now):  # NaN compares false with every expiry: it would make any assertion stand
        raise UsageError("the time to check an assertion at must be a finite number of Unix seconds")
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise refused("not a FaceSeal assertion (fsa1.<claims>.<signature>)")
    prefix, body, signature = token.split(".")
    if prefix != PREFIX:
        raise refused(f"not a FaceSeal assertion of a format this verifier knows ({prefix[:8]!r})")
    try:
        payload, sig = _unb64(body), _unb64(signature)
        claims: dict[str, Any] = json.loads(payload)
        key_raw = base64.b64decode(claims["key"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(key_raw)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise refused("the assertion is damaged: its claims or key cannot be read") from None
    if not isinstance(claims, dict) or set(claims) != CLAIMS or claims["v"] != 1:
        raise refused("the assertion's claims are not those of a FaceSeal assertion")
    if not pin.matches(key_raw):
        raise refused(f"the assertion was not signed by the pinned device key {pin.shown}")
    try:
        public.verify(sig, ASSERTION_DOMAIN + payload)
    except InvalidSignature:
        raise refused("the assertion's signature does not verify: it was edited or signed by another key") from None
    if canonical_json(claims) != payload or claims["iss"] != device_id_for(key_raw):
        raise refused("the assertion's claims are not in the form the device signs")
    if claims["aud"] != audience:
        raise refused(f"the assertion is for another app ({claims['aud']!r}), not {audience!r}")
    if not isinstance(claims["nonce"], str) or claims["nonce"] != nonce:
        raise refused("the assertion answers another request (its nonce is not this one's): a replay?")
    iat, exp = claims["iat"], claims["exp"]
    if type(iat) is not int or type(exp) is not int or exp - iat != LIFETIME_S:
        raise refused("the assertion's times are not those the device writes")
    if now >= exp:
        raise refused(f"the assertion expired {int(now - exp)} s ago (they stand {LIFETIME_S} s)")
    if iat > now + SKEW_S:
        raise refused("the assertion was issued in the future: the clock or the assertion is wrong")
    return claims
