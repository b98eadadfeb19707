"""Emitting a Qt signal from Python without losing a reference to ``True`` (a PySide6 6.12.0 bug).

On PySide6 6.12.0 every ``Signal.emit()`` called from Python returns ``True``
without owning a reference to it, so each emission takes one reference from
``True``. In Python 3.11 ``True`` is an ordinary object with a few thousand
references: a live preview emits several signals per frame, so after a minute
or two the count reaches zero and the interpreter aborts ("Fatal Python error:
bool_dealloc"). The tests found it once a liveness check emitted progress for
every frame.

:func:`emit` measures, once, how many references one emission loses (0 on a
sound PySide6) and gives exactly that many back after each emission. Worker
tasks emit through it; the few emissions made per click elsewhere cannot
exhaust the count. Remove this module once PySide6 is fixed or pinned below it.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _lost_per_emit() -> int:
    """References to True one emission loses; the smallest of a few tries, so another thread cannot inflate it."""
    probe = _Probe()
    losses = []
    for _ in range(3):
        before = sys.getrefcount(True)
        probe.ping.emit()
        losses.append(before - sys.getrefcount(True))
    return max(0, min(losses))


LOST = _lost_per_emit()


def emit(signal: SignalInstance, *args: Any) -> None:
    """``signal.emit(*args)``, then give back the references to True the emission took."""
    signal.emit(*args)
    for _ in range(LOST):
        _incref(True)
