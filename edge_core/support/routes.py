"""The methods a path of one of FaceSeal's HTTP APIs answers (the admin API, the operator's collector), and
what a request carries that the route it reaches never reads (a body, a query parameter).

Starlette answers a method a path does not take with 405 and the methods of
the *first* route whose path matched, and OPTIONS likewise; where a path has
one route per method (``GET`` and ``PUT /thresholds/{pack}``), that names one
of them. RFC 9110 asks ``Allow`` to name every method of the resource, so both
APIs take it from here.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.dependencies.models import Dependant
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


def unread_part(routes: Iterable[BaseRoute], scope: Scope, query: Iterable[str], has_body: bool) -> str | None:
    """What a request carries that the route it reaches (path and method) never reads, or None.

    FastAPI ignores a body sent to a route that takes none and a query parameter it does not name, so
    ``POST /identities/alice/delete`` with ``{"dry_run": true}`` (or ``?dry_run=1``) would delete alice: a
    security API refuses a request it does not understand instead of acting on the part it does.
    """
    route = next((route for route in routes if route.matches(scope)[0] is Match.FULL), None)
    if not isinstance(route, APIRoute):
        return None
    if has_body and route.body_field is None and "requestBody" not in (route.openapi_extra or {}):
        return "takes no request body"  # a route that reads its own body documents it in openapi_extra
    unknown = sorted(set(query) - _query_names(route.dependant))
    return f"takes no query parameter {unknown[0]!r}" if unknown else None


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route's endpoint and its dependencies read."""
    return {param.alias for param in dependant.query_params}.union(*map(_query_names, dependant.dependencies))
