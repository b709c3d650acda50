"""Credentials from a kubeconfig or a Pod's service account, as kubectl reads them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release import connection
from prompt_release.connection import ConfigError, Credentials, UnsupportedConfigError


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _config(
    contexts: dict[str, dict[str, Any]],
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    current: str | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
    }


def _write(path: Path, config: dict[str, Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return str(path)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_current_context_with_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "conf" / "config",
        _config(
            {"dev": {"cluster": "c", "user": "u", "namespace": "team"}},
            {"c": {"server": "https://10.0.0.1:6443/", "certificate-authority": "pki/ca.crt"}},
            {"u": {"client-certificate": "pki/me.crt", "client-key": "/abs/me.key"}},
            current="dev",
        ),
    )
    found = connection.from_kubeconfig(path)
    assert found == Credentials(
        server="https://10.0.0.1:6443",
        namespace="team",
        ca_file=str(tmp_path / "conf" / "pki" / "ca.crt"),
        cert_file=str(tmp_path / "conf" / "pki" / "me.crt"),
        key_file="/abs/me.key",
    )


def test_data_fields_are_decoded_and_the_named_context_wins(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "config",
        _config(
            {"a": {"cluster": "c", "user": "u"}, "b": {"cluster": "c", "user": "t"}},
            {"c": {"server": "https://h", "certificate-authority-data": _b64("CA PEM")}},
            {
                "u": {"client-certificate-data": _b64("CERT"), "client-key-data": _b64("KEY")},
                "t": {"token": "secret", "insecure-skip-tls-verify": True},
            },
            current="a",
        ),
    )
    assert connection.from_kubeconfig(path) == Credentials(
        server="https://h", ca_data="CA PEM", cert_data="CERT", key_data="KEY"
    )
    with pytest.raises(UnsupportedConfigError, match="insecure-skip-tls-verify"):
        connection.from_kubeconfig(path, "b")  # a cluster's field set on a user: unknown there


def test_kubeconfig_files_merge_first_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write(
        tmp_path / "one",
        _config(
            {"x": {"cluster": "c", "user": "u"}}, {"c": {"server": "https://one"}}, {}, current="x"
        ),
    )
    second = _write(
        tmp_path / "two",
        _config(
            {"x": {"cluster": "c", "user": "u"}},
            {"c": {"server": "https://two"}},
            {"u": {"token": "t2"}},
            current="y",
        ),
    )
    missing = str(tmp_path / "absent")
    monkeypatch.setenv("KUBECONFIG", ":".join([first, missing, second]))
    found = connection.load()
    assert (found.server, found.token, found.namespace) == ("https://one", "t2", "default")


@pytest.mark.parametrize(
    ("user", "named"),
    [
        ({"exec": {"command": "aws"}}, "exec"),
        ({"auth-provider": {"name": "oidc"}}, "auth-provider"),
        ({"token": "t", "as": "someone"}, "as"),
    ],
)
def test_what_only_the_kubernetes_client_does_is_named(
    tmp_path: Path, user: dict[str, Any], named: str
) -> None:
    path = _write(
        tmp_path / "config",
        _config(
            {"x": {"cluster": "c", "user": "u"}}, {"c": {"server": "https://h"}}, {"u": user}, "x"
        ),
    )
    with pytest.raises(UnsupportedConfigError, match=f"uses .*{named}"):
        connection.from_kubeconfig(path)


def test_proxy_and_tls_server_name_are_the_kubernetes_clients_too(tmp_path: Path) -> None:
    cluster = {"server": "https://h", "proxy-url": "http://p", "tls-server-name": "api"}
    path = _write(
        tmp_path / "config",
        _config({"x": {"cluster": "c", "user": "u"}}, {"c": cluster}, {"u": {}}, "x"),
    )
    with pytest.raises(UnsupportedConfigError, match="proxy-url, tls-server-name"):
        connection.from_kubeconfig(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_config({}, {}, {}), "no current context"),
        (_config({"x": {"cluster": "c", "user": "u"}}, {}, {}, "x"), "cluster 'c' of context 'x'"),
        (_config({"x": {"cluster": "c"}}, {"c": {}}, {}, "x"), "has no server"),
        (_config({}, {}, {}, "gone"), "context 'gone' not found"),
    ],
)
def test_broken_kubeconfigs_say_what_is_missing(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        connection.from_kubeconfig(_write(tmp_path / "config", config))


def test_no_kubeconfig_at_all(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kubeconfig"):
        connection.load()
    with pytest.raises(ConfigError, match="does not exist"):
        connection.load(str(tmp_path / "nope"))
    (tmp_path / "bad").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        connection.load(str(tmp_path / "bad"))


def test_in_a_pod_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("first\n")
    (account / "namespace").write_text("ops\n")
    (account / "ca.crt").write_text("CA")
    monkeypatch.setattr(connection, "SERVICE_ACCOUNT", account)
    assert connection.in_cluster() is None  # not in a Pod: no service host
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    found = connection.load()
    assert found == Credentials(
        server="https://[fd00::1]:443",
        namespace="ops",
        ca_file=str(account / "ca.crt"),
        token_file=str(account / "token"),
    )
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")  # kubectl's rule: $KUBECONFIG set wins
    with pytest.raises(ConfigError, match="/elsewhere does not exist"):
        connection.load()


def test_a_token_file_is_read_again_once_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    now = [1000.0]
    monkeypatch.setattr("prompt_release.connection.time.monotonic", lambda: now[0])
    http = connection.Http(Credentials(server="https://h", token_file=str(token)), "agent")
    assert http.authorization() == {"Authorization": "Bearer first"}
    token.write_text("rotated")
    now[0] += connection.TOKEN_REREAD_AFTER - 1
    assert http.token() == "first"
    now[0] += 2
    assert http.token() == "rotated"


def test_basic_auth_and_no_auth() -> None:
    basic = connection.Http(Credentials(server="https://h", username="u", password="p"), "a")
    assert basic.authorization() == {"Authorization": "Basic dTpw"}
    assert connection.Http(Credentials(server="https://h"), "a").authorization() == {}


def test_secrets_stay_out_of_the_repr() -> None:
    shown = repr(
        Credentials(
            server="https://h", token="t0ken", password="pa55", key_data="KEY", cert_data="C"
        )
    )
    assert "https://h" in shown
    assert not any(secret in shown for secret in ("t0ken", "pa55", "KEY", "'C'"))
