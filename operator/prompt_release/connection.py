"""Where the API server is and who we are to it, read as kubectl reads it. `kube.Http` sends
the requests with what this module resolves.

The whole kubeconfig counts: client certificates (files or inline data), `token` and
`tokenFile`, basic auth, exec credential plugins (`client.authentication.k8s.io` v1 and
v1beta1: tokens or client certificates, cached until they expire, run again on a 401),
impersonation (`as`, `as-groups`, `as-uid`, `as-user-extra`), `proxy-url` (else `HTTPS_PROXY`
and `NO_PROXY` as Go reads them), `insecure-skip-tls-verify`, `certificate-authority(-data)`,
`tls-server-name` and the context's namespace; in a Pod, the service account, its token read
again as it rotates. A field this module doesn't know is refused, not skipped: skipping `as:`
once let a view-only context write with the underlying credentials' rights.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec"

# Every field of clientcmd's v1 kubeconfig entries; any other is refused by name.
CLUSTER_KEYS = frozenset(
    {
        "server",
        "tls-server-name",
        "insecure-skip-tls-verify",
        "certificate-authority",
        "certificate-authority-data",
        "proxy-url",
        "disable-compression",  # nothing to do: responses are never asked to be compressed
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
        "as",
        "as-uid",
        "as-groups",
        "as-user-extra",
        "username",
        "password",
        "auth-provider",
        "exec",
        "extensions",
    }
)
CONTEXT_KEYS = frozenset({"cluster", "user", "namespace", "extensions"})
EXEC_KEYS = frozenset(
    {
        "command",
        "args",
        "env",
        "apiVersion",
        "installHint",
        "provideClusterInfo",
        "interactiveMode",
    }
)


class ConfigError(Exception):
    """No usable kubeconfig or service account: the message names what is missing."""


class UnsupportedConfigError(ConfigError):
    """The kubeconfig asks for something this client (or its caller) can't honour."""


@dataclass(frozen=True)
class Impersonation:
    """Whom the API server should treat the request as (the Impersonate-* headers)."""

    user: str | None = None
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.user or self.uid or self.groups or self.extra)

    def overridden(self, user: str | None, groups: Sequence[str], uid: str | None) -> Impersonation:
        """kubectl's `--as`, `--as-group` and `--as-uid` over the kubeconfig's, field by field."""
        return replace(
            self,
            user=user or self.user,
            groups=tuple(groups) or self.groups,
            uid=uid or self.uid,
        )

    def headers(self) -> list[tuple[str, str]]:
        """One header line per group and extra value, as the API server reads them."""
        if not self:
            return []
        if not self.user:
            raise ConfigError(
                "impersonating groups, a uid or extra fields needs a user to impersonate (--as)"
            )
        lines = [("Impersonate-User", self.user)]
        if self.uid:
            lines.append(("Impersonate-Uid", self.uid))
        lines += [("Impersonate-Group", group) for group in self.groups]
        for key, values in self.extra:
            lines += [(f"Impersonate-Extra-{quote(key, safe='')}", value) for value in values]
        return lines


@dataclass(frozen=True)
class ExecConfig:
    """An exec credential plugin of a kubeconfig user; `cluster_info` is the JSON handed to it
    in KUBERNETES_EXEC_INFO when it asks for it (provideClusterInfo)."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str | None = None
    interactive_mode: str = "IfAvailable"
    cluster_info: str | None = None


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin printed: a token, or a client certificate and key (PEM); until when."""

    token: str | None = field(default=None, repr=False)
    cert_data: str | None = field(default=None, repr=False)
    key_data: str | None = field(default=None, repr=False)
    expires: dt.datetime | None = None

    def expired(self) -> bool:
        return self.expires is not None and dt.datetime.now(dt.UTC) >= self.expires


