"""The fleet view: which devices report, when each last did, what they sent, which went silent.

Shared by ``faceseal-collector devices`` / ``summary`` and ``GET /v1/devices`` /
``GET /v1/summary``. Every time here is the collector's own clock (when a batch
was *received*), never a device's, so a device with a wrong clock cannot hide
or look alive. A device is **dead** when its last contact is older than
``dead_after`` (7 days unless told otherwise).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from faceseal_collector.database import batches, devices, events
from faceseal_collector.errors import BadDuration
from faceseal_collector.store import CollectorStore, stamp

DEFAULT_DEAD_AFTER = timedelta(days=7)

DURATION_PATTERN = r"[1-9][0-9]{0,4}[smhd]"
"""A duration as typed and as the OpenAPI document states it: no zero, no leading zero, no spaces, and at
most 99999 of a unit (273 years of days: a million days back from now is before year 1, which no date
can hold)."""
SINCE_PATTERN = rf"{DURATION_PATTERN}|[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z)?"
_DURATION = re.compile(r"([1-9][0-9]{0,4})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise BadDuration(f"{text!r} is not a duration such as 30m, 12h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from ``now`` (``24h``, ``7d``) or a UTC date ``2026-01-31`` / ``2026-01-31T08:00:00Z``."""
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        return now - parse_duration(text)
    except BadDuration:
        raise BadDuration(
            f"{text!r} is neither a duration (24h, 7d) nor a UTC date (2026-01-31 or 2026-01-31T08:00:00Z)"
        ) from None


@dataclass(frozen=True)
class DeviceView:
    device_id: str
    registered_at: str
    last_seen_at: str
    batches: int
    events: int
    dead: bool


def list_devices(
    store: CollectorStore, now: datetime, dead_after: timedelta = DEFAULT_DEAD_AFTER, since: datetime | None = None
) -> list[DeviceView]:
    """Every registered device (seen since ``since`` if given), most recent contact first."""
    dead_before = stamp(now - dead_after)
    query = select(devices.c.device_id, devices.c.registered_at, devices.c.last_seen_at)
    if since is not None:
        query = query.where(devices.c.last_seen_at >= stamp(since))
    with store.reading() as conn:
        rows = conn.execute(query.order_by(devices.c.last_seen_at.desc(), devices.c.device_id)).all()
        counts = {
            device_id: (int(n), int(total or 0))
            for device_id, n, total in conn.execute(
                select(batches.c.device_id, func.count(), func.sum(batches.c.event_count)).group_by(
                    batches.c.device_id
                )
            )
        }
    return [
        DeviceView(
            device_id=str(device_id),
            registered_at=str(registered),
            last_seen_at=str(last_seen),
            batches=counts.get(device_id, (0, 0))[0],
            events=counts.get(device_id, (0, 0))[1],
            dead=str(last_seen) < dead_before,
        )
        for device_id, registered, last_seen in rows
    ]


def summarize(
    store: CollectorStore, now: datetime, since: datetime | None = None, dead_after: timedelta = DEFAULT_DEAD_AFTER
) -> dict[str, Any]:
    """Devices registered and seen, last contact, batches and events by kind (received since ``since``), dead devices."""
    dead_before = stamp(now - dead_after)
    received = batches.c.received_at >= stamp(since) if since is not None else None
    with store.reading() as conn:
        registered = int(conn.execute(select(func.count()).select_from(devices)).scalar() or 0)
        last_contact = conn.execute(select(func.max(devices.c.last_seen_at))).scalar()
        seen_query = select(func.count()).select_from(devices)
        if since is not None:
            seen_query = seen_query.where(devices.c.last_seen_at >= stamp(since))
        seen = int(conn.execute(seen_query).scalar() or 0)
        batch_query = select(func.count(), func.sum(batches.c.event_count))
        if received is not None:
            batch_query = batch_query.where(received)
        batch_count, event_count = conn.execute(batch_query).one()
        kind_query = select(events.c.kind, func.count()).group_by(events.c.kind).order_by(events.c.kind)
        if received is not None:
            kind_query = kind_query.join_from(events, batches, events.c.batch_id == batches.c.batch_id).where(
                received
            )
        by_kind = {str(kind): int(n) for kind, n in conn.execute(kind_query)}
        dead = conn.execute(
            select(devices.c.device_id, devices.c.last_seen_at)
            .where(devices.c.last_seen_at < dead_before)
            .order_by(devices.c.last_seen_at, devices.c.device_id)
        ).all()
    return {
        "now": stamp(now),
        "since": stamp(since) if since is not None else None,
        "devices_registered": registered,
        "devices_seen": seen,
        "last_contact": last_contact,
        "batches": int(batch_count or 0),
        "events": int(event_count or 0),
        "events_by_kind": by_kind,
        "dead_after_s": int(dead_after.total_seconds()),
        "dead_devices": [{"device_id": str(d), "last_seen_at": str(t)} for d, t in dead],
    }


def devices_document(views: list[DeviceView], now: datetime, dead_after: timedelta) -> dict[str, Any]:
    """The JSON of ``GET /v1/devices`` and ``faceseal-collector devices --json``."""
    return {
        "now": stamp(now),
        "dead_after_s": int(dead_after.total_seconds()),
        "devices": [asdict(view) for view in views],
    }
