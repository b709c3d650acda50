"""`kubectl prompt`: the daily loop of release, promote, roll back, history, diff, render.

Installed as the executable `kubectl-prompt` (kubectl finds it on PATH as the `prompt`
plugin) and runnable as `python -m prompt_release`. Exit codes scripts can trust:

    0  success (for `diff`: the versions are the same)
    1  the operation failed: a release was refused or timed out (for `diff`: they differ)
    2  bad usage or input: a flag, a file, a variable
    3  not found: a PromptVersion, PromptRelease, revision or ConfigMap
    4  the cluster can't be reached or refused us (kubeconfig, network, authorization)
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from prompt_release import API_VERSION, GROUP, VERSION, conditions
from prompt_release.hashing import content_hash, short_hash
from prompt_release.kube import plain
from prompt_release.manifests import load_all
from prompt_release.sdk import PayloadError, RenderError, parse_payload
from prompt_release.templates import TemplateError, placeholders
from prompt_release.validation import problems

OK, FAILED, USAGE, NOT_FOUND, UNREACHABLE = 0, 1, 2, 3, 4
FIELD_MANAGER = "kubectl-prompt"
VERSIONS, RELEASES = "promptversions", "promptreleases"


class CliError(Exception):
    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


# -- talking to the cluster -------------------------------------------------------------------


class Cluster:
    """The API calls the CLI makes, with kubectl's choice of kubeconfig, context, namespace."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None):
        from kubernetes import client, config

        try:
            if (
                kubeconfig is None
                and "KUBERNETES_SERVICE_HOST" in os.environ
                and not os.environ.get("KUBECONFIG")
            ):
                config.load_incluster_config()  # type: ignore[no-untyped-call]
                api = client.ApiClient()
                default_namespace = _incluster_namespace()
            else:
                api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=kubeconfig, context=context
                )
                default_namespace = _kubeconfig_namespace(kubeconfig, context)
        except (config.ConfigException, OSError) as error:
            raise CliError(f"cannot load the kubeconfig: {error}", UNREACHABLE) from error
        api.configuration.retries = 1
        self.namespace = namespace or default_namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        kind = "PromptVersion" if plural == VERSIONS else "PromptRelease"
        try:
            found = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name, _request_timeout=30
            )
        except Exception as error:
            _raise_api(error, f"{kind} {name} not found in namespace {self.namespace}")
        return plain(found)

    def list(self, plural: str) -> list[dict[str, Any]]:
        try:
            listed = self.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, _request_timeout=30
            )
        except Exception as error:
            _raise_api(error, f"the {plural} API is not served: are the CRDs installed?")
        return list(plain(listed).get("items") or [])

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            created = self.custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                plural,
                body,
                field_manager=FIELD_MANAGER,
                _request_timeout=30,
            )
        except Exception as error:
            _raise_api(error, f"the {plural} API is not served: are the CRDs installed?")
        return plain(created)

    def merge_patch(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        try:
            patched = self.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                plural,
                name,
                patch,
                field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json",
                _request_timeout=30,
            )
        except Exception as error:
            _raise_api(error, f"{name} not found in namespace {self.namespace}")
        return plain(patched)

    def config_map(self, name: str) -> dict[str, Any]:
        try:
            found = self.core.read_namespaced_config_map(name, self.namespace, _request_timeout=30)
        except Exception as error:
            _raise_api(error, f"ConfigMap {name} not found in namespace {self.namespace}")
        return plain(found)


def _incluster_namespace() -> str:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.exists() else "default"


