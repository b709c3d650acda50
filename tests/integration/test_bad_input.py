"""Bad and hostile input, case by case, on the real API server with the operator running.

Each case is refused where it is first seen, and nothing live changes:

- `REFUSED`: the API server refuses it at `kubectl apply` (or `create`), with a message that
  names the field; the live release `summarizer-production` and its ConfigMap stay as they were.
- `NOT_READY`: the API server stores it, and the operator refuses it: the release pointed at it
  is `Ready=False` with the case's reason (and a bad PromptVersion is `Invalid`), still serving
  revision 1 from a ConfigMap whose resourceVersion has not moved. Each of these cases has its
  own release (`summarizer-<case>`, label `<case>`), all live before the bad input arrives, so
  the whole batch is applied at once and waited for once.

docs/bad-input.md lists every case with its outcome; a test keeps the two in step.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.hashing import content_hash
from tests.conftest import Cluster
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import API, condition, release, version

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"

PROMPT = "summarizer"
GOOD = "summarizer-v1"
LIVE = "summarizer-production"
FOREIGN = "not-ours"  # a ConfigMap the operator does not manage
ZERO_HASH = "sha256:" + "0" * 64
DEEP = "__DEEP__"  # stands for parameters too deep for json.dumps, spliced in as text
MIB = 1_048_576


def _deep(levels: int) -> str:
    """`{"a":{"a":...1...}}`, `levels` objects deep, as JSON text."""
    return '{"a":' * levels + "1" + "}" * levels


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


# --- refused by the API server -------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Refused at apply; every fragment of `says` is in kubectl's error."""

    objects: list[dict[str, Any]]
    says: tuple[str, ...]
    create: bool = False  # `kubectl create` (for bodies over client-side apply's annotation cap)
    deep: int = 0  # splice `_deep(deep)` where the manifest says DEEP


TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


def bad_version(name: str = "summarizer-bad", **spec: Any) -> dict[str, Any]:
    return version(name, **spec)


def bare_version(**spec: Any) -> dict[str, Any]:
    """A PromptVersion with exactly this spec (no default template)."""
    return {
        "apiVersion": API,
        "kind": "PromptVersion",
        "metadata": {"name": "summarizer-bad"},
        "spec": spec,
    }


def live_release(**spec: Any) -> dict[str, Any]:
    """The live release, with some of its spec changed."""
    body = release(GOOD)
    body["spec"].update(spec)
    return body


def named_release(name: str, **spec: Any) -> dict[str, Any]:
    body = release(GOOD, **spec)
    body["metadata"]["name"] = name
    return body


