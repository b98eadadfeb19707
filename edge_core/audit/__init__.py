"""The tamper-evident audit log: the hash chain (``chain``), signed evidence anyone can check offline
(``evidence``), and the sealed inbox for events that happen while the database cannot be opened (``inbox``)."""
