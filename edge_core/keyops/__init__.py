"""Key operations: rotation, crypto-shredding, reset, and finishing what a crash interrupted.

Each one is a short sequence of steps, every step atomic on its own (a file
renamed into place, a keychain entry replaced, a database transaction), ordered
so that the data opens with whatever keys are persisted after any step. The
fault-injection checkpoints between the steps are where the crash tests kill us.
"""

from .reset import reset
from .rotate import delete_identity, rotate_key

__all__ = ["delete_identity", "reset", "rotate_key"]