def _kubeconfig_namespace(kubeconfig: str | None, context: str | None) -> str:
    from kubernetes import config

    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def _raise_api(error: Exception, not_found: str) -> NoReturn:
    """Turn a client error into a one-line message and an exit code; never a traceback."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(error, ApiException):
        if error.status == 404:
            raise CliError(not_found, NOT_FOUND) from error
        if error.status in (401, 403):
            raise CliError(
                f"the cluster refused the request: {_api_message(error)}", UNREACHABLE
            ) from error
        if error.status == 422:
            raise CliError(f"the API server rejected it: {_api_message(error)}", USAGE) from error
        if error.status == 409:
            raise CliError(f"conflict: {_api_message(error)}", FAILED) from error
        raise CliError(f"API error {error.status}: {_api_message(error)}", UNREACHABLE) from error
    raise CliError(f"cannot reach the cluster: {_short(error)}", UNREACHABLE) from error


def _api_message(error: Any) -> str:
    try:
        return str(json.loads(error.body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(error.reason)


def _short(error: Exception) -> str:
    text = str(error)
    reason = re.search(
        r"(Connection refused|Name or service not known|timed out|"
        r"certificate verify failed[^')]*)",
        text,
    )
    return reason.group(1) if reason else text.splitlines()[0][:200]


# -- output ---------------------------------------------------------------------------------


def _emit(output: str, rows: list[dict[str, Any]], columns: Sequence[str], raw: Any) -> None:
    """Print a table, or the raw objects as YAML or JSON."""
    if output == "json":
        print(json.dumps(raw, indent=2, ensure_ascii=False))
    elif output == "yaml":
        print(
            _manifest(raw)
            if isinstance(raw, Mapping)
            else yaml.dump(raw, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True),
            end="",
        )
    else:
        _table(rows, columns)


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [
        [str(row.get(column, "") if row.get(column) is not None else "") for column in columns]
        for row in rows
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("   ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return ""
    then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int((dt.datetime.now(dt.UTC) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _ready(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return conditions.ready_of(obj.get("status"))


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so a template in Git reads like the template."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)


def _manifest(body: Mapping[str, Any]) -> str:
    return yaml.dump(dict(body), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True)


def _object(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _printed_for_git(args: argparse.Namespace, manifest: Mapping[str, Any]) -> bool:
    """--dry-run=client: print the manifest (for a Git commit) instead of writing it."""
    if args.dry_run != "client":
        return False
    print(_manifest(manifest), end="")
    return True


# -- verbs ----------------------------------------------------------------------------------


def cmd_hash(args: argparse.Namespace) -> int:
    rows, failed = [], False
    for name in args.files:
        text = sys.stdin.read() if name == "-" else _read(name)
        try:
            documents = list(load_all(text))
        except yaml.YAMLError as error:
            raise CliError(f"{name}: not valid YAML: {error}", USAGE) from error
        versions = [
            d for d in documents if isinstance(d, dict) and d.get("kind") == "PromptVersion"
        ]
        if not versions:
            raise CliError(f"{name}: no PromptVersion in it", USAGE)
        for doc in versions:
            spec = doc.get("spec") or {}
            computed = content_hash(spec)
            pinned = spec.get("hash")
            row = {"HASH": computed, "NAME": (doc.get("metadata") or {}).get("name"), "FILE": name}
            if pinned and pinned != computed:
                row["PIN"] = f"MISMATCH (spec.hash {pinned})"
                failed = True
            rows.append(row)
    if args.output == "table":
        for row in rows:
            print(
                f"{row['HASH']}  {row['NAME']}  {row['FILE']}"
                + (f"  {row['PIN']}" if "PIN" in row else "")
            )
    else:
        _emit(args.output, rows, [], [{k.lower(): v for k, v in r.items()} for r in rows])
    return FAILED if failed else OK


def cmd_status(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    releases = sorted(
        cluster.list(RELEASES), key=lambda r: (r["spec"]["prompt"], r["spec"]["label"])
    )
    rows = []
    for release in releases:
        status, ready = release.get("status") or {}, _ready(release)
        rows.append(
            {
                "PROMPT": release["spec"]["prompt"],
                "LABEL": release["spec"]["label"],
                "VERSION": status.get("version"),
                "HASH": status.get("shortHash"),
                "REVISION": status.get("revision"),
                "READY": ready.get("status", "Unknown"),
                "REASON": ready.get("reason"),
                "AGE": _age(release["metadata"].get("creationTimestamp")),
            }
        )
    if not rows and args.output == "table":
        print(f"No PromptReleases in namespace {cluster.namespace}.", file=sys.stderr)
        return OK
    _emit(
        args.output,
        rows,
        ["PROMPT", "LABEL", "VERSION", "HASH", "REVISION", "READY", "REASON", "AGE"],
        releases,
    )
    return OK


def _releases_of(cluster: Cluster, prompt: str, label: str | None) -> list[dict[str, Any]]:
    if label:
        return [cluster.get(RELEASES, f"{prompt}-{label}")]
    found = [r for r in cluster.list(RELEASES) if r["spec"]["prompt"] == prompt]
    if not found:
        raise CliError(
            f"no PromptRelease of prompt {prompt} in namespace {cluster.namespace}", NOT_FOUND
        )
    return sorted(found, key=lambda r: r["spec"]["label"])


def cmd_history(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    releases = _releases_of(cluster, args.prompt, args.label)
    rows = [
        {
            "LABEL": r["spec"]["label"],
            "REVISION": e.get("revision"),
            "VERSION": e.get("version"),
            "HASH": short_hash(str(e.get("hash", ""))),
            "RELEASED": e.get("releasedAt"),
            "BY": e.get("releasedBy"),
            "RESTORES": e.get("restores"),
            "CHANGELOG": e.get("changelog"),
        }
        for r in releases
        for e in (r.get("status") or {}).get("history") or []
    ]
    raw = {r["spec"]["label"]: (r.get("status") or {}).get("history") or [] for r in releases}
    _emit(
        args.output,
        rows,
        ["LABEL", "REVISION", "VERSION", "HASH", "RELEASED", "BY", "RESTORES", "CHANGELOG"],
        raw,
    )
    return OK


def _prompt_lines(spec: Mapping[str, Any]) -> list[str]:
    """The prompt as lines to diff; a chat prompt as one block per message."""
    if spec.get("template") is not None:
        blocks = [str(spec["template"])]
    else:
        blocks = [
            f"[messages[{index}] {message.get('role')}]\n{message.get('content', '')}"
            for index, message in enumerate(spec.get("messages") or [])
        ]
    return [
        line if line.endswith("\n") else line + "\n"
        for block in blocks
        for line in block.splitlines(keepends=True)
    ]


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(_flatten(child, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def cmd_diff(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    a, b = cluster.get(VERSIONS, args.version_a), cluster.get(VERSIONS, args.version_b)
    spec_a, spec_b = a.get("spec") or {}, b.get("spec") or {}
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    paint = _painter(color)
    changed = False
    lines_a, lines_b = _prompt_lines(spec_a), _prompt_lines(spec_b)
    for line in difflib.unified_diff(lines_a, lines_b, args.version_a, args.version_b):
        changed = True
        sys.stdout.write(paint(line))
    fields_a = {
        **_flatten(spec_a.get("model") or {}, "model"),
        "templateFormat": spec_a.get("templateFormat") or "f-string",
        "variables": spec_a.get("variables") or [],
    }
    fields_b = {
        **_flatten(spec_b.get("model") or {}, "model"),
        "templateFormat": spec_b.get("templateFormat") or "f-string",
        "variables": spec_b.get("variables") or [],
    }
    for key in sorted(set(fields_a) | set(fields_b)):
        if fields_a.get(key) != fields_b.get(key):
            changed = True
            print(
                paint(
                    f"~ {key}: {json.dumps(fields_a.get(key))} -> {json.dumps(fields_b.get(key))}\n"
                ),
                end="",
            )
    return FAILED if changed else OK


def _painter(color: bool) -> Callable[[str], str]:
    codes = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m", "~": "\033[33m"}

    def paint(line: str) -> str:
        if not color:
            return line
        code = "\033[1m" if line.startswith(("+++ ", "--- ")) else codes.get(line[:1])
        return f"{code}{line.rstrip(chr(10))}\033[0m\n" if code else line

    return paint


def _apply_release(
    args: argparse.Namespace,
    cluster: Cluster,
    *,
    prompt: str,
    label: str,
    version: str,
    pin: str | None,
    changelog: str | None,
) -> int:
    """Point a release at a version (create it if new); wait for the operator's verdict."""
    name = f"{prompt}-{label}"
    spec: dict[str, Any] = {"prompt": prompt, "label": label, "version": version}
    if changelog:
        spec["changelog"] = changelog
    if pin:
        spec["hash"] = pin
    manifest = _object("PromptRelease", name, cluster.namespace, spec)
    if _printed_for_git(args, manifest):
        return OK
    target = cluster.get(VERSIONS, version)
    if (target.get("spec") or {}).get("prompt") != prompt:
        raise CliError(
            f"PromptVersion {version} belongs to prompt "
            f"{(target.get('spec') or {}).get('prompt')!r}, not {prompt!r}",
            USAGE,
        )
    try:
        cluster.get(RELEASES, name)
    except CliError as error:
        if error.code != NOT_FOUND:
            raise
        written = cluster.create(RELEASES, manifest)
    else:
        patch = {"spec": {"version": version, "changelog": changelog, "hash": pin}}
        written = cluster.merge_patch(RELEASES, name, patch)
    if args.no_wait:
        print(f"promptrelease/{name} points at {version} (not waiting)")
        return OK
    return _wait_released(args, cluster, written)


