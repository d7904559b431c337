"""SMART discovery: the configuration document and our public keys."""

from __future__ import annotations

import httpx

REQUIRED_CAPABILITIES = {
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "sso-openid-connect",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "authorize-post",
}


def test_smart_configuration_lists_every_endpoint_and_only_s256(secured):
    for path in ("/fhir/R4/.well-known/smart-configuration", "/.well-known/smart-configuration"):
        answer = httpx.get(secured.url + path)
        assert answer.status_code == 200, path
        config = answer.json()
        auth = f"{secured.url}/auth"
        assert config["issuer"] == auth
        assert config["jwks_uri"] == f"{auth}/jwks"
        assert config["authorization_endpoint"] == f"{auth}/authorize"
        assert config["token_endpoint"] == f"{auth}/token"
        assert config["introspection_endpoint"] == f"{auth}/introspect"
        assert config["revocation_endpoint"] == f"{auth}/revoke"
        assert set(config["grant_types_supported"]) == {
            "authorization_code",
            "client_credentials",
            "refresh_token",
        }
        assert set(config["token_endpoint_auth_methods_supported"]) == {
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        }
        assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
        assert config["code_challenge_methods_supported"] == ["S256"]
        assert config["response_types_supported"] == ["code"]
        assert {"openid", "fhirUser", "launch", "offline_access"} <= set(config["scopes_supported"])
        assert set(config["capabilities"]) >= REQUIRED_CAPABILITIES


def test_smart_configuration_follows_the_host_a_client_called(secured):
    config = httpx.get(
        secured.url + "/fhir/R4/.well-known/smart-configuration",
        headers={"Host": "pacs.example.org"},
    ).json()
    assert config["token_endpoint"] == "http://pacs.example.org/auth/token"


def test_a_browser_app_may_read_the_configuration_from_another_origin(secured):
    answer = httpx.get(
        secured.url + "/fhir/R4/.well-known/smart-configuration",
        headers={"Origin": "https://app.example.org"},
    )
    assert answer.headers["access-control-allow-origin"] == "*"


def test_jwks_publishes_public_keys_only(secured):
    keys = httpx.get(secured.url + "/auth/jwks").json()["keys"]
    assert keys and all(key["kty"] == "RSA" and "kid" in key and "d" not in key for key in keys)
