"""The test suite's own Secret Service: a start that comes up without its login collection is named, not hidden.

A CI run once got a gnome-keyring-daemon whose default alias pointed at a login
collection that did not exist; the old wait then asked the daemon to create one,
which needs a prompt nobody can answer, and every keychain test failed with
"Prompt dismissed". These tests put a daemon in that state on purpose.
"""

from __future__ import annotations

import secretstorage
from secretstorage.collection import Collection

import pytest

from tests.conftest import SecretServiceNotReady, _start_secret_service, _wait_for_secret_service


def test_a_daemon_without_its_login_collection_is_reported_with_what_it_said() -> None:
    daemon = _start_secret_service()
    try:
        _wait_for_secret_service(daemon)
        with secretstorage.dbus_init() as conn:
            Collection(conn).delete()  # the state that CI run saw: the alias 'default' points at nothing
        with pytest.raises(SecretServiceNotReady, match="ItemNotFoundException") as caught:
            _wait_for_secret_service(daemon)
        assert "exit codes (keyring, bus): [None, None]" in str(caught.value)
        with secretstorage.dbus_init() as conn:
            made = [c.collection_path for c in secretstorage.get_all_collections(conn)]
        assert made == ["/org/freedesktop/secrets/collection/session"], "waiting must create no collection (that asks a prompt)"
    finally:
        daemon.stop()


def test_a_daemon_whose_login_collection_got_locked_is_named_so_it_is_replaced() -> None:
    """What the ``secret_service`` fixture checks before each keychain test (a CI run met this state)."""
    from tests.conftest import _secret_service_problem

    daemon = _start_secret_service()
    try:
        _wait_for_secret_service(daemon)
        assert _secret_service_problem(daemon) is None
        with secretstorage.dbus_init() as conn:
            Collection(conn).lock()
        assert _secret_service_problem(daemon) == "locked"
    finally:
        daemon.stop()
    assert _secret_service_problem(daemon).startswith("gone (exit codes ")
