"""Admin › Sign-in: the person and the services chosen in the window are what ``faceseal signin status`` says, and
the other way round; the agent's state as it is (not running, started elsewhere, started here); "Try it now"
through a real agent reading a generated live video as its camera; the agent stops with the window."""

from __future__ import annotations

from pathlib import Path

from edge_core.agent.local import AgentProcess, AgentState
from tests.app.admin_drive import admin_section
from tests.app.drive import LONG, click
from tests.conftest import cli_json, run_cli, who_and_where
from tests.liveness.conftest import pipeline, videos  # noqa: F401 (the generated live and attack videos)
from tests.liveness.synthetic import OTHER_PERSON, PERSON, answerable_seeds

SEED = answerable_seeds()[0]


def enrolled(*people: tuple[str, Path]) -> None:
    cli_json("policy", "set", "signin_timeout_s=60", check_clean=False)  # a busy machine: the attempt is not hurried
    for name, photo in people:
        cli_json("enroll", "--consent", name, "--image", str(photo))


def tick(qtbot, box) -> None:
    """Click a service's box as a person does, once the section has read what is stored (the boxes are off while
    a change is saved); ``click()``: a mouse click at the middle of a wide row can miss its label."""
    qtbot.waitUntil(box.isEnabled, timeout=LONG)
    box.click()


def sign_in_section(qtbot, window, people: int):
    section = admin_section(window, "Sign-in")
    qtbot.waitUntil(lambda: section.person.count() == people, timeout=LONG)
    return section


def test_the_window_and_the_command_line_choose_the_same_face_and_services(qtbot, window, runtime_dir):
    enrolled(("alice", PERSON), ("bob", OTHER_PERSON))
    section = sign_in_section(qtbot, window, 2)
    assert "Nobody is chosen yet" in section.person_note.text()
    assert not any(box.isChecked() for box in section.services.values())
    assert section.pam_line.text().startswith("auth sufficient pam_exec.so quiet stdout ")
    assert section.pam_line.text().split()[5].endswith("faceseal-pam")

    section.person.setCurrentText("bob")
    section.person.activated.emit(section.person.currentIndex())
    tick(qtbot, section.services["sudo"])
    qtbot.waitUntil(lambda: "on for sudo" in section.banner.text.text(), timeout=LONG)
    assert "the password still decides there" in section.banner.text.text()  # a face never raises privileges
    assert section.services["sudo"].text() == "sudo (password)" and section.services["su"].text() == "su"
    tick(qtbot, section.services["apps"])
    qtbot.waitUntil(lambda: "Apps may now ask" in section.banner.text.text(), timeout=LONG)
    assert "PAM line" in section.banner.text.text() and "/etc/pam.d/apps" not in section.banner.text.text()
    tick(qtbot, section.services["apps"])
    qtbot.waitUntil(lambda: "off for apps" in section.banner.text.text(), timeout=LONG)
    assert who_and_where(cli_json("signin", "status")) == {"identity": "bob", "services": ["sudo"]}
    tick(qtbot, section.services["polkit-1"])
    qtbot.waitUntil(lambda: "on for polkit-1" in section.banner.text.text(), timeout=LONG)
    assert who_and_where(cli_json("signin", "status")) == {"identity": "bob", "services": ["polkit-1", "sudo"]}

    assert run_cli("signin", "enable", "su", "--name", "alice").returncode == 0  # one person per login: su alone
    qtbot.waitUntil(lambda: section.services["su"].isChecked(), timeout=LONG)
    assert not section.services["sudo"].isChecked() and not section.services["polkit-1"].isChecked()
    assert section.person.currentText() == "alice" and "alice's face signs" in section.person_note.text()

    tick(qtbot, section.services["su"])
    qtbot.waitUntil(lambda: "off for su" in section.banner.text.text(), timeout=LONG)
    assert who_and_where(cli_json("signin", "status")) == {"identity": "alice", "services": []}
    kinds = [e["kind"] for e in cli_json("audit", "list") if e["kind"].startswith("signin")]
    assert kinds == ["signin_enabled", "signin_enabled", "signin_disabled", "signin_enabled", "signin_enabled",
                     "signin_disabled"]  # sudo, apps on and off, polkit-1, su (alice instead), su off

    assert run_cli("signin", "enable", "sudo", "--name", "alice").returncode == 0
    qtbot.waitUntil(lambda: section.services["sudo"].isChecked(), timeout=LONG)
    assert run_cli("signin", "disable", "sudo").returncode == 0
    section._toggle("sudo", False)  # as unticking it does before the window has seen it go off elsewhere
    qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG)
    assert section.banner.text.text() == "Face sign-in is not enabled for 'sudo'."
    qtbot.waitUntil(lambda: section.services["sudo"].isEnabled(), timeout=LONG)
    assert not section.services["sudo"].isChecked()


