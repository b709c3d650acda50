"""Where the API server is and who we are to it: the Pod's service account or kubectl's
kubeconfig, and pooled HTTPS connections to it (urllib3).

The operator and `kubectl prompt` send plain JSON to REST paths, so they need no more than this.
The kubernetes client would also do, but importing it loads its generated models: about 19 MiB
held for the operator's whole life, and 0.4 s before the plugin can answer. A kubeconfig asking
for more than certificates, tokens and basic auth (an exec plugin, an auth provider, a proxy, a
TLS server name, impersonation) is left to the kubernetes client: `UnsupportedConfigError` says
so and `Kube.connect` hands it over.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REREAD_AFTER = 60.0  # seconds; the kubelet rotates a projected token well before it expires

# What a kubeconfig may hold for us to connect on our own; anything else is unsupported.
CLUSTER_KEYS = frozenset(
    {
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "insecure-skip-tls-verify",
        "extensions",
    }
)
USER_KEYS = frozenset(
    {
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "token",
        "tokenFile",
        "username",
        "password",
        "extensions",
    }
)


class ConfigError(Exception):
    """No usable kubeconfig or service account: the message names what is missing."""


class UnsupportedConfigError(ConfigError):
    """The kubeconfig asks for something only the kubernetes client does (named in the message)."""


@dataclass(frozen=True)
class Credentials:
    """One API server and how to authenticate to it. Certificate data is PEM text. Secrets
    stay out of its repr (a log line or a traceback may show it)."""

    server: str
    namespace: str = "default"
    ca_file: str | None = None
    ca_data: str | None = field(default=None, repr=False)
    insecure: bool = False
    cert_file: str | None = None
    cert_data: str | None = field(default=None, repr=False)
    key_file: str | None = None
    key_data: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None  # re-read now and then: service-account tokens rotate
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def read_token(self) -> str | None:
        if self.token_file is None:
            return self.token
        return Path(self.token_file).read_text(encoding="utf-8").strip() or None


def load(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """kubectl's choice: the given kubeconfig; else the Pod's service account when in a Pod and
    $KUBECONFIG is unset; else $KUBECONFIG or ~/.kube/config."""
    if kubeconfig is None and context is None and not os.environ.get("KUBECONFIG"):
        found = in_cluster()
        if found is not None:
            return found
    return from_kubeconfig(kubeconfig, context)


def in_cluster() -> Credentials | None:
    """The Pod's service account, or None outside a Pod."""
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    token = SERVICE_ACCOUNT / "token"
    if not host or not port or not token.exists():
        return None
    namespace = SERVICE_ACCOUNT / "namespace"
    ca = SERVICE_ACCOUNT / "ca.crt"
    return Credentials(
        server=f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}",
        namespace=namespace.read_text().strip() if namespace.exists() else "default",
        ca_file=str(ca) if ca.exists() else None,
        token_file=str(token),
    )


