"""What every layer stands on: paths and private files, the cross-process lock, crash checkpoints,
the SQLCipher connection and its ``meta`` table, canonical JSON, and files written where a person asked."""