def test_a_read_under_way_never_undoes_a_click_on_screen(qtbot, window, runtime_dir):
    """The vault changed elsewhere a moment ago (the section reads it again) and the person ticks a box: the read
    that began before the click must not show the box unticked and clickable while the change is saved (a second
    click would then turn the service on twice instead of off)."""
    enrolled(("bob", OTHER_PERSON))
    section = sign_in_section(qtbot, window, 1)
    box = section.services["apps"]
    qtbot.waitUntil(box.isEnabled, timeout=LONG)
    seen: list[tuple[bool, bool]] = []
    box.toggled.connect(lambda _on: seen.append((box.isEnabled(), box.isChecked())))
    section.load()  # as the window does when it notices the vault changed
    box.click()
    qtbot.waitUntil(lambda: "Apps may now ask" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(box.isEnabled, timeout=LONG)
    assert box.isChecked() and (True, False) not in seen, seen
    tick(qtbot, box)
    qtbot.waitUntil(lambda: "off for apps" in section.banner.text.text(), timeout=LONG)
    assert who_and_where(cli_json("signin", "status")) == {"identity": "bob", "services": []}


def test_the_agent_state_as_it_is(qtbot, window, runtime_dir):
    section = sign_in_section(qtbot, window, 0)
    qtbot.waitUntil(lambda: section.agent_state.text().startswith("Not running"), timeout=LONG)
    assert section.start_button.isEnabled() and not section.try_button.isEnabled()
    assert not section.stop_button.isEnabled()
    assert "Nobody is enrolled yet" in section.person_note.text()
    elsewhere = AgentProcess()  # as a terminal or the systemd user unit would run it
    elsewhere.start()
    try:
        qtbot.waitUntil(lambda: "started outside this window" in section.agent_state.text(), timeout=LONG)
        assert f"process {elsewhere.child.pid}" in section.agent_state.text()
        assert not section.start_button.isEnabled() and not section.stop_button.isEnabled()
        click(qtbot, section.try_button)  # nobody chosen: refused before the camera opens, said in one sentence
        qtbot.waitUntil(lambda: section.outcome.text() != "", timeout=LONG)
        assert section.outcome.text().startswith("Not tried: nobody is chosen for face sign-in yet"), \
            section.outcome.text()
        qtbot.waitUntil(lambda: section.attempts.rowCount() == 1, timeout=LONG)
        assert [section.attempts.item(0, c).text() for c in (1, 2)] == ["try-it-now", "refused"]
    finally:
        elsewhere.stop()
    qtbot.waitUntil(lambda: section.agent_state.text().startswith("Not running"), timeout=LONG)


def test_start_the_agent_here_and_try_it_now(qtbot, window, runtime_dir, monkeypatch, videos):  # noqa: F811
    enrolled(("alice", PERSON))
    assert run_cli("signin", "enable", "sudo", "--name", "alice").returncode == 0
    monkeypatch.setenv("FACESEAL_AGENT_TEST_CAMERA", str(videos[f"live_{SEED}"]))
    monkeypatch.setenv("FACESEAL_TEST_RUN", "1")
    monkeypatch.setenv("FACESEAL_LIVENESS_SEED", str(SEED))
    section = sign_in_section(qtbot, window, 1)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "runs, started here" in section.banner.text.text(), timeout=LONG * 2)
    pid = section.agent.child.pid
    assert "started here" in section.agent_state.text() and section.stop_button.isEnabled()
    assert cli_json("agent", "status")["pid"] == pid

    click(qtbot, section.try_button)
    qtbot.waitUntil(lambda: section.outcome.text() != "", timeout=LONG * 3)
    assert section.outcome.text().startswith("Accepted: alice was recognised"), section.outcome.text()
    assert len(section.said) >= 2 and all(not line.startswith("FaceSeal:") for line in section.said), section.said
    assert section.prompt.text() == section.said[-1]
    qtbot.waitUntil(lambda: section.attempts.rowCount() == 1, timeout=LONG)
    assert [section.attempts.item(0, c).text() for c in (1, 2, 3)] == ["try-it-now", "accepted", ""]
    [latest] = cli_json("signin", "history")[:1]
    assert (latest["service"], latest["outcome"], latest["liveness"]) == ("try-it-now", "accepted", "passed")
    assert "score" not in section.outcome.text().lower() + " ".join(section.said).lower()
    qtbot.waitUntil(lambda: "Its last attempt: try-it-now, accepted" in section.agent_state.text(), timeout=LONG)

    click(qtbot, section.stop_button)
    qtbot.waitUntil(lambda: "agent is stopped" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: section.agent_state.text().startswith("Not running"), timeout=LONG)
    assert not Path(f"/proc/{pid}").exists()

    click(qtbot, section.start_button)  # and the window's close stops the agent it started
    qtbot.waitUntil(lambda: "runs, started here" in section.banner.text.text(), timeout=LONG * 2)
    pid = section.agent.child.pid
    window.close()
    assert not Path(f"/proc/{pid}").exists(), "the agent outlives the window (or is left defunct)"


