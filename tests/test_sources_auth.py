"""OAuth2 client credentials are built in one place (``auth.client_credentials``) for Thrive
and Brightspace: same secrets handling, same binding to the source's own HTTP client."""

from __future__ import annotations

import pytest

from reconcile.config import BrightspaceSource, ThriveSource
from reconcile.errors import ConfigError
from reconcile.sources import brightspace, thrive
from reconcile.sources.auth import ClientCredentials
from reconcile.sources.http import HttpPolicy

POLICY = HttpPolicy(concurrency=1)


def test_both_platforms_build_oauth_from_their_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("T_ID", "thrive-id")
    monkeypatch.setenv("T_SECRET", "thrive-secret")
    monkeypatch.setenv("B_ID", "bs-id")
    monkeypatch.setenv("B_SECRET", "bs-secret")
    t_source = ThriveSource(
        base_url="https://t.example/rest/v1",
        tenant_id="ten",
        auth="oauth2",
        client_id_env="T_ID",
        client_secret_env="T_SECRET",
        scope="read",
    )
    b_source = BrightspaceSource(
        base_url="https://b.example", client_id_env="B_ID", client_secret_env="B_SECRET"
    )
    with (
        thrive.make_client(t_source, POLICY) as t_client,
        brightspace.make_client(b_source, POLICY) as b_client,
    ):
        for client, url, scope in (
            (t_client, "https://t.example/oauth2/token/ten", "read"),
            (b_client, "https://b.example/core/connect/token", None),
        ):
            auth = client.auth
            assert isinstance(auth, ClientCredentials)
            assert (auth.token_url, auth.scope, auth._client) == (url, scope, client)
            assert "thrive-secret" not in repr(auth) and "bs-secret" not in repr(auth)
        assert t_client.credentials == "T_ID / T_SECRET"


def test_missing_oauth_variable_names_the_platforms_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_ID", raising=False)
    source = BrightspaceSource(
        base_url="https://b.example", client_id_env="NOPE_ID", client_secret_env="NOPE_SECRET"
    )
    with pytest.raises(ConfigError, match=r"NOPE_ID .*sources\.brightspace\.client_id_env"):
        brightspace.make_client(source, POLICY)
