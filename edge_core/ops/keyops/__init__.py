"""The machinery of key operations: rotation, crypto-shredding, reset, key sovereignty, crash recovery.

Each one is a short sequence of steps, every step atomic on its own (a file
renamed into place, a keychain entry replaced, a token object created or
destroyed, a database transaction), ordered so that the data opens with
whatever keys are persisted after any step. The fault-injection checkpoints
between the steps are where the crash tests kill us.

Only the use cases in :mod:`edge_core.ops` call these; they add the policy
checks and the telemetry, and the front ends call them.
"""
