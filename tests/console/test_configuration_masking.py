"""Secrets never reach the configuration page."""

from __future__ import annotations

from pacsbridge.console.views.configuration import MASK, masked, masked_url


def test_a_database_password_is_hidden_and_the_rest_kept():
    assert (
        masked_url("postgresql://pb:s3cret@db:5432/pacs") == f"postgresql://pb:{MASK}@db:5432/pacs"
    )
    assert masked_url("sqlite:///data/pacsbridge.db") == "sqlite:///data/pacsbridge.db"


def test_secret_keys_are_hidden_at_any_depth():
    found = masked({"tls_key": "/etc/key.pem", "nested": [{"client_secret": "x", "name": "a"}],
                    "password": "", "url": "https://u:p@h/x"})  # fmt: skip
    assert found["nested"][0] == {"client_secret": MASK, "name": "a"}
    assert found["tls_key"] == "/etc/key.pem"  # a path, not the key
    assert found["password"] == "" and MASK in found["url"] and ":p@" not in found["url"]
