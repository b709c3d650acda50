"""Composition: includes resolved to their pinned versions, composed into the text, and each
way a closure can fail named."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core import composition, payload
from prompt_release.core.composition_report import INCLUDES_UP_TO_DATE, report
from prompt_release.core.hashing import content_hash
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.plugin.errors import FAILED, OK
from prompt_release.plugin.parser import main
from prompt_release.plugin.verbs.authoring import _new_spec

NOW = "2026-12-05T10:00:00Z"


def version(name: str, spec: dict[str, Any]) -> VersionView:
    return VersionView.of({"metadata": {"name": name, "namespace": "ns"}, "spec": spec})


def snippet(text: str, fmt: str = "f-string", variables: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"prompt": "tone", "template": text, "templateFormat": fmt}
    if variables:
        spec["variables"] = variables
    return spec


def including(
    text: str, pins: dict[str, dict[str, Any]], variables: list[str], fmt: str = "f-string"
) -> dict[str, Any]:
    return {
        "prompt": "summarizer",
        "template": text,
        "templateFormat": fmt,
        "variables": variables,
        "includes": [{"name": name, "hash": content_hash(spec)} for name, spec in pins.items()],
    }


def lookup(**specs: dict[str, Any]) -> composition.Lookup:
    views = {
        name.replace("_", "-"): version(name.replace("_", "-"), s) for name, s in specs.items()
    }
    return views.get


@pytest.mark.parametrize(
    ("fmt", "placeholder", "rendered"),
    [
        ("f-string", "{customer}", "{customer}"),
        ("jinja2", "{{ customer }}", "{{ customer }}"),
        ("mustache", "{{customer}}", "{{customer}}"),
    ],
)
def test_the_marker_composes_in_every_format(fmt: str, placeholder: str, rendered: str) -> None:
    tone = snippet(f"Be kind to {placeholder}.\n", fmt, ["customer"])
    root = version(
        "summarizer-v1",
        including(
            f"{{{{> tone-v1}}}} Summarize {placeholder}", {"tone-v1": tone}, ["customer"], fmt
        ),
    )
    found = root.with_includes(lookup(tone_v1=tone))
    assert found.problems == []
    assert found.served_spec["template"] == f"Be kind to {rendered}. Summarize {rendered}"
    assert found.included == [
        {"name": "tone-v1", "prompt": "tone", "hash": content_hash(tone), "depth": 1}
    ]


def test_nested_includes_compose_depth_first_and_list_the_whole_closure() -> None:
    inner = snippet("politely")
    middle = including("Answer {{> inner-v1}}.", {"inner-v1": inner}, [])
    middle["prompt"] = "style"
    root = version("root", including("{{> middle-v1}} {x}", {"middle-v1": middle}, ["x"]))
    found = root.with_includes(lookup(inner_v1=inner, middle_v1=middle))
    assert found.served_spec["template"] == "Answer politely. {x}"
    assert [(i["name"], i["depth"]) for i in found.included] == [("middle-v1", 1), ("inner-v1", 2)]


def test_a_chat_prompt_composes_each_message() -> None:
    tone = snippet("Be kind.")
    spec = including("", {"tone-v1": tone}, ["q"])
    del spec["template"]
    spec["messages"] = [
        {"role": "system", "content": "{{> tone-v1}}"},
        {"role": "user", "content": "{q}"},
    ]
    found = version("chat", spec).with_includes(lookup(tone_v1=tone))
    assert found.problems == []
    assert found.served_spec["messages"][0] == {"role": "system", "content": "Be kind."}


def test_the_hash_covers_the_pins() -> None:
    """A snippet changed anew is another hash: the including version pinning it differs."""
    one, two = snippet("Be kind."), snippet("Be very kind.")
    assert content_hash(including("{{> t}}", {"t": one}, [])) != content_hash(
        including("{{> t}}", {"t": two}, [])
    )


def test_a_missing_include_is_named() -> None:
    root = version("root", including("{{> gone}}", {"gone": snippet("x")}, []))
    failure = root.with_includes(lookup()).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_NOT_FOUND
    assert "gone" in failure[1]


def test_a_mismatched_pin_is_named_with_both_hashes() -> None:
    pinned, actual = snippet("old"), snippet("new")
    root = version("root", including("{{> tone-v1}}", {"tone-v1": pinned}, []))
    failure = root.with_includes(lookup(tone_v1=actual)).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_HASH_MISMATCH
    assert content_hash(pinned) in failure[1] and content_hash(actual) in failure[1]


def test_a_self_include_is_a_cycle() -> None:
    spec = {"prompt": "a", "template": "{{> a}}", "includes": [{"name": "a", "hash": "x"}]}
    view = version("a", spec)
    failure = view.with_includes({"a": view}.get).include_failure
    assert failure == (composition.INCLUDE_CYCLE, "includes form a cycle: a -> a")


def test_a_cycle_through_the_lookup_is_found_before_any_hash() -> None:
    class Node:
        def __init__(self, name: str, target: str) -> None:
            self.name = name
            self.spec: dict[str, Any] = {
                "prompt": name,
                "template": f"{{{{> {target}}}}}",
                "includes": [{"name": target, "hash": "h"}],
            }
            self.content_hash = "h"
            self.own_problems: list[str] = []

    nodes = {"a": Node("a", "b"), "b": Node("b", "a")}
    found = composition.compose(nodes["a"], nodes.get)
    assert (found.reason, found.message) == (
        composition.INCLUDE_CYCLE,
        "includes form a cycle: a -> b -> a",
    )


def test_the_depth_limit_is_named() -> None:
    chain: dict[str, dict[str, Any]] = {"s0": snippet("end")}
    for level in range(1, composition.MAX_DEPTH + 2):
        below = f"s{level - 1}"
        chain[f"s{level}"] = including(f"{{{{> {below}}}}}", {below: chain[below]}, [])
    views = {name: version(name, spec) for name, spec in chain.items()}
    top = f"s{composition.MAX_DEPTH + 1}"
    failure = views[top].with_includes(views.get).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_DEPTH_EXCEEDED
    fits = f"s{composition.MAX_DEPTH}"
    assert views[fits].with_includes(views.get).include_failure is None


def test_an_include_in_another_format_or_a_chat_one_is_refused() -> None:
    jinja = snippet("{{ x }}", "jinja2", ["x"])
    root = version("root", including("{{> j}} {x}", {"j": jinja}, ["x"]))
    failure = root.with_includes({"j": version("j", jinja)}.get).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_INVALID
    assert "jinja2" in failure[1]


def test_the_composed_text_must_declare_the_snippets_variables() -> None:
    tone = snippet("Dear {customer},", variables=["customer"])
    root = version("root", including("{{> tone-v1}} {x}", {"tone-v1": tone}, ["x"]))
    failure = root.with_includes(lookup(tone_v1=tone)).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_INVALID
    assert "customer" in failure[1]


def test_markers_and_pins_must_agree_on_the_spec_alone() -> None:
    spec = including("{{> a}} {{> b}}", {"a": snippet("x"), "c": snippet("y")}, [])
    problems = version("root", spec).own_problems
    assert any("marks {{> b}}" in p for p in problems)
    assert any("no text marks" in p and "c" in p for p in problems)


def test_a_composed_payload_re_hashes_and_names_its_includes() -> None:
    tone = snippet("Be kind.\n")
    root = version("root", including("{{> tone-v1}} {x}", {"tone-v1": tone}, ["x"]))
    found = root.with_includes(lookup(tone_v1=tone))
    assert found.content_hash is not None
    body = payload.build(
        found.spec,
        label="production",
        version="root",
        content_hash=found.content_hash,
        revision=1,
        released_at=NOW,
        changelog=None,
        composed=found.served_spec,
        included=found.included,
    )
    parsed: payload.Payload = payload.parse(payload.data(body)[payload.PAYLOAD_KEY])
    assert body["format"] == payload.COMPOSED_FORMAT
    assert parsed.template == "Be kind. {x}"
    assert parsed.includes == (
        {"prompt": "tone", "version": "tone-v1", "hash": content_hash(tone)},
    )
    assert payload.data(body)[payload.TEMPLATE_KEY] == "Be kind. {x}"
    altered = {**body, "template": "Be rude. {x}"}
    with pytest.raises(payload.PayloadError, match="altered"):
        payload.parse(payload.data(altered)[payload.PAYLOAD_KEY])


def _release(status: dict[str, Any]) -> ReleaseView:
    return ReleaseView.of(
        {
            "metadata": {"name": "summarizer-production", "namespace": "ns", "generation": 1},
            "spec": {"prompt": "summarizer", "label": "production", "version": "root"},
            "status": status,
        }
    )


def test_update_available_names_the_pinned_and_the_newer_hash() -> None:
    tone = snippet("Be kind.")
    root = version("root", including("{{> tone-v1}}", {"tone-v1": tone}, []))
    found = root.with_includes(lookup(tone_v1=tone))
    live = {"version": "root", "hash": found.content_hash, "revision": 1}
    newer = composition.Served("tone-production", "tone-v2", "sha256:" + "b" * 64)
    plan = report(ReleasePlan(status=dict(live)), _release(live), found, {"tone": newer}, NOW)
    condition = next(c for c in plan.status["conditions"] if c["type"] == INCLUDES_UP_TO_DATE)
    assert (condition["status"], condition["reason"]) == ("False", composition.UPDATE_AVAILABLE)
    assert content_hash(tone) in condition["message"] and newer.hash in condition["message"]
    assert plan.status["includes"][0]["newer"] == {
        "version": "tone-v2",
        "hash": newer.hash,
        "release": "tone-production",
    }
    assert [e.reason for e in plan.events] == [composition.UPDATE_AVAILABLE]
    current = composition.Served("tone-production", "tone-v1", content_hash(tone))
    plan = report(ReleasePlan(status=dict(live)), _release(live), found, {"tone": current}, NOW)
    condition = next(c for c in plan.status["conditions"] if c["type"] == INCLUDES_UP_TO_DATE)
    assert condition["status"] == "True" and "newer" not in plan.status["includes"][0]


def test_a_release_without_includes_has_no_includes_condition() -> None:
    live = {"version": "plain", "hash": "sha256:" + "a" * 64, "revision": 1}
    plan = report(ReleasePlan(status=dict(live)), _release(live), None, {}, NOW)
    assert plan.status == live
    stale = {
        **live,
        "includes": [{"name": "gone", "prompt": "tone", "hash": "sha256:" + "b" * 64}],
        "conditions": [{"type": INCLUDES_UP_TO_DATE, "status": "True"}],
    }
    plan = report(ReleasePlan(status=dict(stale)), _release(live), None, {}, NOW)
    assert plan.status == {**live, "conditions": []}


def _manifest(name: str, spec: dict[str, Any]) -> str:
    body = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptVersion",
        "metadata": {"name": name},
        "spec": spec,
    }
    return json.dumps(body)


def test_hash_checks_the_includes_pins_of_the_files_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tone = snippet("Be kind.")
    root = including("{{> tone-v1}}", {"tone-v1": tone}, [])
    good = tmp_path / "good.yaml"
    good.write_text(_manifest("tone-v1", tone) + "\n---\n" + _manifest("root", root))
    assert main(["hash", "-o", "json", str(good)]) == OK
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["hash"]) for r in rows] == [
        ("tone-v1", content_hash(tone)),
        ("root", content_hash(root)),
    ]
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        _manifest("tone-v1", snippet("Be rude.")) + "\n---\n" + _manifest("root", root)
    )
    assert main(["hash", str(changed)]) == FAILED
    out = capsys.readouterr().out
    assert f"MISMATCH (includes tone-v1 at {content_hash(tone)}, which hashes to" in out


def test_a_cycle_with_pins_that_cannot_match_is_still_named_a_cycle() -> None:
    a = {"prompt": "a", "template": "{{> b}}", "includes": [{"name": "b", "hash": "sha256:1"}]}
    b = {"prompt": "b", "template": "{{> a}}", "includes": [{"name": "a", "hash": "sha256:2"}]}
    views = {"a": version("a", a), "b": version("b", b)}
    failure = views["a"].with_includes(views.get).include_failure
    assert failure == (composition.INCLUDE_CYCLE, "includes form a cycle: a -> b -> a")


def test_shared_includes_are_bounded_however_they_multiply() -> None:
    """Three versions a level, each including the three below: 3^k branches, refused by
    count before any text is composed."""
    specs: dict[str, dict[str, Any]] = {f"l0-{i}": snippet(f"x{i}") for i in range(3)}
    for level in range(1, 6):
        below = {f"l{level - 1}-{i}": specs[f"l{level - 1}-{i}"] for i in range(3)}
        text = " ".join(f"{{{{> {name}}}}}" for name in below)
        for i in range(3):
            specs[f"l{level}-{i}"] = including(text, below, [])
    views = {name: version(name, spec) for name, spec in specs.items()}
    assert views["l3-0"].with_includes(views.get).include_failure is None
    failure = views["l5-0"].with_includes(views.get).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_LIMIT_EXCEEDED


def test_a_marker_repeated_past_the_size_limit_is_refused_before_composing() -> None:
    big = snippet("x" * 600_000)
    root = version("root", including("{{> big}}{{> big}}", {"big": big}, []))
    failure = root.with_includes({"big": version("big", big)}.get).include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_LIMIT_EXCEEDED
    assert "the template composes to 1200000 characters" in failure[1]


def test_lint_composes_with_the_versions_of_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pin that differs from a version of the files is an error; an include none of the
    files holds may be in the cluster: not judged offline."""
    tone = snippet("Hi {customer}", variables=["customer"])
    wrong = including("{{> tone-v1}} {x}", {"tone-v1": snippet("other")}, ["x", "customer"])
    elsewhere = including("{{> elsewhere}} {x}", {"elsewhere": snippet("x")}, ["x"])
    path = tmp_path / "versions.yaml"
    documents = [_manifest("tone-v1", tone), _manifest("wrong", wrong)]
    path.write_text("\n---\n".join([*documents, _manifest("elsewhere-user", elsewhere)]))
    assert main(["lint", "-o", "json", str(path)]) == FAILED
    verdicts = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert verdicts["tone-v1"]["severity"] == "ok"
    assert verdicts["wrong"]["message"].startswith("IncludeHashMismatch: wrong pins tone-v1")
    assert verdicts["elsewhere-user"]["severity"] == "ok"


