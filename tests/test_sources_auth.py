"""Each platform's auth is built from its config in one place: the secrets come from the
environment or the files the config names, every one of them feeds the client's scrubber,
and none appears in a ``repr``. Brightspace builds the auth ``auth`` chooses (DESIGN.md §4):
D2L offers no client-secret grant for unattended runs, so there is none."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconcile.config import BrightspaceSource, ThriveSource, load
from reconcile.errors import ConfigError
from reconcile.sources import brightspace, thrive
from reconcile.sources.auth import ClientCredentials, PrivateKeyJwt, RefreshToken, StaticBearer
from reconcile.sources.http import HttpPolicy

POLICY = HttpPolicy(concurrency=1)


def test_thrive_builds_oauth_from_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_ID", "thrive-id")
    monkeypatch.setenv("T_SECRET", "thrive-secret")
    source = ThriveSource(
        base_url="https://t.example/rest/v1",
        tenant_id="ten",
        auth="oauth2",
        client_id_env="T_ID",
        client_secret_env="T_SECRET",
        scope="read",
    )
    with thrive.make_client(source, POLICY) as client:
        auth = client.auth
        assert isinstance(auth, ClientCredentials)
        assert (auth.token_url, auth.scope, auth.client) == (
            "https://t.example/oauth2/token/ten",
            "read",
            client,
        )
        assert "thrive-secret" not in repr(auth)
        assert client.credentials == "T_ID / T_SECRET"
        assert client.scrubber.clean("echo thrive-secret") == "echo ***"


def test_brightspace_builds_the_auth_its_config_chooses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("B_ID", "bs-id")
    monkeypatch.setenv("B_SECRET", "bs-secret")
    monkeypatch.setenv("B_TOKEN", "bs-static-token")
    refresh_file = tmp_path / "refresh"
    refresh_file.write_text("rt-0001\n")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    monkeypatch.setenv("B_KEY", pem)
    base = "https://b.example"
    sources = {
        RefreshToken: (
            BrightspaceSource(
                base,
                auth="refresh_token",
                client_id_env="B_ID",
                client_secret_env="B_SECRET",
                refresh_token_file=refresh_file,
            ),
            ("bs-secret", "rt-0001"),
        ),
        PrivateKeyJwt: (
            BrightspaceSource(
                base, auth="private_key_jwt", client_id_env="B_ID", private_key_env="B_KEY"
            ),
            (pem.strip(),),
        ),
        StaticBearer: (
            BrightspaceSource(base, auth="token", token_env="B_TOKEN"),
            ("bs-static-token",),
        ),
    }
    for kind, (source, held) in sources.items():
        with brightspace.make_client(source, POLICY) as client:
            auth = client.auth
            assert type(auth) is kind
            for secret in held:
                assert secret not in repr(auth)
                assert client.scrubber.clean(f"x {secret} y") == "x *** y"
            if kind is not StaticBearer:
                assert auth.token_url == "https://auth.brightspace.com/core/connect/token"


def test_missing_oauth_variable_names_the_platforms_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_ID", raising=False)
    source = BrightspaceSource(
        base_url="https://b.example",
        auth="private_key_jwt",
        client_id_env="NOPE_ID",
        private_key_env="NOPE_KEY",
    )
    with pytest.raises(ConfigError, match=r"NOPE_ID .*sources\.brightspace\.client_id_env"):
        brightspace.make_client(source, POLICY)


def test_a_private_key_that_is_not_one_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("B_ID", "bs-id")
    monkeypatch.setenv("B_KEY", "not a key at all")
    source = BrightspaceSource(
        "https://b.example", auth="private_key_jwt", client_id_env="B_ID", private_key_env="B_KEY"
    )
    with pytest.raises(ConfigError, match="not an RSA private key") as caught:
        brightspace.make_client(source, POLICY)
    assert "not a key at all" not in str(caught.value)


BRIGHTSPACE_ONLY = """
[organisation]
name = "Acme"
[period]
start = 2026-01-01
end = 2026-12-31
[roster]
path = "roster.csv"
[sources.brightspace]
base_url = "https://acme.brightspace.com"
{auth}
"""


@pytest.mark.parametrize(
    ("auth", "said"),
    [
        (
            'client_id_env = "B_ID"\nclient_secret_env = "B_SECRET"',
            "D2L offers unattended access only by refresh token or by a private-key JWT",
        ),
        ('auth = "client_credentials"', 'use one of "refresh_token", "private_key_jwt", "token"'),
        (
            'auth = "refresh_token"\nclient_id_env = "B_ID"\nclient_secret_env = "B_SECRET"',
            "refresh_token_file is missing",
        ),
        (
            'auth = "private_key_jwt"\nclient_id_env = "B_ID"',
            "private_key_file and private_key_env",
        ),
    ],
)
def test_brightspace_config_without_a_d2l_grant_says_which_to_choose(
    tmp_path: Path, auth: str, said: str
) -> None:
    (tmp_path / "roster.csv").write_text("employee_id,email,name\n1,a@x.org,A\n")
    path = tmp_path / "reconcile.toml"
    path.write_text(BRIGHTSPACE_ONLY.format(auth=auth))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert said in str(caught.value)


def test_brightspace_config_defaults_to_d2ls_token_url(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("employee_id,email,name\n1,a@x.org,A\n")
    (tmp_path / "refresh").write_text("rt\n")
    path = tmp_path / "reconcile.toml"
    auth = 'auth = "refresh_token"\nclient_id_env = "I"\nclient_secret_env = "S"\n'
    path.write_text(BRIGHTSPACE_ONLY.format(auth=auth + 'refresh_token_file = "refresh"'))
    source = load(path).sources["brightspace"]
    assert source.token_url == "https://auth.brightspace.com/core/connect/token"
    assert source.refresh_token_file == (tmp_path / "refresh").resolve()


def test_the_jwks_to_publish_names_the_key_as_the_sandbox_app_does() -> None:
    """The kid reconcile signs with and publishes is the RFC 7638 thumbprint, computed the
    same by the sandbox's own (independent) JWKS of its app key."""
    import json

    from reconcile.sandbox import Sandbox
    from reconcile.sandbox.platform import brightspace_app_jwks
    from reconcile.sources.auth import public_jwks

    published = json.loads(public_jwks(Sandbox.brightspace_private_key_pem()))["keys"][0]
    expected = brightspace_app_jwks()["keys"][0]
    assert {k: published[k] for k in ("kty", "n", "e", "kid")} == {
        k: expected[k] for k in ("kty", "n", "e", "kid")
    }
    assert "d" not in published  # never the private part