REFUSED: dict[str, Refused] = {
    # PromptVersion metadata
    "version-name-uppercase": Refused([bad_version("Summarizer-V2")], ("metadata.name",)),
    "version-name-too-long": Refused(
        [bad_version("s" * 254)], ("metadata.name", "no more than 253")
    ),
    "version-name-control-character": Refused(
        [bad_version("summarizer-\x1b[31m-v2")], ("metadata.name",)
    ),
    "version-name-path": Refused(
        [bad_version("../summarizer")], ("invalid resource name", "may not contain '/'")
    ),
    # PromptVersion spec: shape
    "version-prompt-not-a-dns-label": Refused(
        [bad_version(prompt="Ticket_Summarizer")], ("spec.prompt",)
    ),
    "version-prompt-too-long": Refused([bad_version(prompt="p" * 64)], ("spec.prompt",)),
    "version-prompt-missing": Refused(
        [bare_version(template="{ticket}", variables=["ticket"])],
        ("spec.prompt", "Required value"),
    ),
    "version-template-and-messages": Refused(
        [bad_version(messages=[{"role": "user", "content": "{ticket}"}], template="{ticket}")],
        ("exactly one of spec.template", "spec.messages"),
    ),
    "version-neither-template-nor-messages": Refused(
        [bare_version(prompt=PROMPT)], ("exactly one of spec.template",)
    ),
    "version-template-not-a-string": Refused([bad_version(template=42)], ("spec.template",)),
    "version-template-over-1-mib": Refused(
        [bad_version(template="x" * (MIB - 8) + " {ticket}")],
        ("spec.template", "Too long"),
        create=True,
    ),
    "version-message-content-too-long": Refused(
        [bad_version(messages=[{"role": "user", "content": "x" * 262_145}])],
        ("spec.messages[0].content", "Too long"),
        create=True,
    ),
    "version-messages-empty": Refused([bad_version(messages=[])], ("spec.messages",)),
    "version-too-many-messages": Refused(
        [bad_version(messages=[{"role": "user", "content": "x"}] * 101)],
        ("spec.messages", "Too many"),
    ),
    "version-message-role-unknown": Refused(
        [bad_version(messages=[{"role": "root", "content": "x"}])],
        ("spec.messages[0].role", "Unsupported value"),
    ),
    "version-message-name-too-long": Refused(
        [bad_version(messages=[{"role": "user", "content": "x", "name": "n" * 65}])],
        ("spec.messages[0].name", "Too long"),
    ),
    "version-template-format-unknown": Refused(
        [bad_version(templateFormat="handlebars")], ("spec.templateFormat", "Unsupported value")
    ),
    # PromptVersion spec: variables
    "version-variables-not-a-list": Refused([bad_version(variables="ticket")], ("spec.variables",)),
    "version-variable-type-unknown": Refused(
        [bad_version(variables=[{"name": "ticket", "type": "text"}])],
        ("spec.variables[0].type", "Unsupported value"),
    ),
    "version-variable-entry-without-name": Refused(
        [bad_version(variables=[{"type": "string"}])], ("spec.variables[0].name", "Required value")
    ),
    "version-tool-type-unknown": Refused(
        [bad_version(tools=[{**TOOL, "type": "retrieval"}])],
        ("spec.tools[0].type", "Unsupported value"),
    ),
    "version-response-format-without-schema": Refused(
        [bad_version(responseFormat={"name": "summary"})],
        ("spec.responseFormat.schema", "Required value"),
    ),
    "version-variable-not-an-identifier": Refused(
        [bad_version(variables=["ticket.title"])], ("spec.variables[0]",)
    ),
    "version-variable-too-long": Refused(
        [bad_version(variables=["v" * 129])], ("spec.variables[0]", "Too long")
    ),
    "version-too-many-variables": Refused(
        [bad_version(variables=[f"v{n}" for n in range(101)])], ("spec.variables", "Too many")
    ),
    # PromptVersion spec: model, description, hash, unknown fields
    "version-parameters-not-an-object": Refused(
        [bad_version(model={"parameters": [1, 2]})], ("spec.model.parameters",)
    ),
    "version-parameters-nested-10001-deep": Refused(
        [bad_version(model={"parameters": DEEP})], ("exceeded max depth",), deep=10_001
    ),
    "version-model-provider-too-long": Refused(
        [bad_version(model={"provider": "p" * 64})], ("spec.model.provider", "Too long")
    ),
    "version-description-too-long": Refused(
        [bad_version(description="d" * 4097)], ("spec.description", "Too long")
    ),
    "version-hash-pin-malformed": Refused([bad_version(hash="sha256:XYZ")], ("spec.hash",)),
    "version-unknown-field": Refused(
        [bad_version(temperature=0.2)], ('unknown field "spec.temperature"',)
    ),
    "version-unknown-model-field": Refused(
        [bad_version(model={"temperature": 0.2})], ('unknown field "spec.model.temperature"',)
    ),
    "version-spec-edit": Refused(
        [version(GOOD, template="Edited in place: {ticket}")],
        ("PromptVersion spec is immutable",),
    ),
    # PromptRelease
    "release-name-breaks-the-rule": Refused(
        [named_release("summarizer-prod")],
        ("metadata.name must be <spec.prompt>-<spec.label>",),
    ),
    "release-prompt-changed": Refused(
        [live_release(prompt="other")],
        ("spec.prompt is immutable", "metadata.name must be <spec.prompt>-<spec.label>"),
    ),
    "release-label-changed": Refused([live_release(label="staging")], ("spec.label is immutable",)),
    "release-config-map-name-moved": Refused(
        [live_release(configMapName=f"{LIVE}.v2")], ("spec.configMapName is immutable",)
    ),
    "config-map-of-someone-else": Refused(
        [release(GOOD, label="squatter", configMapName=FOREIGN)],
        ("spec.configMapName must be the release's name or <release name>.<suffix>",),
    ),
    "config-map-of-another-release": Refused(
        [release(GOOD, label="squatter", configMapName=LIVE)],
        ("spec.configMapName must be the release's name or <release name>.<suffix>",),
    ),
    "release-label-not-a-dns-label": Refused([release(GOOD, label="Prod_1")], ("spec.label",)),
    "release-version-not-an-object-name": Refused(
        [live_release(version="Summarizer V2")], ("spec.version",)
    ),
    "release-version-missing": Refused(
        [{**live_release(), "spec": {"prompt": PROMPT, "label": "production"}}],
        ("spec.version", "Required value"),
    ),
    "release-history-limit-zero": Refused(
        [live_release(historyLimit=0)], ("spec.historyLimit", "greater than or equal to 1")
    ),
    "release-history-limit-over-100": Refused(
        [live_release(historyLimit=101)], ("spec.historyLimit", "less than or equal to 100")
    ),
    "release-history-limit-not-an-integer": Refused(
        [live_release(historyLimit="ten")], ("spec.historyLimit",)
    ),
    "release-history-limit-fraction": Refused(
        [live_release(historyLimit=2.5)], ("spec.historyLimit",)
    ),
    "release-hash-pin-malformed": Refused([live_release(hash="md5:0123")], ("spec.hash",)),
    "release-changelog-too-long": Refused(
        [live_release(changelog="c" * 4097)], ("spec.changelog", "Too long")
    ),
    "release-config-map-name-invalid": Refused(
        [live_release(configMapName="Prompts/Prod")], ("spec.configMapName",)
    ),
    "release-unknown-field": Refused(
        [live_release(replicas=3)], ('unknown field "spec.replicas"',)
    ),
}