Certificate = tuple[str | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class Credentials:
    """One API server and how to authenticate to it. Certificate data is PEM text. Secrets
    stay out of its repr (a log line or a traceback may show it)."""

    server: str
    namespace: str = "default"
    ca_file: str | None = None
    ca_data: str | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = field(default=None, repr=False)  # may hold a proxy password
    cert_file: str | None = None
    cert_data: str | None = field(default=None, repr=False)
    key_file: str | None = None
    key_data: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None  # read again now and then: service-account tokens rotate
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    exec: ExecConfig | None = field(default=None, repr=False)
    impersonation: Impersonation = Impersonation()

    def read_token(self, from_exec: ExecCredential | None = None) -> str | None:
        """The bearer token now: the token file's content, else the token, else the exec
        plugin's (`from_exec`, else run now or cached until it expires)."""
        if self.token_file is not None:
            return Path(self.token_file).read_text(encoding="utf-8").strip() or None
        if self.token or self.exec is None:
            return self.token
        return (from_exec or exec_credential(self.exec)).token

    def uses_exec(self) -> bool:
        """Whether the exec plugin supplies anything: the token (none set otherwise) or the
        client certificate (none set otherwise)."""
        if self.exec is None:
            return False
        return not (self.token or self.token_file) or not (self.cert_file or self.cert_data)

    def client_certificate(self, from_exec: ExecCredential | None = None) -> Certificate:
        """(cert file, cert PEM, key file, key PEM): the kubeconfig's, else the exec plugin's
        (`from_exec`, else run now or cached until it expires)."""
        static = (self.cert_file, self.cert_data, self.key_file, self.key_data)
        if self.cert_file or self.cert_data or self.exec is None:
            return static
        found = from_exec or exec_credential(self.exec)
        return (None, found.cert_data, None, found.key_data) if found.cert_data else static

    def impersonating(
        self, user: str | None = None, groups: Sequence[str] = (), uid: str | None = None
    ) -> Credentials:
        """These credentials with kubectl's `--as`, `--as-group`, `--as-uid` applied."""
        if not (user or groups or uid):
            return self
        return replace(self, impersonation=self.impersonation.overridden(user, groups, uid))

    def connection_info_fields(self) -> dict[str, Any]:
        """The keyword arguments of `kopf.ConnectionInfo` for these credentials, resolved now
        (a token file read, an exec plugin run or its cached credential). kopf's connection
        has no impersonation and no TLS server name: a kubeconfig using either is refused
        rather than logged in as someone else."""
        missing = [
            name
            for name, used in (
                ("impersonation", bool(self.impersonation)),
                ("tls-server-name", bool(self.tls_server_name)),
            )
            if used
        ]
        if missing:
            raise UnsupportedConfigError(
                f"kopf's connection can't carry {' or '.join(missing)}: use credentials "
                "that are the operator's own"
            )
        used = exec_credential(self.exec) if self.exec and self.uses_exec() else None
        cert_file, cert_data, key_file, key_data = self.client_certificate(used)
        return {
            "server": self.server,
            "ca_path": self.ca_file,
            "ca_data": self.ca_data,
            "insecure": self.insecure or None,
            "certificate_path": cert_file,
            "certificate_data": cert_data,
            "private_key_path": key_file,
            "private_key_data": key_data,
            "token": self.read_token(used),
            "username": self.username,
            "password": self.password,
            "default_namespace": self.namespace,
            "proxy_url": proxy_for(self),
            "expiration": used.expires if used else None,
        }


def load(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    as_user: str | None = None,
    as_groups: Sequence[str] = (),
    as_uid: str | None = None,
) -> Credentials:
    """kubectl's choice: the given kubeconfig; else the Pod's service account when in a Pod and
    $KUBECONFIG is unset; else $KUBECONFIG or ~/.kube/config. `as_*` are kubectl's `--as`,
    `--as-group` and `--as-uid`, over the kubeconfig's impersonation."""
    found = None
    if kubeconfig is None and context is None and not os.environ.get("KUBECONFIG"):
        found = in_cluster()
    if found is None:
        found = from_kubeconfig(kubeconfig, context)
    found = found.impersonating(as_user, as_groups, as_uid)
    found.impersonation.headers()  # refused here, before any request, when incomplete
    return found


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
    _known(chosen, ("context", ctx, CONTEXT_KEYS), ("cluster", cluster, CLUSTER_KEYS))
    _known(chosen, ("user", user, USER_KEYS), ("exec", user.get("exec") or {}, EXEC_KEYS))
    return _credentials(chosen, ctx, cluster, cluster_dir, user, user_dir)


def _credentials(
    chosen: str,
    ctx: Mapping[str, Any],
    cluster: Mapping[str, Any],
    cluster_dir: Path,
    user: Mapping[str, Any],
    user_dir: Path,
) -> Credentials:
    """One context's entries as credentials, with kubectl's precedence: inline data over files,
    a token over a token file, and its refusals of contradictory settings."""
    if not cluster.get("server"):
        raise ConfigError(f"cluster of context {chosen!r} has no server")
    if user.get("auth-provider"):
        name = (user["auth-provider"] or {}).get("name", "")
        raise UnsupportedConfigError(
            f"context {chosen!r} uses auth-provider {name!r}, which kubectl no longer runs: "
            "use its exec credential plugin (kubelogin, gke-gcloud-auth-plugin, ...)"
        )
    ca_data = _pem(cluster.get("certificate-authority-data"))
    ca_file = None if ca_data else _file(cluster.get("certificate-authority"), cluster_dir)
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    if insecure and (ca_data or ca_file):
        raise ConfigError(
            f"cluster of context {chosen!r}: specifying a root certificates file with the "
            "insecure flag is not allowed"
        )
    token = user.get("token") or None
    if (token or user.get("tokenFile")) and (user.get("username") or user.get("password")):
        raise ConfigError(
            f"user of context {chosen!r}: username/password or bearer token may be set, "
            "but not both"
        )
    cert_data = _pem(user.get("client-certificate-data"))
    key_data = _pem(user.get("client-key-data"))
    return Credentials(
        server=str(cluster["server"]).rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_file=ca_file,
        ca_data=ca_data,
        insecure=insecure,
        tls_server_name=cluster.get("tls-server-name") or None,
        proxy_url=cluster.get("proxy-url") or None,
        cert_file=None if cert_data else _file(user.get("client-certificate"), user_dir),
        cert_data=cert_data,
        key_file=None if key_data else _file(user.get("client-key"), user_dir),
        key_data=key_data,
        token=token,
        token_file=None if token else _file(user.get("tokenFile"), user_dir),
        username=user.get("username"),
        password=user.get("password"),
        exec=_exec_config(chosen, user.get("exec"), user_dir, cluster, ca_data or ca_file),
        impersonation=_impersonation(user),
    )


def _impersonation(user: Mapping[str, Any]) -> Impersonation:
    """A user entry's `as`, `as-uid`, `as-groups` and `as-user-extra`."""
    return Impersonation(
        user=user.get("as") or None,
        uid=user.get("as-uid") or None,
        groups=tuple(str(g) for g in user.get("as-groups") or ()),
        extra=tuple(
            (str(key), tuple(str(v) for v in values or ()))
            for key, values in sorted((user.get("as-user-extra") or {}).items())
        ),
    )


def _exec_config(
    context: str,
    spec: Mapping[str, Any] | None,
    base: Path,
    cluster: Mapping[str, Any],
    ca: str | None,
) -> ExecConfig | None:
    """The exec plugin as client-go runs it: a command with a slash is relative to the
    kubeconfig's folder; v1 must say whether it may prompt (interactiveMode)."""
    if not spec:
        return None
    version = str(spec.get("apiVersion") or "")
    if version not in EXEC_API_VERSIONS:
        raise UnsupportedConfigError(
            f"exec plugin of context {context!r}: apiVersion {version!r} is not one of "
            f"{', '.join(EXEC_API_VERSIONS)} (kubectl dropped v1alpha1 in 1.24)"
        )
    mode = spec.get("interactiveMode") or None
    if mode is None and version.endswith("/v1"):
        raise ConfigError(f"exec plugin of context {context!r}: interactiveMode must be set")
    if mode not in (None, "Never", "IfAvailable", "Always"):
        raise ConfigError(f"exec plugin of context {context!r}: unknown interactiveMode {mode!r}")
    command = str(spec.get("command") or "")
    if not command:
        raise ConfigError(f"exec plugin of context {context!r} has no command")
    if "/" in command and not Path(command).is_absolute():
        command = str(base / command)
    info = None
    if spec.get("provideClusterInfo"):
        info = json.dumps(_exec_cluster(cluster, ca), sort_keys=True)
    return ExecConfig(
        command=command,
        api_version=version,
        args=tuple(str(a) for a in spec.get("args") or ()),
        env=tuple((str(e["name"]), str(e["value"])) for e in spec.get("env") or ()),
        install_hint=spec.get("installHint") or None,
        interactive_mode=mode or "IfAvailable",
        cluster_info=info,
    )


def _exec_cluster(cluster: Mapping[str, Any], ca: str | None) -> dict[str, Any]:
    """The cluster as ExecCredential's spec.cluster shows it to a plugin."""
    shown: dict[str, Any] = {"server": cluster["server"]}
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression"):
        if cluster.get(key):
            shown[key] = cluster[key]
    if cluster.get("certificate-authority-data"):
        shown["certificate-authority-data"] = cluster["certificate-authority-data"]
    elif ca:
        shown["certificate-authority-data"] = base64.b64encode(Path(ca).read_bytes()).decode()
    for item in cluster.get("extensions") or []:
        if isinstance(item, dict) and item.get("name") == EXEC_CLUSTER_EXTENSION:
            shown["config"] = item.get("extension")
    return shown


def _known(context: str, *entries: tuple[str, Mapping[str, Any], frozenset[str]]) -> None:
    for what, entry, keys in entries:
        unknown = sorted(set(entry) - keys)
        if unknown:
            raise UnsupportedConfigError(
                f"{what} of context {context!r} uses {', '.join(unknown)}, which this client "
                "doesn't know (a typo, or a field newer than it)"
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


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


# -- exec credential plugins -------------------------------------------------------------------

_EXEC_LOCK = threading.Lock()
_EXEC_CACHE: dict[ExecConfig, tuple[threading.Lock, list[ExecCredential]]] = {}


def exec_credential(config: ExecConfig) -> ExecCredential:
    """The plugin's credential: the one cached for this same plugin configuration (shared by
    every connection in the process, as client-go shares it) until it expires, else a new run."""
    with _EXEC_LOCK:
        lock, cached = _EXEC_CACHE.setdefault(config, (threading.Lock(), []))
    with lock:
        if not cached or cached[0].expired():
            cached[:] = [run_exec_plugin(config)]
        return cached[0]


def forget_exec_credential(config: ExecConfig, refused: ExecCredential) -> None:
    """The API server refused `refused` (401): the next call runs the plugin again."""
    with _EXEC_LOCK:
        lock, cached = _EXEC_CACHE.setdefault(config, (threading.Lock(), []))
    with lock:
        if cached and cached[0] is refused:
            cached.clear()


def run_exec_plugin(config: ExecConfig) -> ExecCredential:
    """Run the plugin once and read its ExecCredential. Its stderr is the user's (a prompt or a
    login URL shows there); its stdin too when it may be interactive and there is a terminal."""
    interactive = config.interactive_mode != "Never" and sys.stdin is not None and _tty()
    if config.interactive_mode == "Always" and not interactive:
        raise ConfigError(f"exec plugin {config.command} needs a terminal (interactiveMode Always)")
    request: dict[str, Any] = {"interactive": interactive}
    if config.cluster_info is not None:
        request["cluster"] = json.loads(config.cluster_info)
    info = {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": request}
    env = {**os.environ, **dict(config.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        done = subprocess.run(
            [config.command, *config.args],
            env=env,
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            check=False,
        )
    except OSError as error:
        hint = f"; {config.install_hint.strip()}" if config.install_hint else ""
        raise ConfigError(
            f"exec plugin {config.command} could not run: {error.strerror or error}{hint}"
        ) from error
    if done.returncode != 0:
        raise ConfigError(f"exec plugin {config.command} exited with {done.returncode}")
    return parse_exec_credential(done.stdout, config)


def parse_exec_credential(output: bytes, config: ExecConfig) -> ExecCredential:
    """An ExecCredential of the plugin's apiVersion with a token or a certificate and key."""
    try:
        printed = json.loads(output)
    except ValueError as error:
        raise ConfigError(f"exec plugin {config.command} printed no JSON: {error}") from error
    if not isinstance(printed, dict) or printed.get("kind") != "ExecCredential":
        raise ConfigError(f"exec plugin {config.command} printed no ExecCredential")
    if printed.get("apiVersion") != config.api_version:
        raise ConfigError(
            f"exec plugin {config.command} answered {printed.get('apiVersion')!r}, "
            f"asked {config.api_version!r}"
        )
    status = printed.get("status") or {}
    token = status.get("token") or None
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if bool(cert) != bool(key) or not (token or cert):
        raise ConfigError(
            f"exec plugin {config.command} gave neither a token nor a client certificate and key"
        )
    expires = status.get("expirationTimestamp")
    when = dt.datetime.fromisoformat(str(expires).replace("Z", "+00:00")) if expires else None
    return ExecCredential(token, cert or None, key or None, when)


def _tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


# -- proxies -----------------------------------------------------------------------------------


def proxy_for(credentials: Credentials) -> str | None:
    """The cluster's proxy-url; else HTTPS_PROXY (HTTP_PROXY for an http server) unless
    NO_PROXY names the server, as Go's net/http reads them: never for a loopback server."""
    if credentials.proxy_url:
        return credentials.proxy_url
    url = urlsplit(credentials.server)
    names = (
        ("HTTPS_PROXY", "https_proxy") if url.scheme == "https" else ("HTTP_PROXY", "http_proxy")
    )
    proxy = next((os.environ[n] for n in names if os.environ.get(n)), None)
    host = (url.hostname or "").lower()
    if not proxy or host == "localhost" or _loopback(host):
        return None
    no_proxy = next((os.environ[n] for n in ("NO_PROXY", "no_proxy") if n in os.environ), "")
    port = url.port or (443 if url.scheme == "https" else 80)
    if bypassed(host, port, no_proxy):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts host:port: `*`; an IP, or a CIDR; a domain and its subdomains,
    or with a leading dot its subdomains only; each with an optional port."""
    ip = _ip(host)
    for raw in no_proxy.lower().split(","):
        entry = raw.strip()
        if entry == "*":
            return True
        if not entry:
            continue
        if "/" in entry:
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, wanted = _host_port(entry)
        if wanted is not None and wanted != port:
            continue
        if _ip(name) is not None:
            if ip is not None and ip == _ip(name):
                return True
            continue
        if name.startswith("*."):
            name = name[1:]
        if name.startswith("."):
            if host.endswith(name):
                return True
        elif host == name or host.endswith(f".{name}"):
            return True
    return False


def _host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [v6]:port
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    ip = _ip(host)
    return ip is not None and ip.is_loopback
