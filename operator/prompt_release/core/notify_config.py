"""The operator's notification sinks (`--notifications-config`): where events may go and the
Secret each one is signed with. The platform defines sinks; namespaces only subscribe to them,
so no tenant can make the operator post elsewhere or read a Secret of theirs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SINK_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ConfigError(ValueError):
    """The notifications config can't be used; the message names the field."""


def seconds(value: Any, where: str) -> float:
    """`5`, `5s`, `500ms`, `2m`, `1h`."""
    match = DURATION.match(str(value).strip())
    if match is None:
        raise ConfigError(f"{where}: {value!r} is not a duration (5, 5s, 500ms, 2m, 1h)")
    return float(match.group(1)) * UNITS[match.group(2)]


@dataclass(frozen=True)
class SecretKey:
    namespace: str
    name: str
    key: str


CLOUDEVENTS, FLUX = "cloudevents", "flux"
FORMATS = (CLOUDEVENTS, FLUX)


@dataclass(frozen=True)
class Sink:
    name: str
    url: str
    secret: SecretKey | None
    """The HMAC key of a CloudEvents sink; a Flux sink takes none."""
    timeout: float = 5.0
    format: str = CLOUDEVENTS
    """`cloudevents` (signed CloudEvents JSON) or `flux` (Flux's event API)."""


@dataclass(frozen=True)
class Retry:
    """Exponential backoff of a failing sink: base, doubled per attempt, up to cap."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class NotifyConfig:
    sinks: Mapping[str, Sink] = field(default_factory=dict)
    retry: Retry = field(default_factory=Retry)
    namespace_config: str = "prompt-release-notifications"
    """The ConfigMap of a namespace whose annotations subscribe all its releases."""


def _sink(name: str, found: Any, default_namespace: str) -> Sink:
    where = f"sinks.{name}"
    if not SINK_NAME.match(name):
        raise ConfigError(f"{where}: a sink's name is a DNS-1123 label")
    if not isinstance(found, Mapping):
        raise ConfigError(f"{where}: expected {{url, secret: {{name, key}}, timeout?, format?}}")
    url = str(found.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}.url: {url!r} is not an http(s) URL")
    form = str(found.get("format") or CLOUDEVENTS)
    if form not in FORMATS:
        raise ConfigError(f"{where}.format: {form!r} is not one of {', '.join(FORMATS)}")
    timeout = seconds(found.get("timeout", 5), f"{where}.timeout")
    secret = found.get("secret")
    if form == FLUX and secret is None:
        return Sink(name, url, None, timeout, form)
    if not isinstance(secret, Mapping) or not secret.get("name") or not secret.get("key"):
        raise ConfigError(f"{where}.secret: expected {{name, key, namespace?}}")
    if form == FLUX:
        raise ConfigError(f"{where}.secret: a flux sink is not signed; leave secret out")
    namespace = str(secret.get("namespace") or default_namespace)
    if not namespace:
        raise ConfigError(f"{where}.secret.namespace: unset, and the operator's is unknown")
    key = SecretKey(namespace, str(secret["name"]), str(secret["key"]))
    return Sink(name, url, key, timeout, form)


def parse(found: Any, default_namespace: str) -> NotifyConfig:
    """The config file's content (YAML already loaded); secrets default to the operator's
    own namespace."""
    if not isinstance(found, Mapping):
        raise ConfigError("expected a mapping with sinks (and retry)")
    sinks = found.get("sinks") or {}
    if not isinstance(sinks, Mapping):
        raise ConfigError("sinks: expected a mapping of sink name to {url, secret}")
    retry = found.get("retry") or {}
    if not isinstance(retry, Mapping):
        raise ConfigError("retry: expected {base, cap}")
    base = seconds(retry.get("base", 1), "retry.base")
    cap = seconds(retry.get("cap", 300), "retry.cap")
    if base <= 0 or cap < base:
        raise ConfigError("retry: base must be > 0 and cap >= base")
    return NotifyConfig(
        sinks={
            str(name): _sink(str(name), value, default_namespace) for name, value in sinks.items()
        },
        retry=Retry(base, cap),
        namespace_config=str(found.get("namespaceConfig") or "prompt-release-notifications"),
    )
