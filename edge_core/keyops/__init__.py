"""Key operations: rotation, crypto-shredding, reset, key sovereignty, and finishing what a crash interrupted.

Each one is a short sequence of steps, every step atomic on its own (a file
renamed into place, a keychain entry replaced, a token object created or
destroyed, a database transaction), ordered so that the data opens with
whatever keys are persisted after any step. The fault-injection checkpoints
between the steps are where the crash tests kill us.
"""

from .byok import generate_root_key, import_root_key
from .hsm import move_root_to_hsm, move_root_to_keychain
from .recovery_kit import export_recovery_kit, restore_recovery_kit
from .reset import reset
from .revoke import revoke_root_key
from .rotate import delete_identity, rotate_key
from .sovereignty import apply_start_policy, rotation_due

__all__ = [
    "apply_start_policy", "delete_identity", "export_recovery_kit", "generate_root_key", "import_root_key",
    "move_root_to_hsm", "move_root_to_keychain", "reset", "restore_recovery_kit", "revoke_root_key",
    "rotate_key", "rotation_due",
]
