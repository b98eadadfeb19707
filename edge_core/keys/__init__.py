"""The key hierarchy: root (L1) -> vault keys (L2) -> identity keys (L3) -> template keys (L4).

docs/KEYS.md draws the picture and states the threat model.
"""
