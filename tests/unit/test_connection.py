"""Credentials from a kubeconfig or a Pod's service account, as kubectl reads them, and what the
client derives from each form: headers sent (to a local HTTP server), TLS settings, proxies."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prompt_release import connection, kube
from prompt_release.connection import (
    ConfigError,
    Credentials,
    ExecConfig,
    Impersonation,
    UnsupportedConfigError,
)
from prompt_release.kube import Http, Kube


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


def _one(
    tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None, **context: Any
) -> str:
    """A kubeconfig of one context `x` (cluster `c`, user `u`)."""
    return _write(
        tmp_path / "config",
        _config(
            {"x": {"cluster": "c", "user": "u", **context}},
            {"c": cluster or {"server": "https://h"}},
            {"u": user},
            "x",
        ),
    )


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "KUBECONFIG",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# -- a local server that records what the client sends -----------------------------------------


@dataclass
class Recorder:
    """A plain-HTTP stand-in for the API server: records each request's headers and answers
    with the statuses queued in `answers` (then 200)."""

    url: str
    seen: list[dict[str, list[str]]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            found.seen.append(headers)
            status = found.answers.pop(0) if found.answers else 200
            body = b'{"kind":"Status"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def _get(kubeconfig: str, **overrides: Any) -> Kube:
    kube = Kube.connect(kubeconfig, timeout=5, retries=0, **overrides)
    kube.call("GET", "/api")
    return kube


# -- where the kubeconfig is, and which context -------------------------------------------------


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


def test_data_fields_are_decoded_win_over_files_and_the_named_context_wins(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "config",
        _config(
            {"a": {"cluster": "c", "user": "u"}, "b": {"cluster": "c", "user": "t"}},
            {
                "c": {
                    "server": "https://h",
                    "certificate-authority-data": _b64("CA PEM"),
                    "certificate-authority": "ignored.crt",
                }
            },
            {
                "u": {
                    "client-certificate-data": _b64("CERT"),
                    "client-key-data": _b64("KEY"),
                    "client-certificate": "ignored.crt",
                },
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


@pytest.mark.parametrize(
    ("user", "cluster", "message"),
    [
        ({"tokn": "typo"}, {}, "user of context 'x' uses tokn"),
        ({}, {"proxy": "http://p"}, "cluster of context 'x' uses proxy"),
        ({"exec": {"command": "c", "apiVersion": "v", "shell": "x"}}, {}, "exec .* uses shell"),
        ({"auth-provider": {"name": "oidc"}}, {}, "auth-provider 'oidc'.*exec credential plugin"),
    ],
)
def test_unknown_fields_are_refused_never_skipped(
    tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnsupportedConfigError, match=message):
        connection.from_kubeconfig(_one(tmp_path, user, {"server": "https://h", **cluster}))


# -- tokens, basic auth, the service account ---------------------------------------------------


def test_token_and_the_context_namespace_reach_the_server(
    tmp_path: Path, recorder: Recorder
) -> None:
    client = _get(_one(tmp_path, {"token": "s3cret"}, {"server": recorder.url}, namespace="team"))
    assert client.namespace == "team"
    assert recorder.seen[0]["authorization"] == ["Bearer s3cret"]
    assert recorder.seen[0]["user-agent"] == [kube.PLUGIN_AGENT]


def test_a_token_wins_over_a_token_file_as_in_kubectl(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    both = connection.from_kubeconfig(_one(tmp_path, {"token": "inline", "tokenFile": "token"}))
    assert (both.read_token(), both.token_file) == ("inline", None)
    only = connection.from_kubeconfig(_one(tmp_path, {"tokenFile": "token"}))
    assert (only.read_token(), only.token_file) == ("from-file", str(tmp_path / "token"))


def test_a_token_file_is_read_again_once_a_minute_and_after_a_401(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    now = [1000.0]
    monkeypatch.setattr("prompt_release.kube.time.monotonic", lambda: now[0])
    http = Http(Credentials(server=recorder.url, token_file=str(token)), "agent", retries=0)
    assert http.authorization() == {"Authorization": "Bearer first"}
    token.write_text("rotated")
    now[0] += kube.TOKEN_REREAD_AFTER - 1
    assert http.token() == "first"
    now[0] += 2
    assert http.token() == "rotated"
    token.write_text("third")
    recorder.answers.append(401)  # the API server no longer takes "rotated": read the file now
    assert http.request("GET", "/api").status == 200
    sent = [seen["authorization"] for seen in recorder.seen]
    assert sent == [["Bearer rotated"], ["Bearer third"]]


def test_a_static_token_refused_is_not_sent_again(tmp_path: Path, recorder: Recorder) -> None:
    recorder.answers.append(401)
    http = Http(Credentials(server=recorder.url, token="old"), "agent", retries=0)
    assert http.request("GET", "/api").status == 401
    assert len(recorder.seen) == 1


def test_basic_auth_no_auth_and_not_both(tmp_path: Path, recorder: Recorder) -> None:
    _get(_one(tmp_path, {"username": "u", "password": "p"}, {"server": recorder.url}))
    assert recorder.seen[0]["authorization"] == ["Basic dTpw"]
    _get(_one(tmp_path, {}, {"server": recorder.url}))
    assert "authorization" not in recorder.seen[1]
    with pytest.raises(ConfigError, match="username/password or bearer token"):
        connection.from_kubeconfig(_one(tmp_path, {"token": "t", "username": "u"}))


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
    (account / "token").write_text("rotated\n")
    assert found.read_token() == "rotated"
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")  # kubectl's rule: $KUBECONFIG set wins
    with pytest.raises(ConfigError, match="/elsewhere does not exist"):
        connection.load()


# -- impersonation -----------------------------------------------------------------------------


IMPERSONATING = {
    "token": "t",
    "as": "alice",
    "as-uid": "1234",
    "as-groups": ["viewers", "auditors"],
    "as-user-extra": {"scopes.example.com/team": ["a b", "c"]},
}


def test_impersonation_becomes_the_impersonate_headers(tmp_path: Path, recorder: Recorder) -> None:
    _get(_one(tmp_path, IMPERSONATING, {"server": recorder.url}))
    seen = recorder.seen[0]
    assert seen["impersonate-user"] == ["alice"]
    assert seen["impersonate-uid"] == ["1234"]
    assert seen["impersonate-group"] == ["viewers", "auditors"]  # one header line each
    assert seen["impersonate-extra-scopes.example.com%2fteam"] == ["a b", "c"]


def test_as_flags_override_the_kubeconfig_field_by_field(
    tmp_path: Path, recorder: Recorder
) -> None:
    path = _one(tmp_path, IMPERSONATING, {"server": recorder.url})
    _get(path, as_user="bob")
    _get(path, as_groups=["admins", "ops"], as_uid="99")
    first, second = recorder.seen
    assert (first["impersonate-user"], first["impersonate-group"]) == (
        ["bob"],
        ["viewers", "auditors"],
    )
    assert (second["impersonate-user"], second["impersonate-group"]) == (
        ["alice"],
        ["admins", "ops"],
    )
    assert second["impersonate-uid"] == ["99"]
    plain = _one(tmp_path, {"token": "t"}, {"server": recorder.url})
    _get(plain, as_user="carol", as_groups=["g"])
    assert recorder.seen[2]["impersonate-group"] == ["g"]


def test_impersonating_groups_without_a_user_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="needs a user to impersonate"):
        connection.load(_one(tmp_path, {"token": "t"}), as_groups=["g"])
    with pytest.raises(ConfigError, match="needs a user"):
        connection.load(_one(tmp_path, {"token": "t", "as-groups": ["g"]}))
    assert not Impersonation()


# -- exec credential plugins -------------------------------------------------------------------


def _plugin(tmp_path: Path, name: str = "plugin.py") -> Path:
    """A credential plugin: prints the ExecCredential of $CREDENTIAL (or a token one), after
    counting its runs and keeping what it was told (KUBERNETES_EXEC_INFO) beside itself."""
    script = tmp_path / "bin" / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys\n"
        "here = pathlib.Path(__file__).parent\n"
        "runs = here / 'runs'\n"
        "runs.write_text(str(int(runs.read_text() if runs.exists() else 0) + 1))\n"
        "(here / 'info.json').write_text(os.environ.get('KUBERNETES_EXEC_INFO', ''))\n"
        "(here / 'argv.json').write_text(json.dumps(sys.argv[1:]))\n"
        "if os.environ.get('FAIL'):\n"
        "    sys.exit(3)\n"
        "status = json.loads(os.environ.get('CREDENTIAL') or '{}') or {'token': 'from-exec'}\n"
        "print(json.dumps({'apiVersion': os.environ.get('VERSION', "
        "'client.authentication.k8s.io/v1'), 'kind': 'ExecCredential', 'status': status}))\n"
    )
    script.chmod(0o755)
    return script


def _exec_user(version: str = "client.authentication.k8s.io/v1", **extra: Any) -> dict[str, Any]:
    spec = {"apiVersion": version, "command": "bin/plugin.py", "interactiveMode": "Never"}
    return {"exec": {**spec, **extra}}


def _runs(tmp_path: Path) -> int:
    return int((tmp_path / "bin" / "runs").read_text())


def test_exec_plugin_token_is_run_once_and_cached(tmp_path: Path, recorder: Recorder) -> None:
    _plugin(tmp_path)
    user = _exec_user(
        args=["--region", "eu"],
        env=[{"name": "VERSION", "value": "client.authentication.k8s.io/v1"}],
    )
    client = _get(_one(tmp_path, user, {"server": recorder.url}))
    client.call("GET", "/api")
    assert [s["authorization"] for s in recorder.seen] == [["Bearer from-exec"]] * 2
    assert _runs(tmp_path) == 1  # relative command: from the kubeconfig's folder
    assert json.loads((tmp_path / "bin" / "argv.json").read_text()) == ["--region", "eu"]
    info = json.loads((tmp_path / "bin" / "info.json").read_text())
    assert info == {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }


def test_exec_plugin_runs_again_when_expired_or_refused(tmp_path: Path, recorder: Recorder) -> None:
    _plugin(tmp_path)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    credential = json.dumps({"token": "short", "expirationTimestamp": past})
    path = _one(
        tmp_path,
        _exec_user(env=[{"name": "CREDENTIAL", "value": credential}]),
        {"server": recorder.url},
    )
    client = _get(path)
    client.call("GET", "/api")
    assert _runs(tmp_path) == 2  # once per request: it was expired when printed
    fresh = connection.from_kubeconfig(_one(tmp_path, _exec_user(), {"server": recorder.url}))
    http = Http(fresh, "agent", retries=0)
    before = _runs(tmp_path)
    recorder.answers.append(401)
    assert http.request("GET", "/api").status == 200
    assert _runs(tmp_path) == before + 2  # on the first request, and again once refused
    assert len(recorder.seen) == 4  # two, then one refused and sent again


def test_exec_plugin_gets_the_cluster_when_it_asks(tmp_path: Path) -> None:
    _plugin(tmp_path)
    (tmp_path / "ca.crt").write_text("CA PEM")
    cluster = {
        "server": "https://h",
        "certificate-authority": "ca.crt",
        "tls-server-name": "api.example",
        "extensions": [
            {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "k8s"}},
            {"name": "other", "extension": {}},
        ],
    }
    found = connection.from_kubeconfig(_one(tmp_path, _exec_user(provideClusterInfo=True), cluster))
    assert found.read_token() == "from-exec"
    spec = json.loads((tmp_path / "bin" / "info.json").read_text())["spec"]
    assert spec["cluster"] == {
        "server": "https://h",
        "tls-server-name": "api.example",
        "certificate-authority-data": _b64("CA PEM"),
        "config": {"audience": "k8s"},
    }


def _certificate() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "exec-user")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def test_exec_plugin_client_certificate_is_presented(tmp_path: Path) -> None:
    _plugin(tmp_path)
    cert, key = _certificate()
    credential = json.dumps({"clientCertificateData": cert, "clientKeyData": key})
    found = connection.from_kubeconfig(
        _one(tmp_path, _exec_user(env=[{"name": "CREDENTIAL", "value": credential}]))
    )
    assert found.read_token() is None
    assert found.client_certificate() == (None, cert, None, key)
    kube.ssl_context(found)  # loads the pair, or raises
    fields = found.connection_info_fields()
    assert (fields["certificate_data"], fields["private_key_data"]) == (cert, key)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (_exec_user("client.authentication.k8s.io/v1alpha1"), "dropped v1alpha1"),
        (_exec_user(interactiveMode=None), "interactiveMode must be set"),
        (_exec_user(interactiveMode="Sometimes"), "unknown interactiveMode"),
        (_exec_user(command=""), "has no command"),
    ],
)
def test_exec_plugin_settings_kubectl_refuses(
    tmp_path: Path, user: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        connection.from_kubeconfig(_one(tmp_path, user))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FAIL": "1"}, "exited with 3"),
        ({"VERSION": "client.authentication.k8s.io/v1beta1"}, "answered .*v1beta1"),
        ({"CREDENTIAL": '{"clientKeyData": "k"}'}, "neither a token nor"),
    ],
)
def test_exec_plugin_failures_are_config_errors(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    _plugin(tmp_path)
    pairs = [{"name": k, "value": v} for k, v in env.items()]
    found = connection.from_kubeconfig(_one(tmp_path, _exec_user(env=pairs)))
    with pytest.raises(ConfigError, match=message):
        found.read_token()


def test_exec_plugin_missing_shows_its_install_hint(tmp_path: Path) -> None:
    user = _exec_user(command="/no/such/plugin", installHint="brew install it")
    with pytest.raises(ConfigError, match=r"could not run.*brew install it"):
        connection.from_kubeconfig(_one(tmp_path, user)).read_token()
    always = ExecConfig(
        command="/bin/true",
        api_version="client.authentication.k8s.io/v1",
        interactive_mode="Always",
    )
    with pytest.raises(ConfigError, match="needs a terminal"):
        connection.run_exec_plugin(always)  # tests run without a terminal on stdin


# -- TLS ---------------------------------------------------------------------------------------


def test_insecure_skip_tls_verify_and_not_with_a_ca(tmp_path: Path) -> None:
    insecure = connection.from_kubeconfig(
        _one(tmp_path, {}, {"server": "https://h", "insecure-skip-tls-verify": True})
    )
    context = kube.ssl_context(insecure)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    assert Http(insecure, "a").pool.connection_pool_kw["assert_hostname"] is False
    cluster = {
        "server": "https://h",
        "insecure-skip-tls-verify": True,
        "certificate-authority": "x",
    }
    with pytest.raises(ConfigError, match="root certificates file with the insecure flag"):
        connection.from_kubeconfig(_one(tmp_path, {}, cluster))


def test_the_ca_verifies_and_tls_server_name_is_the_name_checked(tmp_path: Path) -> None:
    ca, _ = _certificate()
    cluster = {
        "server": "https://10.0.0.1:6443",
        "certificate-authority-data": _b64(ca),
        "tls-server-name": "api.internal",
    }
    found = connection.from_kubeconfig(_one(tmp_path, {}, cluster))
    context = kube.ssl_context(found)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.cert_store_stats()["x509"] == 1  # the kubeconfig's CA alone
    options = Http(found, "a").pool.connection_pool_kw
    assert (options["server_hostname"], options["assert_hostname"]) == (
        "api.internal",
        "api.internal",
    )


# -- proxies -----------------------------------------------------------------------------------


def test_proxy_url_of_the_cluster_with_its_login(tmp_path: Path) -> None:
    cluster = {"server": "https://10.0.0.1:6443", "proxy-url": "http://me:p%40ss@proxy:3128"}
    found = connection.from_kubeconfig(_one(tmp_path, {}, cluster))
    pool = Http(found, "a").pool
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy is not None
    assert (pool.proxy.host, pool.proxy.port, pool.proxy.auth) == ("proxy", 3128, None)
    assert pool.proxy_headers == {"proxy-authorization": f"Basic {_b64('me:p@ss')}"}
    assert "p@ss" not in repr(found)
    socks = connection.from_kubeconfig(
        _one(tmp_path, {}, {"server": "https://h", "proxy-url": "socks5://p:1080"})
    )
    with pytest.raises(UnsupportedConfigError, match="only http and https proxies"):
        Http(socks, "a")


def test_https_proxy_from_the_environment_unless_no_proxy_or_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:8080")
    monkeypatch.setenv("HTTP_PROXY", "http://plain:80")
    server = Credentials(server="https://api.example.com:6443")
    assert connection.proxy_for(server) == "http://proxy.corp:8080"
    assert connection.proxy_for(Credentials(server="http://api.example.com")) == "http://plain:80"
    for loopback in ("https://127.0.0.1:6443", "https://localhost:6443", "https://[::1]:6443"):
        assert connection.proxy_for(Credentials(server=loopback)) is None
    monkeypatch.setenv("NO_PROXY", "other.org, .example.com")
    assert connection.proxy_for(server) is None
    assert isinstance(Http(server, "a").pool, urllib3.PoolManager)
    explicit = Credentials(server="https://api.example.com", proxy_url="http://p:1")
    assert connection.proxy_for(explicit) == "http://p:1"  # proxy-url beats NO_PROXY


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("api.example.com", 443, "example.com", True),
        ("example.com", 443, "example.com", True),
        ("example.com", 443, ".example.com", False),
        ("a.example.com", 443, ".example.com", True),
        ("a.example.com", 443, "*.example.com", True),
        ("notexample.com", 443, "example.com", False),
        ("api.example.com", 443, "example.com:6443", False),
        ("api.example.com", 6443, "example.com:6443", True),
        ("10.1.2.3", 443, "10.0.0.0/8", True),
        ("10.1.2.3", 443, "10.1.2.3", True),
        ("10.1.2.3", 443, "10.1.2.4,192.168.0.0/16", False),
        ("fd00::1", 443, "[fd00::1]:443", True),
        ("anything", 443, " * ", True),
        ("anything", 443, "", False),
    ],
)
def test_no_proxy_matches_as_go_does(host: str, port: int, no_proxy: str, bypassed: bool) -> None:
    assert connection.bypassed(host, port, no_proxy) is bypassed


# -- what the operator's kopf login gets -------------------------------------------------------


def test_connection_info_fields_resolve_tokens_and_refuse_what_kopf_cant_carry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("file-token\n")
    cluster = {"server": "https://h:6443", "proxy-url": "http://p:3128"}
    found = connection.from_kubeconfig(_one(tmp_path, {"tokenFile": "token"}, cluster))
    assert found.connection_info_fields() == {
        "server": "https://h:6443",
        "ca_path": None,
        "ca_data": None,
        "insecure": None,
        "certificate_path": None,
        "certificate_data": None,
        "private_key_path": None,
        "private_key_data": None,
        "token": "file-token",
        "username": None,
        "password": None,
        "default_namespace": "default",
        "proxy_url": "http://p:3128",
        "expiration": None,
    }
    _plugin(tmp_path)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    credential = json.dumps({"token": "exec-token", "expirationTimestamp": later.isoformat()})
    execed = connection.from_kubeconfig(
        _one(tmp_path, _exec_user(env=[{"name": "CREDENTIAL", "value": credential}]))
    )
    fields = execed.connection_info_fields()
    assert (fields["token"], fields["expiration"]) == ("exec-token", later)
    for refused in (
        found.impersonating("bob"),
        connection.from_kubeconfig(
            _one(tmp_path, {}, {"server": "https://h", "tls-server-name": "n"})
        ),
    ):
        with pytest.raises(UnsupportedConfigError, match="kopf's connection can't carry"):
            refused.connection_info_fields()


def test_secrets_stay_out_of_the_repr() -> None:
    shown = repr(
        Credentials(
            server="https://h",
            token="t0ken",
            password="pa55",
            key_data="KEY",
            cert_data="C",
            proxy_url="http://u:pr0xy@p",
            exec=ExecConfig(command="c", api_version="v", env=(("SECRET", "3nv"),)),
        )
    )
    assert "https://h" in shown
    assert not any(s in shown for s in ("t0ken", "pa55", "KEY", "'C'", "pr0xy", "3nv"))