def from_kubeconfig(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """The named (else current) context of the kubeconfig files, merged as kubectl merges them:
    the first file naming a context, cluster or user wins, and file paths inside a file are
    relative to that file."""
    paths = _kubeconfig_paths(kubeconfig)
    current: str | None = None
    sections: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {
        "contexts": {},
        "clusters": {},
        "users": {},
    }
    for path in paths:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            if kubeconfig is not None or len(paths) == 1:
                raise ConfigError(f"kubeconfig {path} does not exist") from None
            continue
        except yaml.YAMLError as error:
            raise ConfigError(f"kubeconfig {path} is not valid YAML: {error}") from error
        if not isinstance(loaded, dict):
            raise ConfigError(f"kubeconfig {path} is not a mapping")
        current = current or loaded.get("current-context") or None
        for section, entries in sections.items():
            singular = section[:-1]
            for item in loaded.get(section) or []:
                if isinstance(item, dict) and "name" in item:
                    entries.setdefault(str(item["name"]), (item.get(singular) or {}, path.parent))
    chosen = context or current
    if not chosen:
        raise ConfigError(f"no current context in {_names(paths)} (pass --context)")
    if chosen not in sections["contexts"]:
        raise ConfigError(f"context {chosen!r} not found in {_names(paths)}")
    ctx, _ = sections["contexts"][chosen]
    cluster, cluster_dir = _entry(sections["clusters"], ctx.get("cluster"), "cluster", chosen)
    user, user_dir = _entry(sections["users"], ctx.get("user"), "user", chosen, optional=True)
    extra = sorted(set(cluster) - CLUSTER_KEYS) + sorted(set(user) - USER_KEYS)
    if extra:
        raise UnsupportedConfigError(f"context {chosen!r} uses {', '.join(extra)}")
    if not cluster.get("server"):
        raise ConfigError(f"cluster of context {chosen!r} has no server")
    return Credentials(
        server=str(cluster["server"]).rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_file=_file(cluster.get("certificate-authority"), cluster_dir),
        ca_data=_pem(cluster.get("certificate-authority-data")),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        cert_file=_file(user.get("client-certificate"), user_dir),
        cert_data=_pem(user.get("client-certificate-data")),
        key_file=_file(user.get("client-key"), user_dir),
        key_data=_pem(user.get("client-key-data")),
        token=user.get("token"),
        token_file=_file(user.get("tokenFile"), user_dir),
        username=user.get("username"),
        password=user.get("password"),
    )


def _kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    if listed:
        return [Path(p.strip()).expanduser() for p in listed]
    default = Path("~/.kube/config").expanduser()
    if not default.exists():
        raise ConfigError(
            "no kubeconfig: set KUBECONFIG or create ~/.kube/config (or run in a Pod)"
        )
    return [default]


def _entry(
    entries: dict[str, tuple[dict[str, Any], Path]],
    name: object,
    what: str,
    context: str,
    optional: bool = False,
) -> tuple[dict[str, Any], Path]:
    if name in entries:
        return entries[str(name)]
    if optional and not name:
        return {}, Path()
    raise ConfigError(f"{what} {name!r} of context {context!r} not found")


def _file(value: object, base: Path) -> str | None:
    return None if not value else str(base / Path(str(value)).expanduser())


def _pem(value: object) -> str | None:
    """kubeconfig `*-data` fields: base64 of PEM."""
    return None if not value else base64.b64decode(str(value)).decode("ascii")


# -- the connection ----------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    body: Mapping[str, Any] | None
    headers: dict[str, str]
    timeout: float | None


@dataclass
class Response:
    status: int
    reason: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport:
    """One way of sending requests to the API server; the request is the same for all."""

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Response:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        return self.send(Request(method, path, query or {}, body, headers, timeout))

    def send(self, request: Request) -> Response:
        raise NotImplementedError


class Http(Transport):
    """Requests to one API server over a pool of kept-alive connections, safe across threads."""

    def __init__(
        self,
        credentials: Credentials,
        user_agent: str,
        connections: int = 10,
        retries: int = 3,
    ):
        self.credentials = credentials
        self.user_agent = user_agent
        self._token = (credentials.token or "", float("inf"))
        self._token_lock = threading.Lock()
        self.pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=connections,
            ssl_context=ssl_context(credentials),
            assert_hostname=False if credentials.insecure else None,
            retries=urllib3.Retry(total=retries, redirect=False, raise_on_status=False),
        )

    def send(self, request: Request) -> Response:
        r = request
        headers = {**r.headers, **self.authorization(), "User-Agent": self.user_agent}
        data = None if r.body is None else json.dumps(r.body, separators=(",", ":")).encode()
        url = self.credentials.server + r.path + (f"?{urlencode(r.query)}" if r.query else "")
        reply = self.pool.request(
            r.method,
            url,
            body=data,
            headers=headers,
            timeout=urllib3.Timeout(total=r.timeout) if r.timeout else None,
            preload_content=True,
        )
        return Response(reply.status, reply.reason or "", reply.data, dict(reply.headers))

    def authorization(self) -> dict[str, str]:
        c = self.credentials
        if c.username and c.password:
            basic = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def token(self) -> str | None:
        """The bearer token; a token file is read again once a minute (it rotates)."""
        if self.credentials.token_file is None:
            return self.credentials.token
        with self._token_lock:
            token, until = self._token
            if not token or time.monotonic() >= until:
                token = self.credentials.read_token() or ""
                self._token = (token, time.monotonic() + TOKEN_REREAD_AFTER)
            return token


def ssl_context(credentials: Credentials) -> ssl.SSLContext:
    """Verify the server with the kubeconfig's CA (else the system's); present the client
    certificate if there is one (PEM data goes through a private file only while it loads)."""
    c = credentials
    context = ssl.create_default_context(cafile=c.ca_file, cadata=c.ca_data)
    if c.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if (c.cert_file or c.cert_data) and (c.key_file or c.key_data):
        with tempfile.TemporaryDirectory() as private:
            cert = c.cert_file or _written(Path(private, "cert.pem"), c.cert_data)
            key = c.key_file or _written(Path(private, "key.pem"), c.key_data)
            context.load_cert_chain(certfile=cert, keyfile=key)
    return context


def _written(path: Path, text: str | None) -> str:
    path.touch(mode=0o600)
    path.write_text(text or "", encoding="ascii")
    return str(path)


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)
