"""The operator's telemetry collector: verifies signed batches and stores their events.

``store`` is its sqlite database, ``app`` the FastAPI application, ``cli`` the
``faceseal-collector`` entry point. It runs on the operator's server, never on
a FaceSeal device, so it uses the standard sqlite3 rather than the vault.
"""
