"""The methods a path of one of FaceSeal's HTTP APIs answers (the admin API, the operator's collector), and
whether the route a request reaches reads a body at all.

Starlette answers a method a path does not take with 405 and the methods of
the *first* route whose path matched, and OPTIONS likewise; where a path has
one route per method (``GET`` and ``PUT /thresholds/{pack}``), that names one
of them. RFC 9110 asks ``Allow`` to name every method of the resource, so both
APIs take it from here.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> str | None:
    """The ``Allow`` value for ``path`` (every method of every route matching it, and OPTIONS); None: no route."""
    methods: set[str] = set()
    for route in routes:
        pattern, taken = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if pattern is not None and taken and pattern.match(path):
            methods |= taken
    return ", ".join(sorted(methods | {"OPTIONS"})) if methods else None


def takes_no_body(routes: Iterable[BaseRoute], scope: Scope) -> bool:
    """Whether the route ``scope`` reaches (path and method) is documented without a request body.

    FastAPI ignores a body sent to such a route, so ``POST /identities/alice/delete`` with ``{"dry_run": true}``
    would delete alice: a security API refuses a request it does not understand instead of acting on part of it.
    """
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return isinstance(route, APIRoute) and route.body_field is None
    return False