# --- stored by the API server, refused by the operator --------------------------------------


@dataclass(frozen=True)
class NotReady:
    """The case's release, pointed at `version` (a bad PromptVersion, if any), is Ready=False."""

    reason: str
    says: str  # in the release's Ready message
    version: dict[str, Any] | None = None  # the bad version's spec (named `v-<case>`)
    release: dict[str, Any] = field(default_factory=dict)  # changes to the release's spec
    deep: int = 0  # model.parameters nested this deep, spliced in as JSON text

    @property
    def version_invalid(self) -> bool:
        return self.reason == "VersionInvalid"


def invalid(says: str, **spec: Any) -> NotReady:
    """A PromptVersion that is Invalid (saying `says`) and a release of it VersionInvalid."""
    body: dict[str, Any] = {"prompt": PROMPT}
    if "messages" not in spec:
        body["variables"] = ["ticket"]
    body.update(spec)
    return NotReady("VersionInvalid", says, version=body)


def jinja(says: str, template: str, **spec: Any) -> NotReady:
    return invalid(says, templateFormat="jinja2", template=template, **spec)


def mustache(says: str, template: str) -> NotReady:
    return invalid(says, templateFormat="mustache", template=template)


NOT_READY: dict[str, NotReady] = {
    # f-string placeholders: plain names only
    "f-string-attribute-access": invalid(
        "placeholder {ticket.__class__} is not a plain name", template="Hi {ticket.__class__}"
    ),
    "f-string-globals-walk": invalid(
        "placeholder {ticket.__init__.__globals__} is not a plain name",
        template="{ticket.__init__.__globals__}",
    ),
    "f-string-index-access": invalid(
        "placeholder {ticket[0]} is not a plain name", template="First: {ticket[0]}"
    ),
    "f-string-dotted-name": invalid(
        "placeholder {ticket.title} is not a plain name", template="{ticket.title}"
    ),
    "f-string-unicode-name": invalid(
        "placeholder {tické} is not a plain name", template="{ticket} {tické}"
    ),
    "f-string-nested-format-spec": invalid(
        "{ticket:{width}} nests a placeholder in its format spec",
        template="{ticket:{width}}",
        variables=["ticket", "width"],
    ),
    "f-string-nested-spec-attribute": invalid(
        "{ticket:{ticket.__class__}} nests a placeholder in its format spec",
        template="{ticket:{ticket.__class__}}",
    ),
    "f-string-huge-width": invalid(
        "{ticket:>1000000000} asks for a width of 1000000000", template="{ticket:>1000000000}"
    ),
    "f-string-nonstandard-format-spec": invalid(
        "{ticket:%Y-%m-%d} has the format spec '%Y-%m-%d'", template="{ticket:%Y-%m-%d}"
    ),
    "f-string-unknown-conversion": invalid(
        "{ticket!x} has the unknown conversion !x", template="{ticket!x}"
    ),
    "f-string-positional": invalid(
        "placeholder {0} is positional", template="Hi {0}", variables=None
    ),
    "f-string-unbalanced-brace": invalid("template: f-string syntax", template="Hi {ticket"),
    # jinja2: known sandbox escapes, refused before anything renders
    "jinja2-class-mro": jinja(
        "{{ ''.__class__.__mro__ }} reaches the internal attribute __mro__",
        "{{ ticket }}{{ ''.__class__.__mro__ }}",
    ),
    "jinja2-cycler-globals": jinja(
        "{{ cycler.__init__.__globals__ }} reaches the internal attribute __globals__",
        "{{ ticket }}{{ cycler.__init__.__globals__ }}",
    ),
    "jinja2-self-context": jinja(
        "reaches the internal attribute _TemplateReference__context",
        "{{ ticket }}{{ self._TemplateReference__context }}",
    ),
    "jinja2-config": jinja("not declared in variables: config", "{{ ticket }}{{ config }}"),
    "jinja2-lipsum-globals": jinja(
        "{{ lipsum.__globals__ }} reaches the internal attribute __globals__",
        "{{ ticket }}{{ lipsum.__globals__ }}",
    ),
    "jinja2-variable-class": jinja(
        "{{ ticket.__class__ }} reaches the internal attribute __class__",
        "{{ ticket.__class__ }}",
    ),
    "jinja2-attr-filter": jinja(
        "{{ ticket|attr('__class__') }} reaches the internal attribute __class__",
        "{{ ticket|attr('__class__') }}",
    ),
    "jinja2-include": jinja("{% include %} is refused", "{{ ticket }}{% include 'secrets.txt' %}"),
    "jinja2-syntax-error": jinja("jinja2 syntax, line 1", "{% if ticket %}"),
    # mustache: names only, no partials
    "mustache-partial": mustache("the partial {{>footer}} is refused", "{{ticket}}{{> footer}}"),
    "mustache-not-a-name": mustache("{{ticket-id}} is not a name", "{{ticket}}{{ticket-id}}"),
    "mustache-dot-outside-section": mustache("{{.}} outside a section", "{{ticket}}{{.}}"),
    "mustache-unclosed-section": mustache("the section ticket is never closed", "{{#ticket}}x"),
    # control characters
    "control-character-nul": invalid(
        "template holds 1 control character(s), the first U+0000", template="Hi\x00 {ticket}"
    ),
    "bidi-control-in-template": invalid(
        "template holds 1 bidirectional control character(s), the first U+202E",
        template="Approve the refund \u202e{ticket}",
    ),
    "bidi-isolate-in-message": invalid(
        "messages[0].content holds 2 bidirectional control character(s), the first U+2067",
        messages=[{"role": "system", "content": "\u2067admin\u2069 only"}],
    ),
    "control-character-escape": invalid(
        "template holds 2 control character(s), the first U+001B",
        template="\x1b[2J\x1b[H{ticket}",
    ),
    "control-character-in-message": invalid(
        "messages[1].content holds 1 control character(s), the first U+0007",
        messages=[
            {"role": "system", "content": "You summarize tickets."},
            {"role": "user", "content": "\x07{ticket}"},
        ],
        variables=["ticket"],
    ),
    "control-character-in-description": invalid(
        "description holds 2 control character(s), the first U+001B",
        template="{ticket}",
        description="\x1b]0;pwned\x07",
    ),
    # placeholders against variables
    "undeclared-placeholder": invalid(
        "placeholder(s) not declared in variables: secret", template="{ticket} {secret}"
    ),
    "unused-variable": invalid(
        "variable(s) declared but not used in the prompt: extra",
        template="{ticket}",
        variables=["ticket", "extra"],
    ),
    "version-variables-duplicate": invalid(
        "variables lists a name more than once: ticket",
        template="{ticket}",
        variables=["ticket", {"name": "ticket", "type": "string"}],
    ),
    # typed variables, tools and the response format
    "variable-default-wrong-type": invalid(
        "variables[0] (ticket): default is string, not integer",
        template="{ticket}",
        variables=[{"name": "ticket", "type": "integer", "default": "3"}],
    ),
    "variable-entry-unknown-field": invalid(
        "variables[0] (ticket): unknown field(s) kind",
        template="{ticket}",
        variables=[{"name": "ticket", "kind": "string"}],
    ),
    "tools-duplicate-name": invalid(
        "tools: more than one function named lookup", template="{ticket}", tools=[TOOL, TOOL]
    ),
    "tool-schema-invalid": invalid(
        "tools[0].function.parameters.properties.city.type: 'strin' is not valid",
        template="{ticket}",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "parameters": {"type": "object", "properties": {"city": {"type": "strin"}}},
                },
            }
        ],
    ),
    "response-schema-invalid": invalid(
        "responseFormat.schema.required: 'bullets' is not of type 'array'",
        template="{ticket}",
        responseFormat={"schema": {"type": "object", "required": "bullets"}},
    ),
    # model.parameters
    "parameters-nested-65-deep": invalid(
        "model.parameters nests 65 levels deep, over the limit of 64",
        template="{ticket}",
        model={"parameters": _nested(65)},
    ),
    "parameters-nested-5000-deep": NotReady(
        "VersionInvalid",
        "model.parameters nests 5000 levels deep, over the limit of 64",
        version={
            "prompt": PROMPT,
            "template": "{ticket}",
            "variables": ["ticket"],
            "model": {"parameters": DEEP},
        },
        deep=5000,
    ),
    "parameters-huge-integer": invalid(
        "no canonical JSON form", template="{ticket}", model={"parameters": {"seed": 2**60}}
    ),
    "parameters-over-the-config-map-limit": NotReady(
        "PayloadTooLarge",
        "over the ConfigMap limit",
        version={
            "prompt": PROMPT,
            "template": "{ticket}",
            "variables": ["ticket"],
            "model": {"parameters": {"blob": "b" * MIB}},
        },
    ),
    # size
    "prompt-of-1-mib": NotReady(
        "PayloadTooLarge",
        "over the ConfigMap limit",
        version={
            "prompt": PROMPT,
            "template": "x" * (MIB - 9) + " {ticket}",
            "variables": ["ticket"],
        },
    ),
    "prompt-over-1-mib-in-utf-8": invalid(
        "over the 1048576-byte limit", template="é" * 600_000 + " {ticket}"
    ),
    # what the release points at
    "version-of-another-prompt": NotReady(
        "PromptMismatch",
        "belongs to prompt 'other', not 'summarizer'",
        version={"prompt": "other", "template": "{ticket}", "variables": ["ticket"]},
    ),
    "version-hash-pin-mismatch": invalid(
        f"hash pin mismatch: spec.hash is {ZERO_HASH}", template="{ticket}", hash=ZERO_HASH
    ),
    "release-hash-pin-mismatch": NotReady(
        "HashMismatch", f"spec.hash pins {ZERO_HASH}", release={"hash": ZERO_HASH}
    ),
    "missing-version": NotReady(
        "VersionNotFound", "summarizer-v404 not found", release={"version": "summarizer-v404"}
    ),
}


