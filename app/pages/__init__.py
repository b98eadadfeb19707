"""One module per page of the window; each calls edge_core through the session, off the UI thread."""
