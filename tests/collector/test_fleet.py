"""A fleet behind one database, on sqlite and on PostgreSQL: no double counting, the fleet view, tokens, migrations."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert, select, update

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope
from edge_core.telemetry.outbox import Outbox
from edge_core.telemetry.uploader import flush
from faceseal_collector import database as db
from faceseal_collector.cli import main as collector_main
from faceseal_collector.store import CollectorStore
from tests.collector.conftest import BackendCollector
from tests.collector.pgserver import PostgresServer
from tests.telemetry.conftest import fill


def signed_batches(devices: int, batches: int, events: int) -> list[str]:
    """``devices`` fresh device keys, each signing ``batches`` batches of ``events`` events."""
    bodies = []
    for _ in range(devices):
        key = DeviceKey.generate()
        for _ in range(batches):
            items = [ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, i, count=1) for i in range(events)]
            bodies.append(json.dumps(build_envelope(key, str(uuid.uuid4()), ev.utc_timestamp(), items)))
    return bodies


def post(url: str, body: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/batches", content=body, headers={"Content-Type": "application/json"}, timeout=60)


def get(url: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{url}{path}", headers=headers, timeout=30)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = collector_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_two_collectors_on_one_database_never_double_count(database: str) -> None:
    """Two real collector processes start together on one empty database and get every batch at once."""
    first, second = BackendCollector(database), BackendCollector(database)
    starters = [threading.Thread(target=c.start) for c in (first, second)]
    for thread in starters:  # both migrate the empty database at the same moment
        thread.start()
    for thread in starters:
        thread.join()
    try:
        bodies = signed_batches(devices=20, batches=5, events=10)
        barrier_pairs = [(body, threading.Barrier(2)) for body in bodies]

        def send(url: str, body: str, barrier: threading.Barrier) -> int:
            barrier.wait(timeout=60)
            return post(url, body).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = [
                (pool.submit(send, first.url, body, barrier), pool.submit(send, second.url, body, barrier))
                for body, barrier in barrier_pairs
            ]
            statuses = [sorted((a.result(), b.result())) for a, b in answers]
        assert statuses == [[200, 201]] * len(bodies)  # each batch accepted once, a duplicate once
        assert first.rows("SELECT count(*) FROM devices") == [(20,)]
        assert first.rows("SELECT count(*), sum(event_count) FROM batches") == [(100, 1000)]
        assert first.rows("SELECT count(*) FROM events") == [(1000,)]
        assert first.rows("SELECT count(*) FROM (SELECT DISTINCT batch_id, idx FROM events) AS e") == [(1000,)]
        assert first.rows("SELECT version FROM collector_schema") == [(db.SCHEMA_VERSION,)]
    finally:
        first.stop()
        second.stop()


def _worker_of(parent: int, port: int, client_port: int) -> int | None:
    """The pid of the child of ``parent`` holding the collector's end of the loopback connection from
    ``client_port``, once a worker accepted it."""
    wanted = f"0100007F:{port:04X} 0100007F:{client_port:04X}"
    inodes = [line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
              if " ".join(line.split()[1:3]) == wanted]
    children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
                if _parent_of(stat) == parent]
    for child in children:
        for fd in Path(f"/proc/{child}/fd").glob("*"):
            try:
                if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                    return child
            except OSError:
                continue
    return None


def _parent_of(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _connections_to_each_worker(collector: BackendCollector, workers: int) -> dict[int, list[HTTPConnection]]:
    """Keep-alive connections to the collector until each of its ``workers`` processes holds two (bounded)."""
    held: dict[int, list[HTTPConnection]] = {}
    for _ in range(200):
        connection = HTTPConnection("127.0.0.1", collector.port, timeout=60)
        connection.request("GET", "/v1/health")  # answered once a worker accepted it
        assert connection.getresponse().read() == b'{"status":"ok"}'
        pid = _worker_of(collector.pid, collector.port, connection.sock.getsockname()[1])
        assert pid is not None
        held.setdefault(pid, []).append(connection)
        if len(held) == workers and all(len(mine) >= 2 for mine in held.values()):
            return held
    raise AssertionError(f"the connections reached only {sorted(held)}")


def test_the_same_batch_sent_to_two_workers_at_once_is_stored_once(database: str) -> None:
    """One collector serving with two worker processes (each committing groups of batches): a device re-sending
    a batch while the first send is in flight, to the same worker or the other one, stores it once."""
    collector = BackendCollector(database, None, "--workers", "2").start()
    try:
        by_worker = _connections_to_each_worker(collector, workers=2)
        one, another = by_worker.values()
        first, second, other = one[0], one[1], another[0]
        bodies = signed_batches(devices=10, batches=3, events=25)

        def send(connection: HTTPConnection, body: str, barrier: threading.Barrier) -> int:
            barrier.wait(timeout=60)
            connection.request("POST", "/v1/batches", body=body, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            return answer.status

        with ThreadPoolExecutor(max_workers=3) as pool:
            for body in bodies:  # the same batch on three connections at once: two to one worker, one to the other
                barrier = threading.Barrier(3)
                statuses = sorted(pool.map(lambda connection: send(connection, body, barrier), (first, second, other)))
                assert statuses == [200, 200, 201], statuses  # accepted once, then duplicates
        assert collector.rows("SELECT count(*) FROM devices") == [(10,)]
        assert collector.rows("SELECT count(*), sum(event_count) FROM batches") == [(30, 750)]
        assert collector.rows("SELECT count(*) FROM (SELECT DISTINCT batch_id, idx FROM events) AS e") == [(750,)]
        assert collector.rows("SELECT count(*) FROM events") == [(750,)]
        for connections in by_worker.values():
            for connection in connections:
                connection.close()
    finally:
        collector.stop()


def test_the_fleet_view_from_the_command_line(
    make_outbox: Callable[..., Outbox], collector: BackendCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [DeviceKey.generate() for _ in range(3)]
    for number, key in enumerate(keys):
        outbox = make_outbox(collector.url, name=f"outbox-{number}.db")
        fill(outbox, 2 + number)
        outbox.append(ev.app_started())
        assert flush(outbox, key).delivered == 1
    silent = keys[0].device_id  # last heard of 10 days ago: dead
    collector.execute("UPDATE devices SET last_seen_at = ? WHERE device_id = ?", ("2000-01-01T00:00:00.000000Z", silent))
    collector.execute("UPDATE batches SET received_at = ? WHERE device_id = ?", ("2000-01-01T00:00:00.000000Z", silent))

    code, out, _ = run_cli(capsys, "devices", "--db", str(collector.db), "--json")
    assert code == 0
    listed = {d["device_id"]: d for d in json.loads(out)["devices"]}
    assert set(listed) == {k.device_id for k in keys}
    assert [listed[k.device_id]["events"] for k in keys] == [3, 4, 5]
    assert [listed[k.device_id]["dead"] for k in keys] == [True, False, False]

    code, out, _ = run_cli(capsys, "summary", "--db", str(collector.db), "--json")
    everything = json.loads(out)
    assert code == 0 and everything["devices_registered"] == 3 and everything["devices_seen"] == 3
    assert everything["events_by_kind"] == {"app_started": 3, "operation": 9}
    assert [d["device_id"] for d in everything["dead_devices"]] == [silent]

    code, out, _ = run_cli(capsys, "summary", "--db", str(collector.db), "--since", "1d", "--json")
    recent = json.loads(out)
    assert (recent["devices_seen"], recent["batches"], recent["events"]) == (2, 2, 9)
    assert recent["events_by_kind"] == {"app_started": 2, "operation": 7}

    code, out, _ = run_cli(capsys, "devices", "--db", str(collector.db))
    assert code == 0 and out.splitlines()[0].split()[:2] == ["DEVICE", "REGISTERED"]
    assert sum("dead" in line for line in out.splitlines()) == 1
    code, out, _ = run_cli(capsys, "summary", "--db", str(collector.db), "--dead-after", "30d")
    assert "dead devices (no contact for 30d): 1" in out and "operation: 9" in out


def test_the_fleet_view_over_http_needs_the_operator_token(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: BackendCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = make_outbox(collector.url)
    fill(outbox, 4)
    flush(outbox, key)
    assert get(collector.url, "/v1/devices").status_code == 401  # no token configured, none sent
    code, out, err = run_cli(capsys, "token", "new", "--db", str(collector.db))
    token = out.strip()
    assert code == 0 and len(token) >= 40 and token not in err
    # only its digest is stored
    assert token not in json.dumps(collector.rows("SELECT * FROM operator_tokens"))

    missing = get(collector.url, "/v1/devices")
    assert (missing.status_code, missing.json()["error"]) == (401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = get(collector.url, "/v1/devices", token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert wrong.status_code == 401 and token not in wrong.text
    basic = httpx.get(f"{collector.url}/v1/devices", headers={"Authorization": f"Basic {token}"}, timeout=30)
    assert basic.status_code == 401  # the right token under another scheme

    answer = get(collector.url, "/v1/devices", token)
    assert answer.status_code == 200
    [device] = answer.json()["devices"]
    assert (device["device_id"], device["events"], device["batches"], device["dead"]) == (key.device_id, 4, 1, False)
    summary = get(collector.url, "/v1/summary?since=2000-01-01&dead_after=1h", token).json()
    assert summary["events_by_kind"] == {"operation": 4} and summary["dead_devices"] == []
    bad = get(collector.url, "/v1/devices?dead_after=soon", token)
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_query")

    # rotating: a second token works alongside, revoking the first stops it at once
    code, second, _ = run_cli(capsys, "token", "new", "--db", str(collector.db), "--name", "dashboard")
    assert get(collector.url, "/v1/devices", second.strip()).status_code == 200
    code, out, _ = run_cli(capsys, "token", "list", "--db", str(collector.db))
    assert [line.split()[0] for line in out.splitlines()] == ["dashboard", "operator"]
    assert run_cli(capsys, "token", "revoke", "--db", str(collector.db))[0] == 0
    assert get(collector.url, "/v1/devices", token).status_code == 401
    code, _, err = run_cli(capsys, "token", "revoke", "--db", str(collector.db))
    assert code == 1 and err.count("\n") == 1


def test_fleet_commands_report_bad_input_in_one_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["devices", "--db", database, "--since", "yesterday"],
        ["summary", "--db", database, "--dead-after", "0d"],
        ["summary", "--db", "ftp://example.invalid/x"],
    ):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out) == (2, "") and err.startswith("faceseal-collector: ") and err.count("\n") == 1


def test_an_unreachable_database_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "s3cr3t-pass-word"
    with pytest.raises(SystemExit):  # argparse: no --db at all
        collector_main(["devices"])
    capsys.readouterr()
    url = f"postgresql://collector:{secret}@127.0.0.1:1/nothing"
    for argv in (["devices", "--db", url], ["--db", url, "--port", "8750"]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and err.startswith("faceseal-collector: cannot open database postgresql+psycopg://collector:***@")
        assert err.count("\n") == 1 and secret not in err + out


def test_migrations_adopt_an_old_database_and_refuse_a_newer_one(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db.parse_database(database)
    engine = create_engine(url)
    with engine.begin() as conn:  # what the first collector made: three tables, no version
        db._v1_tables(conn)
        conn.execute(insert(db.devices).values(device_id="d", public_key="k", registered_at="r", last_seen_at="s"))
    engine.dispose()
    store = CollectorStore(url)
    with store.reading() as conn:
        assert conn.execute(select(db.schema_version.c.version)).scalar() == db.SCHEMA_VERSION
        assert conn.execute(select(db.devices.c.device_id)).scalars().all() == ["d"]
        assert conn.execute(select(db.operator_tokens.c.name)).all() == []
    assert db.migrate(store.engine) == db.SCHEMA_VERSION  # a second run changes nothing
    with store.engine.begin() as conn:
        conn.execute(update(db.schema_version).values(version=db.SCHEMA_VERSION + 1))
    store.close()
    code, _, err = run_cli(capsys, "summary", "--db", database)
    assert code == 2 and "upgrade the collector" in err and err.count("\n") == 1


def test_a_lost_postgresql_server_answers_503_and_the_device_keeps_its_batch(
    make_outbox: Callable[..., Outbox], key: DeviceKey
) -> None:
    server = PostgresServer().start()
    collector = BackendCollector(server.database())
    try:
        collector.start()
        outbox = make_outbox(collector.url)
        fill(outbox, 2)
        assert flush(outbox, key).delivered == 1
        server.stop()
        fill(outbox, 3, start=2)
        answer = post(collector.url, next(iter(signed_batches(1, 1, 1))))
        assert (answer.status_code, answer.json()["error"]) == (503, "unavailable")
        assert "collector:" not in answer.text and server.password not in answer.text
        report = flush(outbox, key)
        assert (report.delivered, report.pending, report.dead_lettered) == (0, 1, 0)
    finally:
        collector.stop()
        server.stop()
