"""An app asking FaceSeal over D-Bus, as a desktop app would (run by the tests as the test user, or as another).

``python dbus_app.py AUDIENCE NONCE REASON`` calls ``org.faceseal.Agent1.Authenticate`` on the session bus,
hears the ``Prompt`` signals sent to it, and prints one JSON object: the prompts, and the assertion or the
D-Bus error's name and message.
"""

from __future__ import annotations

import json
import sys
from queue import Queue

from jeepney import DBusAddress, MatchRule, new_method_call
from jeepney.io.threading import open_dbus_router
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

AGENT = DBusAddress("/org/faceseal/Agent", bus_name="org.faceseal.Agent", interface="org.faceseal.Agent1")


def main(audience: str, nonce: str, reason: str) -> None:
    said: Queue = Queue()
    answer: dict = {}
    with open_dbus_router() as router:
        prompts = MatchRule(type="signal", interface="org.faceseal.Agent1", member="Prompt", path=AGENT.object_path)
        with router.filter(prompts, queue=said):
            reply = router.send_and_get_reply(new_method_call(AGENT, "Authenticate", "sss",
                                                              (audience, nonce, reason)), timeout=120)
        try:
            answer["assertion"], answer["expires_at"] = unwrap_msg(reply)
        except DBusErrorResponse as error:
            answer["error"], answer["message"] = error.name, error.data[0] if error.data else ""
    answer["prompts"] = [said.get().body[0] for _ in range(said.qsize())]
    print(json.dumps(answer))


if __name__ == "__main__":
    main(*sys.argv[1:4])