def _wait_released(args: argparse.Namespace, cluster: Cluster, written: dict[str, Any]) -> int:
    name, generation = written["metadata"]["name"], written["metadata"].get("generation", 1)
    deadline = time.monotonic() + args.timeout
    while True:
        current = cluster.get(RELEASES, name)
        status, ready = current.get("status") or {}, _ready(current)
        if status.get("observedGeneration", 0) >= generation and ready.get("status") in (
            "True",
            "False",
        ):
            break
        if time.monotonic() > deadline:
            raise CliError(
                f"timed out after {args.timeout:.0f} s waiting for {name} to be "
                "released: is the operator running?",
                FAILED,
            )
        time.sleep(0.2)
    if args.output != "table":
        _emit(args.output, [], [], current)
    if ready["status"] == "True":
        if args.output == "table":
            print(f"promptrelease/{name}: {ready.get('message')}")
        return OK
    print(
        f"error: promptrelease/{name} refused ({ready.get('reason')}): {ready.get('message')}",
        file=sys.stderr,
    )
    return FAILED


def cmd_release(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    return _apply_release(
        args,
        cluster,
        prompt=args.prompt,
        label=args.label,
        version=args.version,
        pin=args.hash,
        changelog=args.message,
    )


def cmd_promote(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    source = cluster.get(RELEASES, f"{args.prompt}-{args.source}")
    ready, status = _ready(source), source.get("status") or {}
    if ready.get("status") != "True" or not status.get("hash"):
        raise CliError(
            f"{args.prompt}-{args.source} is not Ready "
            f"({ready.get('reason', 'no status yet')}): nothing to promote",
            FAILED,
        )
    history: list[dict[str, Any]] = status.get("history") or []
    live = next((e for e in history if e.get("revision") == status.get("revision")), {})
    changelog = (
        args.message or live.get("changelog") or (f"Promote {status['version']} from {args.source}")
    )
    return _apply_release(
        args,
        cluster,
        prompt=args.prompt,
        label=args.target,
        version=status["version"],
        pin=status["hash"],
        changelog=changelog,
    )


def cmd_rollback(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    release = cluster.get(RELEASES, f"{args.prompt}-{args.label}")
    status = release.get("status") or {}
    history = status.get("history") or []
    if args.to_revision is not None:
        entry = next((e for e in history if e.get("revision") == args.to_revision), None)
        if entry is None:
            kept = ", ".join(str(e.get("revision")) for e in history) or "none"
            raise CliError(
                f"revision {args.to_revision} is not in the history of "
                f"{args.prompt}-{args.label} (kept: {kept})",
                NOT_FOUND,
            )
    else:
        entry = next(
            (
                e
                for e in history
                if e.get("revision", 0) < status.get("revision", 0)
                and (e.get("version"), e.get("hash")) != (status.get("version"), status.get("hash"))
            ),
            None,
        )
        if entry is None:
            raise CliError(
                f"{args.prompt}-{args.label} has no earlier revision to roll back to", NOT_FOUND
            )
    changelog = args.message or f"Roll back to revision {entry['revision']}"
    return _apply_release(
        args,
        cluster,
        prompt=args.prompt,
        label=args.label,
        version=entry["version"],
        pin=entry["hash"],
        changelog=changelog,
    )


def _variables(pairs: Iterable[str], files: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        loaded = next(iter(load_all(_read(name))), None)
        if not isinstance(loaded, dict):
            raise CliError(f"{name}: expected a mapping of variable names to values", USAGE)
        values.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--var {pair!r}: expected NAME=VALUE", USAGE)
        values[key] = value
    return values


def cmd_render(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    release = cluster.get(RELEASES, f"{args.prompt}-{args.label}")
    name = (
        (release.get("status") or {}).get("configMap")
        or release["spec"].get("configMapName")
        or release["metadata"]["name"]
    )
    data = cluster.config_map(name).get("data") or {}
    if "prompt.json" not in data:
        raise CliError(f"ConfigMap {name} has no prompt.json: nothing released yet?", NOT_FOUND)
    try:
        prompt = parse_payload(data["prompt.json"])
        variables = _variables(args.var, args.vars_file)
        if prompt.is_chat:
            messages = prompt.render_messages(**variables)
            if args.output == "table":
                for message in messages:
                    print(f"[{message['role']}]\n{message['content']}\n")
            else:
                _emit(args.output, [], [], messages)
        elif args.output == "table":
            print(prompt.render(**variables), end="")
        else:
            _emit(
                args.output,
                [],
                [],
                {"text": prompt.render(**variables), **prompt.tracing_attributes()},
            )
    except (RenderError, PayloadError) as error:
        raise CliError(str(error), USAGE) from error
    print(
        f"# {prompt.name} {prompt.label}: {prompt.version} {short_hash(prompt.hash)} revision "
        f"{prompt.revision}",
        file=sys.stderr,
    )
    return OK


def _next_version_name(cluster: Cluster, prompt: str) -> str:
    pattern = re.compile(rf"^{re.escape(prompt)}-v(\d+)$")
    numbers = [
        int(m.group(1))
        for v in cluster.list(VERSIONS)
        if (m := pattern.match(v["metadata"]["name"]))
    ]
    return f"{prompt}-v{max(numbers, default=0) + 1}"


def cmd_new_version(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    source = cluster.get(VERSIONS, args.source)
    spec = {k: v for k, v in (source.get("spec") or {}).items() if k not in ("hash", "description")}
    if spec.get("prompt") != args.prompt:
        raise CliError(
            f"PromptVersion {args.source} belongs to prompt {spec.get('prompt')!r}, "
            f"not {args.prompt!r}",
            USAGE,
        )
    text = _read(args.file)
    if "messages" in spec:
        loaded = next(iter(load_all(text)), None)
        messages = loaded.get("messages") if isinstance(loaded, dict) else loaded
        if not isinstance(messages, list):
            raise CliError(
                f"{args.file}: {args.source} is a chat prompt; give a YAML list of "
                "messages ({role, content})",
                USAGE,
            )
        spec["messages"] = messages
    else:
        spec["template"] = text
    if args.description:
        spec["description"] = args.description
    try:
        used: set[str] = set()
        for where in (
            [spec["template"]]
            if "template" in spec
            else [str(m.get("content", "")) for m in spec["messages"]]
        ):
            used |= placeholders(where, spec.get("templateFormat") or "f-string")
    except TemplateError as error:
        raise CliError(f"{args.file}: {error}", USAGE) from error
    kept = [v for v in spec.get("variables") or [] if v in used]
    spec["variables"] = kept + sorted(used - set(kept))
    if not spec["variables"]:
        spec.pop("variables")
    found = problems(spec)
    if found:
        raise CliError(f"{args.file}: " + "; ".join(found), USAGE)
    name = args.name or _next_version_name(cluster, args.prompt)
    manifest = _object("PromptVersion", name, cluster.namespace, spec)
    if _printed_for_git(args, manifest):
        return OK
    created = cluster.create(VERSIONS, manifest)
    if args.output != "table":
        _emit(args.output, [], [], created)
    else:
        print(f"promptversion/{name} created ({content_hash(spec)})")
    return OK


def _read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {name}: {error.strerror or error}", USAGE) from error


# -- the parser -----------------------------------------------------------------------------


def _cluster(args: argparse.Namespace) -> Cluster:
    return Cluster(args.kubeconfig, args.context, args.namespace)


EXAMPLES = {
    "hash": "kubectl prompt hash prompts/ticket-summarizer-v3.yaml",
    "status": "kubectl prompt status -n support",
    "history": "kubectl prompt history ticket-summarizer -l production",
    "diff": "kubectl prompt diff ticket-summarizer-v2 ticket-summarizer-v3",
    "release": "kubectl prompt release ticket-summarizer -l staging --version "
    "ticket-summarizer-v3 -m 'Adds a priority line'",
    "promote": "kubectl prompt promote ticket-summarizer --from staging --to production",
    "rollback": "kubectl prompt rollback ticket-summarizer -l production --to-revision 2",
    "render": "kubectl prompt render ticket-summarizer -l production --var ticket='Printer on "
    "fire'",
    "new-version": "kubectl prompt new-version ticket-summarizer --from ticket-summarizer-v3 "
    "-f template.txt",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="the namespace (default: the context's)")
    common.add_argument("--context", help="the kubeconfig context to use")
    common.add_argument("--kubeconfig", help="path to the kubeconfig file")
    common.add_argument("-o", "--output", choices=["table", "yaml", "json"], default="table")
    writes = argparse.ArgumentParser(add_help=False)
    writes.add_argument(
        "--dry-run",
        choices=["none", "client"],
        default="none",
        help="client: print the manifest (for Git) instead of applying it",
    )
    waits = argparse.ArgumentParser(add_help=False)
    waits.add_argument("--no-wait", action="store_true", help="don't wait for Ready")
    waits.add_argument("--timeout", type=float, default=60, help="seconds to wait (default 60)")

    parser = argparse.ArgumentParser(
        prog="kubectl prompt",
        description="Release, promote and roll back prompts managed by Prompt Release Operator.",
        epilog="Exit codes: 0 ok, 1 failed or refused, 2 bad usage or input, 3 not found, "
        "4 cluster unreachable or forbidden.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(
        name: str,
        helptext: str,
        func: Callable[[argparse.Namespace], int],
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        sub = verbs.add_parser(
            name,
            help=helptext,
            description=helptext,
            parents=[common, *parents],
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(func=func)
        return sub

    sub = verb("hash", "print the content hash of PromptVersion manifests (offline)", cmd_hash)
    sub.add_argument("files", nargs="+", metavar="FILE", help="YAML files, or - for stdin")
    verb("status", "list the releases in the namespace", cmd_status)
    sub = verb("history", "show the release history of a prompt", cmd_history)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", help="only this label")
    sub = verb("diff", "compare two PromptVersions (exit 1 when they differ)", cmd_diff)
    sub.add_argument("version_a", metavar="VERSION_A")
    sub.add_argument("version_b", metavar="VERSION_B")
    sub.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    sub = verb("release", "point a label at a version", cmd_release, writes, waits)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--version", required=True, help="the PromptVersion to release")
    sub.add_argument("-m", "--message", help="the changelog")
    sub.add_argument("--hash", help="pin the version's content hash")
    sub = verb(
        "promote",
        "release what one label runs under another, hash-pinned",
        cmd_promote,
        writes,
        waits,
    )
    sub.add_argument("prompt")
    sub.add_argument("--from", dest="source", required=True, help="e.g. staging")
    sub.add_argument("--to", dest="target", required=True, help="e.g. production")
    sub.add_argument("-m", "--message", help="the changelog (default: the source's)")
    sub = verb(
        "rollback", "bring back an earlier revision as a new one", cmd_rollback, writes, waits
    )
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--to-revision", type=int, help="default: the previous revision")
    sub.add_argument("-m", "--message", help="the changelog")
    sub = verb("render", "render the live prompt of a label with variables", cmd_render)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    sub.add_argument(
        "--vars-file",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML or JSON mapping of variables",
    )
    sub = verb(
        "new-version", "create the next version of a prompt from a file", cmd_new_version, writes
    )
    sub.add_argument("prompt")
    sub.add_argument("--from", dest="source", required=True, help="the version to start from")
    sub.add_argument(
        "-f",
        "--file",
        required=True,
        help="the new template (text prompts) or a YAML list of messages (chat)",
    )
    sub.add_argument("--name", help="default: the next free <prompt>-vN")
    sub.add_argument("-d", "--description")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
