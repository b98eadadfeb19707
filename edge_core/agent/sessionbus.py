"""The agent on the D-Bus session bus: ``org.faceseal.Agent``, a front end as thin as the socket's (issue 27).

An app calls ``org.faceseal.Agent1.Authenticate(audience, nonce, reason)`` on
``/org/faceseal/Agent`` and gets ``(assertion, expires_at)``: the very request the
socket carries (``{"op": "authenticate", ...}``), handed to the agent's one
``answer`` (:func:`edge_core.agent.server.answer`) and so judged by
:mod:`edge_core.ops.apps`'s rules.
What the socket says as ``say`` lines, the bus says as ``Prompt(text)`` signals
sent to the caller alone; a refusal or a face not accepted is a D-Bus error
whose name says which (``org.faceseal.Agent1.Error.<kind>``) and whose message
says why.

Who asked is the bus daemon's word, never the message's: the caller's unique
name gives its uid (``GetConnectionUnixUser``) and pid
(``GetConnectionUnixProcessID``). Another uid is refused (``AccessDenied``) and
audited as the socket's are; root is refused too (PAM uses the socket).

Why jeepney: pure Python, already installed as secretstorage's (the keychain's)
dependency, so the bus costs no new package and no C build; dbus-fast would be
a second library for the same wire, and sdbus needs libsystemd.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from queue import Queue
from typing import Any

from jeepney import DBusAddress, MatchRule, Message, new_error, new_method_return, new_signal
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection
from jeepney.low_level import HeaderFields
from jeepney.wrappers import DBusErrorResponse

from edge_core.agent import wire

Tell = Callable[[dict[str, Any]], None]
Answer = Callable[[dict[str, Any], Tell, str, int], dict[str, Any]]
"""The agent's answer to a request (the socket's very function): the request, where its prompts go, the caller
(described) and its pid."""

NAME = "org.faceseal.Agent"
PATH = "/org/faceseal/Agent"
INTERFACE = "org.faceseal.Agent1"
BUS_TIMEOUT_S = 10.0
"""How long a question to the bus daemon itself may take (it answers at once)."""

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="{INTERFACE}">
    <method name="Authenticate">
      <arg name="audience" type="s" direction="in"/>
      <arg name="nonce" type="s" direction="in"/>
      <arg name="reason" type="s" direction="in"/>
      <arg name="assertion" type="s" direction="out"/>
      <arg name="expires_at" type="x" direction="out"/>
    </method>
    <signal name="Prompt">
      <arg name="text" type="s"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml" type="s" direction="out"/>
    </method>
  </interface>
</node>
"""


class BusUnavailable(Exception):
    """No session bus to serve on, or the name is someone else's; the message says which."""


