"""Schemathesis fuzzes the admin API against its own OpenAPI document, over real HTTP.

Every generated request (valid and invalid bodies, odd identity names) must get
an answer the document describes: never a 500, never an undocumented status or
shape. A schema-valid request may still be refused with a documented 400
(a threshold outside the policy, an all-zero embedding: rules no JSON schema
states), so schemathesis' "valid data is accepted" check is left out; every
other check stays. Hypothesis drives schemathesis' strategies directly (its pytest plugin
does not load under this pytest), one operation at a time, bounded in count.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.adminapi.conftest import Server


def test_api_conforms_to_its_own_openapi_document(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.base + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16  # every route of the document, the destructive ones too
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server.base, headers=server.headers(),
                                  excluded_checks=[positive_data_acceptance])

        fuzz()
