"""Who may call the API and who is recorded as having done it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from scaling.api.auth import AuthConfig, AuthError, authenticate
from scaling.page.app import create_app
from tests.fixtures.api_world import AUTH, KEY, NOW, Clock

PRINCIPAL = {"X-MS-CLIENT-PRINCIPAL-NAME": "alice@contoso.com"}


def config(*, key: str | None = KEY, host: bool = False, trust: bool = False) -> AuthConfig:
    return AuthConfig(api_key=key, behind_functions_host=host, trust_principal_header=trust)


def headers(**items: str) -> dict[str, str]:
    return {k.lower().replace("_", "-"): v for k, v in items.items()}


def test_a_bearer_key_is_the_actor_api_key():
    assert authenticate(config(), headers(authorization=f"Bearer {KEY}")).actor == "api-key"


def test_the_bearer_scheme_is_case_insensitive():
    assert authenticate(config(), headers(authorization=f"bearer {KEY}")).via == "api-key"


def test_another_scheme_is_refused_in_the_reference_words():
    with pytest.raises(AuthError) as refused:
        authenticate(config(), headers(authorization=f"Basic {KEY}"))
    assert refused.value.detail == "Invalid authorization format. Use: Bearer <api-key>"


def test_a_bare_key_in_the_authorization_header_is_a_format_error_as_in_the_reference():
    with pytest.raises(AuthError, match="Invalid authorization format"):
        authenticate(config(), headers(authorization=KEY))


def test_no_key_at_all_is_the_reference_header_required_error():
    with pytest.raises(AuthError, match="^Authorization header required"):
        authenticate(config(), {})


def test_a_wrong_bearer_key_is_the_reference_invalid_api_key_error():
    with pytest.raises(AuthError, match="^Invalid API key"):
        authenticate(config(), headers(authorization="Bearer wrong-key"))


def test_a_trusted_principal_gets_in_whatever_its_authorization_header_holds():
    caller = authenticate(config(trust=True), headers(authorization="Basic x", x_ms_client_principal_name="bob"))
    assert caller.actor == "bob"


def test_a_key_that_only_starts_like_the_real_one_is_refused():
    with pytest.raises(AuthError, match="Invalid API key"):
        authenticate(config(), headers(x_api_key=KEY[:-1]))


def test_an_untrusted_principal_header_is_ignored():
    caller = authenticate(config(), headers(authorization=f"Bearer {KEY}", **{"x_ms_client_principal_name": "mallory"}))
    assert caller.actor == "api-key"
    with pytest.raises(AuthError):
        authenticate(config(), headers(x_ms_client_principal_name="mallory"))


def test_a_trusted_principal_is_the_actor_and_needs_no_api_key():
    caller = authenticate(config(trust=True), headers(x_ms_client_principal_name="alice@contoso.com"))
    assert (caller.actor, caller.via) == ("alice@contoso.com", "principal")


def test_a_trusted_principal_with_the_key_is_still_named():
    caller = authenticate(
        config(trust=True), headers(authorization=f"Bearer {KEY}", x_ms_client_principal_name="alice@contoso.com")
    )
    assert caller.actor == "alice@contoso.com"


def test_a_principal_name_is_cleaned_of_control_characters_and_bounded():
    caller = authenticate(config(trust=True), headers(x_ms_client_principal_name="ali\x1bce" + "x" * 500))
    assert caller.actor.startswith("alice") and len(caller.actor) == 200


def test_behind_the_functions_host_without_a_key_the_actor_is_the_function_key():
    assert authenticate(config(key=None, host=True), {}).actor == "function-key"


def test_outside_the_host_without_a_key_everything_is_refused():
    with pytest.raises(AuthError, match="API key required"):
        authenticate(config(key=None), headers(authorization="Bearer anything"))


@pytest.mark.parametrize(
    ("env", "trusted"),
    [
        ({}, False),
        ({"WEBSITE_SITE_NAME": "func-x"}, False),  # on App Service, but its authentication is off
        ({"WEBSITE_AUTH_ENABLED": "True"}, True),  # App Service authentication sets and strips the header
        ({"SCALING_TRUST_PRINCIPAL_HEADER": "true"}, True),
        ({"SCALING_TRUST_PRINCIPAL_HEADER": "false", "WEBSITE_AUTH_ENABLED": "False"}, False),
    ],
)
def test_the_principal_header_is_trusted_only_when_app_service_authentication_is_on_or_configured(env, trusted):
    assert AuthConfig.from_env(api_key=KEY, behind_functions_host=True, env=env).trust_principal_header is trusted


@pytest.mark.integration
def test_a_trusted_principal_is_recorded_in_the_override_and_the_audit(world):
    app = create_app(lambda: world.context, world.settings, clock=Clock(NOW), auth=config(trust=True))
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/projects/project-a/override", headers=PRINCIPAL, json={"action": "down", "reason": "offsite"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["override"]["actor"] == "alice@contoso.com"
    [override] = world.context.overrides.all()
    assert override.actor == "alice@contoso.com"
    actors = {(row.action, row.actor) for row in world.audit_rows("project-a")}
    assert ("override-set", "alice@contoso.com") in actors
    assert ("scale-down", "alice@contoso.com") in actors


@pytest.mark.integration
def test_a_forged_principal_header_changes_nothing_when_it_is_not_trusted(world):
    response = world.client.post(
        "/api/v1/projects/project-a/override",
        headers={**AUTH, **PRINCIPAL},
        json={"action": "down", "reason": "offsite"},
    )
    assert response.json()["override"]["actor"] == "api-key"
