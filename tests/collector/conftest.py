"""The collector tests use the telemetry tests' fixtures: real outboxes, the real collector, the leak scan."""

from tests.telemetry.conftest import _scan_everything_produced, collector, key, make_outbox  # noqa: F401
