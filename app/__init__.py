"""FaceSeal's desktop window (PySide6).

Qt code only: every action calls the same ``edge_core`` API as the ``faceseal``
command line, so the window and the CLI can never disagree about what the
vault holds or what a key operation did.
"""