class SessionBus:
    """``org.faceseal.Agent`` served until :meth:`close`: requests go to ``answer`` from callers whose uid
    ``admits`` lets in (it counts and audits the others)."""

    def __init__(self, answer: Answer, admits: Callable[[int], bool]) -> None:
        self.answer, self.admits = answer, admits
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            raise BusUnavailable("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        try:
            self.conn = open_dbus_connection("SESSION")
        except (OSError, ValueError, DBusErrorResponse) as error:  # TimeoutError is an OSError
            raise BusUnavailable(f"the session bus cannot be reached ({error})") from None
        self.router = DBusRouter(self.conn)
        self.calls: Queue[Message] = Queue()  # unbounded: the filter would drop calls on a full queue
        self._filter = self.router.filter(MatchRule(type="method_call"), queue=self.calls)
        self.bus = Proxy(message_bus, self.router, timeout=BUS_TIMEOUT_S)
        try:
            (owned,) = self.bus.RequestName(NAME, DBusNameFlags.do_not_queue)
        except (OSError, DBusErrorResponse) as error:  # a bus whose policy forbids the name, one that went away
            self.close()
            raise BusUnavailable(f"{NAME} cannot be owned on the session bus ({error})") from None
        if owned != 1:  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
            self.close()
            raise BusUnavailable(f"{NAME} is already owned on the session bus (another agent of this user?)")
        self._thread = threading.Thread(target=self._serve, name="faceseal-dbus", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.calls.put_nowait(None)  # type: ignore[arg-type]  # wakes the loop below
        self._filter.close()
        self.router.close()
        self.conn.close()

    def _serve(self) -> None:
        while (call := self.calls.get()) is not None:
            fields = call.header.fields
            member, interface = fields.get(HeaderFields.member), fields.get(HeaderFields.interface)
            if fields.get(HeaderFields.path) != PATH:
                self._reply(new_error(call, "org.freedesktop.DBus.Error.UnknownObject", "s", ("no object here",)))
            elif member == "Introspect" and interface in (None, "org.freedesktop.DBus.Introspectable"):
                self._reply(new_method_return(call, "s", (INTROSPECTION,)))
            elif member == "Authenticate" and interface in (None, INTERFACE):
                threading.Thread(target=self._authenticate, args=(call,), daemon=True).start()
            else:
                self._reply(new_error(call, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                                      (f"{NAME} answers {INTERFACE}.Authenticate and Introspect",)))

    def _reply(self, message: Message) -> None:
        try:
            self.router.send(message)
        except OSError:
            pass  # the bus went away: nobody is left to tell

    def _authenticate(self, call: Message) -> None:
        """One app's request, in its own thread (an attempt takes seconds; the bus keeps answering meanwhile)."""
        sender = call.header.fields.get(HeaderFields.sender, "")
        try:
            (uid,) = self.bus.GetConnectionUnixUser(sender)
            (pid,) = self.bus.GetConnectionUnixProcessID(sender)
        except (DBusErrorResponse, TimeoutError, OSError):
            return  # the caller left before it could be identified: nobody to answer
        if not self.admits(uid):
            self._reply(new_error(call, "org.freedesktop.DBus.Error.AccessDenied", "s",
                                  ("this agent answers only its own user",)))
            return
        if call.header.fields.get(HeaderFields.signature) != "sss":
            self._reply(new_error(call, "org.freedesktop.DBus.Error.InvalidArgs", "s",
                                  ("Authenticate takes three strings: audience, nonce, reason",)))
            return
        audience, nonce, reason = call.body
        request = {"op": "authenticate", "audience": audience, "nonce": nonce, "reason": reason}
        result = self.answer(request, self._prompts(sender), wire.describe_process(pid) + " over D-Bus", pid)
        self._reply(_as_reply(call, result))

    def _prompts(self, sender: str) -> Tell:
        """What the socket says as lines, sent as ``Prompt`` signals to ``sender`` alone. A caller that left the bus
        is said as the socket's broken pipe is, so the attempt ends and is audited as cancelled."""
        emitter = DBusAddress(PATH, interface=INTERFACE)

        def tell(message: dict[str, Any]) -> None:
            if "say" not in message:
                return  # ``wait`` is the socket's deadline for the PAM helper; a D-Bus caller sets its own timeout
            try:
                (present,) = self.bus.NameHasOwner(sender)
            except (DBusErrorResponse, TimeoutError) as error:
                raise OSError(str(error)) from None
            if not present:
                raise BrokenPipeError("the app left the bus")
            signal = new_signal(emitter, "Prompt", "s", (str(message["say"]),))
            signal.header.fields[HeaderFields.destination] = sender
            self.router.send(signal)

        return tell


def _as_reply(call: Message, result: dict[str, Any]) -> Message:
    """The agent's answer as D-Bus says it: the assertion, or an error named after why there is none."""
    if result.get("accepted") and result.get("assertion"):
        return new_method_return(call, "sx", (result["assertion"], int(result["expires_at"])))
    if "error" in result:
        return new_error(call, f"{INTERFACE}.Error.{result.get('kind', 'InternalError')}", "s", (result["error"],))
    if result.get("busy"):
        return new_error(call, f"{INTERFACE}.Error.Busy", "s", (result.get("why", "busy"),))
    return new_error(call, f"{INTERFACE}.Error.NotAccepted", "s", (result.get("why") or "not accepted",))
