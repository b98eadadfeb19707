"""A separate process that uses the outbox, so tests can SIGKILL it mid-work.

``python worker.py append DB`` appends events with latency_ms 0, 1, 2, ...
sealing every 7 appends, until killed. ``python worker.py flush DB`` flushes
the outbox to its configured endpoint. The device seed arrives on stdin (hex),
never on the command line.
"""

from __future__ import annotations

import sqlite3
import sys

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.outbox import BatchLimits, Outbox
from edge_core.telemetry.uploader import Timeouts, flush


def main(mode: str, db: str) -> None:
    key = DeviceKey.from_seed(bytes.fromhex(sys.stdin.readline().strip()))
    outbox = Outbox(
        sqlite3.connect(db, isolation_level=None, timeout=30), limits=BatchLimits(max_events=5)
    )
    if mode == "append":
        marker = 0
        while True:
            outbox.append(ev.operation(ev.Operation.ENROL, ev.Outcome.OK, marker))
            marker += 1
            if marker % 7 == 0:
                outbox.seal(key)
    else:
        print(flush(outbox, key, timeouts=Timeouts(connect_s=2, io_s=5)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