def test_a_photo_held_still_is_not_accepted_and_says_why(qtbot, window, runtime_dir, monkeypatch, videos):  # noqa: F811
    enrolled(("alice", PERSON))
    assert run_cli("signin", "enable", "sudo", "--name", "alice").returncode == 0
    monkeypatch.setenv("FACESEAL_AGENT_TEST_CAMERA", str(videos["still"]))
    monkeypatch.setenv("FACESEAL_TEST_RUN", "1")
    monkeypatch.setenv("FACESEAL_LIVENESS_SEED", str(SEED))
    section = sign_in_section(qtbot, window, 1)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "runs, started here" in section.banner.text.text(), timeout=LONG * 2)
    click(qtbot, section.try_button)
    qtbot.waitUntil(lambda: section.outcome.text() != "", timeout=LONG * 3)
    assert section.outcome.text().startswith("Not accepted: "), section.outcome.text()
    qtbot.waitUntil(lambda: section.attempts.rowCount() == 1, timeout=LONG)
    assert [section.attempts.item(0, c).text() for c in (1, 2, 3)] == [
        "try-it-now", "rejected", "the liveness check failed"]


def test_an_agent_that_cannot_start_says_why_in_its_own_words(qtbot, window, runtime_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("FACESEAL_AGENT_TEST_CAMERA", str(tmp_path / "recorded.avi"))  # outside a test run
    monkeypatch.delenv("FACESEAL_TEST_RUN", raising=False)
    section = sign_in_section(qtbot, window, 0)
    qtbot.waitUntil(lambda: section.start_button.isEnabled(), timeout=LONG)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG * 2)
    said = section.banner.text.text()
    assert said == "FACESEAL_AGENT_TEST_CAMERA is for the test suite only; the agent reads a real camera.", said
    qtbot.waitUntil(lambda: section.start_button.isEnabled(), timeout=LONG)
    assert section.agent_state.text().startswith("Not running") and not section.agent.running


def test_the_window_says_which_app_asks_and_why(qtbot, window, runtime_dir):
    section = sign_in_section(qtbot, window, 0)
    section._show_agent(AgentState(True, {"pid": 4242, "login": "alice", "busy": True, "last": None,
                                          "asking": {"app": "org.example.Notes", "reason": "open your notes",
                                                     "caller": "process 77 (/usr/bin/notes) over D-Bus"}}))
    assert ("org.example.Notes asks to check it is you: \u201copen your notes\u201d (process 77 (/usr/bin/notes) "
            "over D-Bus).") in section.agent_state.text()
    section._show_agent(AgentState(True, {"pid": 4242, "login": "alice", "busy": True, "last": None, "asking": None}))
    assert "an attempt is in progress" in section.agent_state.text()
