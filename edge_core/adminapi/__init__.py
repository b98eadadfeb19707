"""The local admin API: ``faceseal serve`` (FastAPI on a loopback address, bearer token)."""
