"""Real loopback relays in front of the real collector: one that records every batch posted through it,
and a TLS one with a self-signed certificate made here with ``cryptography``.

Both forward each request to the collector and its answer back, unchanged;
both listen on 127.0.0.1 only and stop when their context ends.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Seen:
    """What a relay saw: every POSTed batch id, in order, and how many requests of any kind."""

    batch_ids: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts_per_batch(self) -> Counter[str]:
        with self.lock:
            return Counter(self.batch_ids)


def _handler(target: str, seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))) if method == "POST" else None
            with seen.lock:
                seen.requests += 1
                if method == "POST":
                    try:
                        seen.batch_ids.append(str(json.loads(body)["batch_id"]))
                    except (ValueError, KeyError, TypeError):
                        seen.batch_ids.append("?")
            headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
            request = urllib.request.Request(target + self.path, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, payload = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self._forward("POST")

        def do_GET(self) -> None:
            self._forward("GET")

    return Relay


@contextmanager
def recording_relay(target: str) -> Iterator[tuple[str, Seen]]:
    """A plain http relay to ``target``; yields (its URL, what it saw)."""
    seen = Seen()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target, seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Certificate:
    cert_pem: Path
    key_pem: Path
    pin: str  # sha256//BASE64 of the SubjectPublicKeyInfo, computed here independently of FaceSeal


def self_signed(folder: Path, name: str = "collector") -> Certificate:
    """A fresh P-256 key and a self-signed certificate for 127.0.0.1, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem, key_pem = folder / f"{name}.crt", folder / f"{name}.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return Certificate(cert_pem, key_pem, "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode())


class TlsRelay:
    """An https relay on 127.0.0.1 to ``target``; ``use(cert)`` changes the certificate for new connections."""

    def __init__(self, target: str, cert: Certificate) -> None:
        self.seen = Seen()
        self.handshakes = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target, self.seen))
        self._context = self._context_for(cert)
        relay = self

        original = self._server.get_request

        def get_request():  # wrap each accepted connection in TLS with the certificate in force
            sock, address = original()
            sock.settimeout(10)
            try:
                wrapped = relay._context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                raise
            relay.handshakes += 1
            return wrapped, address

        self._server.get_request = get_request  # type: ignore[method-assign]
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @staticmethod
    def _context_for(cert: Certificate) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert_pem, cert.key_pem)
        return context

    def use(self, cert: Certificate) -> None:
        self._context = self._context_for(cert)

    def __enter__(self) -> TlsRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
