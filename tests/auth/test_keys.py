"""Key rotation: tokens signed before keep working after a new key signs."""

from __future__ import annotations

from pacsbridge.auth.keys import KeyRing, rotate
from pacsbridge.auth.tokens import Grantee, issue_access_token
from tests.auth.flows import Authorization, fhir_get, new_client, new_user


def test_a_token_issued_before_a_rotation_still_works(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    before = flow.tokens(new_user(store))
    kid = rotate(store.database)
    fresh = KeyRing(store.database)  # what another (or a restarted) process signs with now
    grantee = Grantee(
        subject="s",
        client_id=flow.client_id,
        scope="patient/*.rs",
        kind="user",
        patient=before["patient"],
        role="patient",
    )
    after, claims = issue_access_token(
        fresh,
        grantee,
        issuer=f"{secured.url}/auth",
        audience=f"{secured.url}/fhir/R4",
        lifetime=300,
    )
    assert fresh.decode(after) == claims
    assert kid in {key["kid"] for key in fresh.public_jwks()["keys"]}
    path = f"Patient/{before['patient']}"
    assert fhir_get(secured, path, after).status_code == 200  # the server learns the new key
    assert fhir_get(secured, path, before["access_token"]).status_code == 200
    published = {key["kid"] for key in secured.app.state.keys.public_jwks()["keys"]}
    assert kid in published and len(published) >= 2
