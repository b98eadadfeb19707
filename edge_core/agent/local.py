"""This user's own agent, as the CLI, the window and the admin API see it: whether it runs and what it last did,
a trial attempt through it, and one started as a child process of the window.

Each asks the agent at ``$XDG_RUNTIME_DIR/faceseal/agent.sock`` through
:func:`edge_core.agent.client.ask` (the folder, the socket and the listening
process must all be this user's), so the three front ends say the same thing
about it in the same words.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_core.agent import pamfile, rundir, server
from edge_core.agent.client import AgentUnavailable, ask
from edge_core.errors import FaceSealError, InsecureDataDir, UsageError
from edge_core.ops import signin
from edge_core.ops.children import Child
from edge_core.ops.results import Result, optional

STATUS_TIMEOUT_S = 5.0
"""How long a status question may take: the agent answers it at once, even during an attempt."""
FIRST_WORDS_S = 30.0
"""How long a trial waits for the agent's first words (its vault opened, the attempt's length announced)."""
START_WAIT_S = 90.0
"""How long a starting agent may take to answer (2 busy cores can be slow to import the models' runtime)."""


class AgentNotRunning(FaceSealError):
    """No agent of this user answers (not running, or a socket that is not the user's); the message says which."""


class AgentRefused(FaceSealError):
    """The agent refused the attempt before the camera opened (its words say why)."""


@dataclass(frozen=True)
class AgentState(Result):
    """Whether this user's agent answers; ``status`` is its own (pid, uptime, busy, its last attempt), ``why`` why
    not. No score, no template: the agent never says one."""

    running: bool
    status: dict[str, Any] | None = optional()
    why: str | None = optional()


def login() -> str:
    """This process's user name: the only user its agent signs in."""
    return pwd.getpwuid(os.getuid()).pw_name


def pam_line() -> str:
    """The one line at the top of a PAM file's ``auth`` section, as ``sudo faceseal signin install-pam SERVICE``
    writes it (docs/SIGNIN.md), for the window to show."""
    return pamfile.pam_line(pamfile.default_helper(), pamfile.CAP_S)


def agent_state(timeout: float = STATUS_TIMEOUT_S) -> AgentState:
    """Ask this user's agent how it is; "not running" (with why) when none answers as this user."""
    try:
        reply = ask(rundir.socket_path(), os.getuid(), {"op": "status"}, timeout)
    except (AgentUnavailable, InsecureDataDir) as error:
        return AgentState(False, why=str(error))
    return AgentState(True, reply.get("status"))


def try_signin(say: Callable[[str], None]) -> dict[str, Any]:
    """A real attempt through the running agent for :data:`~edge_core.ops.signin.TRY_IT` (it unlocks nothing, and
    is judged, audited and counted as a sign-in); each prompt goes to ``say`` as it comes. The decision's fields
    (accepted, why, frames, band; never a score), or :class:`AgentNotRunning` / :class:`AgentRefused`."""
    return _through_agent({"op": "signin", "user": login(), "service": signin.TRY_IT}, say)


def request_assertion(audience: str, nonce: str, reason: str, say: Callable[[str], None]) -> dict[str, Any]:
    """What an app does (docs/SIGNIN.md, "For app developers"): ask the running agent whether this login's owner
    is at the screen; accepted, the answer carries the signed assertion. Prompts go to ``say`` as they come."""
    return _through_agent({"op": "authenticate", "audience": audience, "nonce": nonce, "reason": reason}, say)


def _through_agent(request: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
    try:
        reply = ask(rundir.socket_path(), os.getuid(), request, FIRST_WORDS_S,
                    on_message=lambda message: message.get("say") and say(str(message["say"])))
    except (AgentUnavailable, InsecureDataDir) as error:
        raise AgentNotRunning(str(error)) from None
    if "error" in reply:
        raise AgentRefused(reply["error"])
    return {key: value for key, value in reply.items() if key != "done"}


class AgentProcess:
    """``faceseal agent run`` as a child of this process (the window): started, watched and stopped with it."""

    def __init__(self) -> None:
        self.child = Child("sign-in agent")

    @property
    def running(self) -> bool:
        return self.child.running

    def start(self, camera: int = 0) -> AgentState:
        """Start the agent on ``camera`` (the window's Settings choice) and return once it answers as this very
        child (an agent that already runs for this user makes the child refuse in its own words: "a FaceSeal agent
        already runs")."""
        if self.child.running:
            raise UsageError("the agent started here already runs")

        def answers() -> bool:
            state = agent_state(1.0)
            return state.running and (state.status or {}).get("pid") == self.child.pid

        self.child.start(["agent", "run", "--camera", str(camera)], answers, START_WAIT_S)
        return agent_state()

    def ended(self) -> str | None:
        """Whether the agent started here stopped without being asked: why, once (the child is reaped)."""
        return self.child.ended()

    def stop(self) -> None:
        """Stop the agent started here (SIGTERM: it removes its socket); nothing happens if it does not run."""
        self.child.stop()
