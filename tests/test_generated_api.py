"""Schemathesis generates requests from the OpenAPI document and sends them in process, with a key of
each role: no 5xx, and every response matches its documented status codes, media type and schema.

Excluded checks, and why:
- positive_data_acceptance: schema-valid data may still break a domain rule the schema cannot state
  (a parent vendor that does not exist, a contract that does not cover a disclosure) and then gets a
  documented 404/409/422 — correct, but that check counts it as a rejection.
Raw-body uploads (contract documents, evidence, PDF verification) take no JSON body, so the generator
exercises their parameters and the 415 for a missing file; their content is tested by hand elsewhere.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from registry.app import create_app
from registry.enums import Role
from registry.keys.service import create_key


@pytest.fixture
def settings_for_schema(settings):
    return settings.model_copy(update={"verify_rate_per_minute": 100_000})


@pytest.fixture
def role_keys(settings_for_schema) -> dict[Role, str]:
    """Keys made through the service on the test's database, from a fresh event loop."""
    import asyncio

    from registry import db
    from registry.auth import WriteContext

    async def make() -> dict[Role, str]:
        db.use_engine(db.build_engine(settings_for_schema))
        ctx = WriteContext(actor="test-setup")
        return {role: (await create_key(ctx, f"fuzz-{role.value}", role)).secret for role in Role}

    return asyncio.run(make())


def test_generated_requests(settings_for_schema, role_keys):
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(settings_for_schema))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    calls: dict[str, int] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case):
            for role in (Role.admin, Role.viewer, Role.lookup):
                calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {role_keys[role]}"},
                    excluded_checks=[positive_data_acceptance],
                )

        check()
    assert set(calls) == {operation.label for operation in operations}  # every endpoint was exercised