def _bad_name(case: str) -> str:
    return f"v-{case}"


def _case_release(case: str) -> str:
    return f"{PROMPT}-{case}"


def _manifest(objects: list[dict[str, Any]], deep: int = 0) -> str:
    text = "\n---\n".join(json.dumps(obj, ensure_ascii=False) for obj in objects)
    return text.replace(json.dumps(DEEP), _deep(deep)) if deep else text


# --- the live state, and the batch of operator cases -----------------------------------------


@dataclass
class Live:
    kubectl: Kubectl
    operator: OperatorProcess
    config_maps: dict[str, str]  # name -> resourceVersion, once everything was live
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)  # after the bad input
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    waited: float = 0.0


def _resource_versions(kubectl: Kubectl) -> dict[str, str]:
    items = json.loads(kubectl("get", "configmaps", "-o", "json"))["items"]
    return {cm["metadata"]["name"]: cm["metadata"]["resourceVersion"] for cm in items}


def _by_name(kubectl: Kubectl, kind: str) -> dict[str, dict[str, Any]]:
    items = json.loads(kubectl("get", kind, "-o", "json"))["items"]
    return {obj["metadata"]["name"]: obj for obj in items}


@pytest.fixture(scope="module")
def live(
    cluster: Cluster,
    crds: None,
    admin_kubectl: Kubectl,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    """One namespace, the operator, `summarizer-production` and one release per operator case,
    all serving summarizer-v1 at revision 1."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 30_000))  # to read back the 5000-deep version
    namespace = f"t-bad-{int(time.time() * 1000) % 10**8}"
    admin_kubectl("create", "namespace", namespace)
    kubectl = admin_kubectl.in_namespace(namespace)
    log = tmp_path_factory.mktemp("bad-input") / "operator.log"
    operator = OperatorProcess.start(cluster.kubeconfig, ["-n", namespace], log)
    try:
        kubectl("create", "configmap", FOREIGN, "--from-literal=owner=someone-else")
        releases = [release(GOOD)] + [release(GOOD, label=case) for case in NOT_READY]
        kubectl.apply(_manifest([version(GOOD), *releases]))
        names = [LIVE] + [_case_release(case) for case in NOT_READY]

        def all_live() -> bool:
            found = _by_name(kubectl, "promptreleases")
            return all(
                found.get(name, {}).get("status", {}).get("revision") == 1
                and condition(found[name]).get("status") == "True"
                for name in names
            )

        eventually(all_live, timeout=90, interval=0.5, what="every release live at revision 1")
        yield Live(kubectl, operator, _resource_versions(kubectl))
    finally:
        operator.stop()
        admin_kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
        sys.setrecursionlimit(limit)


@pytest.fixture(scope="module")
def refused_by_the_operator(live: Live) -> Live:
    """Every operator case applied at once, then waited for at once."""
    kubectl = live.kubectl
    started = time.monotonic()
    small: list[str] = []
    large: list[str] = []
    for case, bad in NOT_READY.items():
        if bad.version is not None:
            body = {
                "apiVersion": API,
                "kind": "PromptVersion",
                "metadata": {"name": _bad_name(case)},
                "spec": bad.version,
            }
            text = _manifest([body], bad.deep)
            (large if len(text) > 200_000 else small).append(text)
    kubectl("create", "-f", "-", input="\n---\n".join(small))
    for text in large:  # one request each: the API server's limit is per request
        kubectl("create", "-f", "-", input=text)
    changes = []
    for case, bad in NOT_READY.items():
        target = _bad_name(case) if bad.version is not None else GOOD
        changes.append(release(target, label=case, **bad.release))
    kubectl.apply(_manifest(changes))

    def all_refused() -> dict[str, dict[str, Any]] | None:
        found = _by_name(kubectl, "promptreleases")
        live.releases = found
        done = all(
            condition(found.get(_case_release(case), {})).get("reason") == bad.reason
            for case, bad in NOT_READY.items()
        )
        return found if done else None

    with contextlib.suppress(AssertionError):  # each case's test says what it has instead
        eventually(all_refused, timeout=90, interval=0.5, what="every operator case refused")
    time.sleep(1)  # a late write to a ConfigMap would show in the next read
    live.versions = _by_name(kubectl, "promptversions")
    live.releases = _by_name(kubectl, "promptreleases")
    live.waited = time.monotonic() - started
    return live


def _assert_nothing_live_changed(live: Live, names: list[str]) -> None:
    now = _resource_versions(live.kubectl)
    for name in names:
        assert now[name] == live.config_maps[name], f"ConfigMap {name} was written"


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_by_the_api_server(case: str, live: Live) -> None:
    bad = REFUSED[case]
    verb = ["create"] if bad.create else ["apply"]
    result = live.kubectl.run(*verb, "-f", "-", input=_manifest(bad.objects, bad.deep), check=False)
    assert result.returncode != 0, result.stdout
    for fragment in bad.says:
        assert fragment in result.stderr, result.stderr
    served = live.kubectl.get("promptrelease", LIVE)
    assert served["status"]["revision"] == 1 and served["status"]["version"] == GOOD
    assert condition(served)["status"] == "True"
    _assert_nothing_live_changed(live, [LIVE])
    assert not live.kubectl.exists("promptversion", "summarizer-bad")


@pytest.mark.parametrize("case", list(NOT_READY))
def test_refused_by_the_operator_with_a_named_reason(
    case: str, refused_by_the_operator: Live
) -> None:
    live, bad = refused_by_the_operator, NOT_READY[case]
    refused = live.releases[_case_release(case)]
    ready = condition(refused)
    assert (ready.get("status"), ready.get("reason")) == ("False", bad.reason), ready
    assert bad.says in ready["message"], ready["message"]
    assert ready["message"].endswith(f"still serving revision 1 ({GOOD})"), ready["message"]
    assert condition(refused, "Stalled").get("status") == "True"
    assert refused["status"]["revision"] == 1 and refused["status"]["version"] == GOOD
    assert refused["status"]["observedGeneration"] == refused["metadata"]["generation"]
    _assert_nothing_live_changed(live, [_case_release(case), LIVE, FOREIGN])
    if bad.version_invalid:
        version_ready = condition(live.versions[_bad_name(case)])
        assert (version_ready.get("status"), version_ready.get("reason")) == ("False", "Invalid")
        assert bad.says in version_ready["message"], version_ready["message"]


def test_a_lone_surrogate_is_stored_as_u_fffd_and_hashes_as_stored(live: Live) -> None:
    """JSON `\\ud800` is no bad input for the API server: it stores U+FFFD, and the operator's
    hash is the hash of what is stored (a manifest with a lone surrogate has no offline hash)."""
    manifest = _manifest([version("summarizer-surrogate", template="Hi \\ud800 {ticket}")])
    live.kubectl.apply(manifest.replace("\\\\ud800", "\\ud800"))

    def valid() -> dict[str, Any] | None:
        found = live.kubectl.get("pver", "summarizer-surrogate")
        return found if condition(found).get("status") == "True" else None

    stored = eventually(valid, what="the surrogate version Ready")
    assert stored["spec"]["template"] == "Hi \ufffd {ticket}"
    assert stored["status"]["hash"] == content_hash(stored["spec"])


def test_the_doc_lists_every_case() -> None:
    """docs/bad-input.md has one table row per case, by id, and no other."""
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", DOC.read_text(), flags=re.MULTILINE)
    assert sorted(rows) == sorted([*REFUSED, *NOT_READY])
    assert len(rows) == len(set(rows))
    assert len(REFUSED) + len(NOT_READY) >= 40
