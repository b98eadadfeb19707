"""Schemathesis fuzzes the admin API against its own OpenAPI document, over real HTTP.

Every generated request (valid and invalid bodies, odd identity names) must get
an answer the document describes: never a 500, never an undocumented status or
shape. Hypothesis drives schemathesis' strategies directly (its pytest plugin
does not load under this pytest), one operation at a time, bounded in count.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.sovereignty.test_api import Server, server  # noqa: F401  (the fixture)


def test_api_conforms_to_its_own_openapi_document(server: Server) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_url(server.base + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server.base, headers=server.headers())

        fuzz()
