"""Look inside a PKCS#11 token the way an auditor would, without FaceSeal: list or delete key objects.

    python -m tests.keys.token_tool MODULE TOKEN PIN list|delete-all
"""

from __future__ import annotations

import json
import sys

import pkcs11
from pkcs11 import Attribute, ObjectClass


def main(module: str, token_label: str, pin: str, action: str) -> None:
    token = pkcs11.lib(module).get_token(token_label=token_label)
    with token.open(user_pin=pin, rw=True) as session:
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))
        if action == "list":
            print(json.dumps([{"label": k.label, "id": k[Attribute.ID].hex(), "extractable": k[Attribute.EXTRACTABLE],
                               "sensitive": k[Attribute.SENSITIVE], "token": k[Attribute.TOKEN]} for k in keys]))
        elif action == "delete-all":
            for key in keys:
                key.destroy()


if __name__ == "__main__":
    main(*sys.argv[1:5])
