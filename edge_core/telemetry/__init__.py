"""Opt-in, signed, biometric-free telemetry (issue 4).

Modules, from the inside out: ``events`` (the allow-listed vocabulary and its
guard), ``canonical``/``envelope`` (the signed wire form), ``device`` (the
Ed25519 device key), ``outbox`` (durable queue, batches and dead letters in the
caller's database), ``uploader`` (HTTP delivery with backoff), ``collector``
(the operator's server) and ``cli`` (the ``faceseal telemetry`` commands).
Importing this package opens no connection and imports no HTTP client.
"""
