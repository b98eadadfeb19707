"""The admin API reads and chooses the same model pack in use as the command line and the window (issue 26,
item 7): one setting of the vault, through ``ops``."""

from __future__ import annotations

from tests.conftest import cli_json


def test_the_pack_in_use_is_read_and_chosen_through_the_same_setting(open_only_env, server):
    shown = server.call("GET", "/pack")
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"pack": "open", "chosen": None, "default": "yunet512", "instead_of": "yunet512"}

    refused = server.call("PUT", "/pack", json={"pack": "scrfd"})
    assert refused.status_code == 409 and "'scrfd' is not installed" in refused.json()["error"]
    assert server.call("PUT", "/pack", json={"pack": "nope"}).status_code == 422
    assert server.call("PUT", "/pack", json={"pack": "external"}).status_code == 422

    chosen = server.call("PUT", "/pack", json={"pack": "open"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json() == {"status": "chosen", "pack": "open", "previous": "open", "stranded": {}}
    assert [p["name"] for p in cli_json("models", "list") if p["chosen"]] == ["open"]
    assert server.call("GET", "/pack").json() == {"pack": "open", "chosen": "open", "default": "yunet512"}
