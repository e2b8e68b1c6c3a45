"""Schemathesis over the app's own OpenAPI document, with the API key, against Azurite and the emulator:
whatever it generates, valid or not, the app never answers with a 5xx, and always answers with a
status and a body its document declares. Bounded: a few examples per operation and mode, so the file
runs in well under a minute.

(Schemathesis' own pytest integration reads a pytest-internal attribute pytest 9 no longer has, so the
operations are parametrized here and each is driven with Hypothesis directly.)"""

from __future__ import annotations

import dataclasses

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from scaling.page.app import create_app
from scaling.settings import Settings
from tests.fixtures.api_world import AUTH, KEY

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every operation, read from the document alone (no storage needed).
    Negative mode only where there is something to break (parameters or a body)."""
    app = create_app(lambda: None, dataclasses.replace(Settings.from_env({}), api_key=KEY))
    cases = []
    for path, item in sorted(app.openapi()["paths"].items()):
        for method, operation in sorted(item.items()):
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), _cases(), ids=lambda v: str(v))
def test_no_input_makes_the_api_fail_or_answer_off_its_contract(world, method, path, mode):
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    run()
