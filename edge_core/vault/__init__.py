"""The vault: the unlocked key hierarchy and its encrypted database (``store``), its schema and migrations,
the files of a data directory (``layout``), matching (``matching``), incoming embeddings (``embeddings``)
and the device key sealed inside it, which signs the audit head (``device``)."""