def test_a_remembered_composition_follows_what_its_includes_hash_to() -> None:
    """Compositions are remembered by the hashes found under the version: a version of the
    included name with other content is composed anew."""
    tone = snippet("Be kind.")
    body = {
        "metadata": {"name": "root", "namespace": "ns", "uid": "u-root"},
        "spec": including("{{> tone-v1}}", {"tone-v1": tone}, []),
    }
    first = VersionView.of(body).with_includes(lookup(tone_v1=tone))
    again = VersionView.of(body).with_includes(lookup(tone_v1=tone))
    assert first.composed is again.composed and first.include_failure is None
    changed = VersionView.of(body).with_includes(lookup(tone_v1=snippet("Be rude.")))
    failure = changed.include_failure
    assert failure is not None and failure[0] == composition.INCLUDE_HASH_MISMATCH


def test_new_version_keeps_the_pins_its_text_still_marks() -> None:
    """`kubectl prompt new-version --from` a composed version: the pins the new text marks stay,
    the others go, and the variables stay as declared (they may be the snippets')."""
    tone, sign = snippet("Dear {customer},", variables=["customer"]), snippet("Bye.")
    source = including("{{> tone-v1}} {x} {{> sign-v1}}", {"tone-v1": tone, "sign-v1": sign}, [])
    source["variables"] = ["customer", "x"]
    args = argparse.Namespace(file="t.txt", description=None, template_format=None)
    made = _new_spec(source, "{{> tone-v1}} {x} and {y}", args)
    assert made["includes"] == [{"name": "tone-v1", "hash": content_hash(tone)}]
    assert made["variables"] == ["customer", "x", "y"]
    assert version("new", made).with_includes(lookup(tone_v1=tone)).problems == []
    plain = _new_spec(source, "Just {x}", args)
    assert "includes" not in plain and plain["variables"] == ["x"]
