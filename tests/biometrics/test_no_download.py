"""Nothing is fetched behind the user's back, and nothing heavy is carried along.

Loading and running packs never touches the network: run in a fresh
interpreter whose HOME (hence insightface's default root ``~/.insightface``)
is an empty folder, with an audit hook recording every attempt to resolve a
host, open a socket or build a urllib request. The same run proves the
run-time pipeline imports none of insightface, scikit-image or scipy (the
installer leaves them out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import REPO, SHARED_FACES

PROBE = r"""
import json, sys
attempts = []
WATCHED = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request", "http.client.connect"}
sys.addaudithook(lambda event, args: attempts.append(event) if event in WATCHED else None)
from edge_core.biometrics import load_pack, read_image
faces = 0
for name in ("open", "scrfd"):
    faces += len(load_pack(name).analyze(read_image(sys.argv[1])))
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"insightface", "skimage", "scipy"})
print(json.dumps({"attempts": attempts, "faces": faces, "heavy": heavy}))
"""


def test_loading_and_running_packs_never_uses_the_network_nor_insightface(installed_models, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "FACESEAL_MODELS": str(installed_models)}
    env.pop("INSIGHTFACE_HOME", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(SHARED_FACES / "multi_face/two_people.jpg")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"attempts": [], "faces": 4, "heavy": []}
    assert list(home.iterdir()) == [], "something was written under HOME (e.g. ~/.insightface)"
