"""`kubectl prompt` through the real kubectl binary (plugin discovery on PATH), against the real
API server with the operator running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Prompt
from tests.kube import Kubectl, OperatorProcess
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

PLUGIN_DIR = str(Path(sys.executable).parent)  # where `pip install` put kubectl-prompt


@pytest.fixture
def two_versions(kubectl: Kubectl, operator: OperatorProcess) -> None:
    v2 = version("summarizer-v2", model={"name": "m", "parameters": {"temperature": 0.3}})
    apply(
        kubectl,
        version("summarizer-v1", model={"name": "m", "parameters": {"temperature": 0.2}}),
        v2,
    )


def test_kubectl_discovers_the_plugin_on_path(prompt: Prompt, kubectl: Kubectl) -> None:
    env = dict(os.environ, PATH=f"{PLUGIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    listed = subprocess.run(
        [str(kubectl.binary), "plugin", "list"], capture_output=True, text=True, env=env
    )
    assert "kubectl-prompt" in listed.stdout
    helped = prompt("--help", namespaced=False)
    assert helped.returncode == 0 and "release" in helped.stdout


@pytest.mark.parametrize(
    "verb",
    [
        "hash",
        "status",
        "history",
        "diff",
        "release",
        "promote",
        "rollback",
        "render",
        "new-version",
    ],
)
def test_every_verb_has_help_with_an_example(prompt: Prompt, verb: str) -> None:
    result = prompt(verb, "--help", namespaced=False)
    assert result.returncode == 0 and f"kubectl prompt {verb}" in result.stdout
    assert "example:" in result.stdout


def test_hash_offline_equals_the_operator(
    prompt: Prompt, kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    manifest = tmp_path / "v1.yaml"
    manifest.write_text(
        "apiVersion: promptrelease.io/v1alpha1\nkind: PromptVersion\n"
        "metadata: {name: summarizer-v1}\n"
        "spec:\n  prompt: summarizer\n  template: |\n    Résumé: {ticket}\n"
        "  variables: [ticket]\n  model: {parameters: {temperature: 1.0, top_p: 1e-1}}\n"
    )
    offline = prompt("hash", str(manifest), namespaced=False)
    assert offline.returncode == 0
    kubectl("apply", "-f", str(manifest))
    kubectl("wait", "--for=condition=Ready", "pver/summarizer-v1", "--timeout=60s")
    live = kubectl.get("promptversion", "summarizer-v1")["status"]["hash"]
    assert offline.stdout.split()[0] == live
    as_json = json.loads(
        prompt("hash", "-", "-o", "json", namespaced=False, input=manifest.read_text()).stdout
    )
    assert as_json == [{"hash": live, "name": "summarizer-v1", "file": "-"}]


def test_hash_reports_a_pin_mismatch_and_bad_files(prompt: Prompt, tmp_path: Path) -> None:
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(json.dumps(version("summarizer-v1", hash="sha256:" + "0" * 64)))
    result = prompt("hash", str(pinned), namespaced=False)
    assert result.returncode == 1 and "MISMATCH" in result.stdout
    assert prompt("hash", str(tmp_path / "missing.yaml"), namespaced=False).returncode == 2
    (tmp_path / "cm.yaml").write_text("kind: ConfigMap\n")
    empty = prompt("hash", str(tmp_path / "cm.yaml"), namespaced=False)
    assert empty.returncode == 2 and "no PromptVersion" in empty.stderr


def test_release_status_history_promote_rollback_end_to_end(
    prompt: Prompt, kubectl: Kubectl, two_versions: None
) -> None:
    result = prompt(
        "release", "summarizer", "-l", "staging", "--version", "summarizer-v2", "-m", "try v2"
    )
    assert result.returncode == 0, result.stderr
    assert "Revision 1: PromptVersion summarizer-v2" in result.stdout
    assert (
        prompt(
            "release", "summarizer", "-l", "production", "--version", "summarizer-v1", "-m", "first"
        ).returncode
        == 0
    )

    status = prompt("status")
    assert status.returncode == 0
    lines = status.stdout.splitlines()
    assert lines[0].split() == [
        "PROMPT",
        "LABEL",
        "VERSION",
        "HASH",
        "REVISION",
        "READY",
        "REASON",
        "CONSUMERS",
        "AGE",
    ]
    assert lines[1].split()[:6] == [
        "summarizer",
        "production",
        "summarizer-v1",
        kubectl.get("pver", "summarizer-v1")["status"]["shortHash"],
        "1",
        "True",
    ]

    promoted = prompt("promote", "summarizer", "--from", "staging", "--to", "production")
    assert promoted.returncode == 0, promoted.stderr
    production = kubectl.get("promptrelease", "summarizer-production")
    staging_hash = kubectl.get("promptrelease", "summarizer-staging")["status"]["hash"]
    assert production["spec"]["hash"] == staging_hash  # promote pins what staging runs
    assert production["status"]["version"] == "summarizer-v2"
    assert production["status"]["history"][0]["releasedBy"] == "kubectl-prompt"
    assert production["status"]["history"][0]["changelog"] == "try v2"

    rolled = prompt("rollback", "summarizer", "-l", "production")
    assert rolled.returncode == 0, rolled.stderr
    history = json.loads(prompt("history", "summarizer", "-l", "production", "-o", "json").stdout)[
        "production"
    ]
    assert [(e["revision"], e["version"], e.get("restores")) for e in history] == [
        (3, "summarizer-v1", 1),
        (2, "summarizer-v2", None),
        (1, "summarizer-v1", None),
    ]
    to_two = prompt("rollback", "summarizer", "-l", "production", "--to-revision", "2")
    assert to_two.returncode == 0 and "Revision 4" in to_two.stdout
    assert (
        kubectl.get("promptrelease", "summarizer-production")["status"]["history"][0]["restores"]
        == 2
    )
    table = prompt("history", "summarizer")
    assert "staging" in table.stdout and "Roll back to revision 2" in table.stdout
    missing = prompt("rollback", "summarizer", "-l", "production", "--to-revision", "99")
    assert missing.returncode == 3 and "revision 99 is not in the history" in missing.stderr


def test_release_failures_and_dry_run(prompt: Prompt, kubectl: Kubectl, two_versions: None) -> None:
    assert (
        prompt("release", "summarizer", "-l", "production", "--version", "summarizer-v1").returncode
        == 0
    )
    refused = prompt(
        "release",
        "summarizer",
        "-l",
        "production",
        "--version",
        "summarizer-v2",
        "--hash",
        "sha256:" + "0" * 64,
    )
    assert refused.returncode == 1
    assert "refused (HashMismatch)" in refused.stderr and "still serving revision 1" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr

    missing = prompt("release", "summarizer", "-l", "production", "--version", "nope")
    assert missing.returncode == 3 and "PromptVersion nope not found" in missing.stderr

    apply(kubectl, version("other-v1", prompt="other"))
    wrong = prompt("release", "summarizer", "-l", "production", "--version", "other-v1")
    assert wrong.returncode == 2 and "belongs to prompt 'other'" in wrong.stderr

    dry = prompt(
        "release",
        "summarizer",
        "-l",
        "canary",
        "--version",
        "summarizer-v2",
        "-m",
        "for Git",
        "--dry-run=client",
    )
    assert dry.returncode == 0 and "kind: PromptRelease" in dry.stdout
    assert "name: summarizer-canary" in dry.stdout
    assert not kubectl.exists("promptrelease", "summarizer-canary")

    no_wait = prompt(
        "release", "summarizer", "-l", "canary", "--version", "summarizer-v2", "--no-wait"
    )
    assert no_wait.returncode == 0 and "not waiting" in no_wait.stdout
    released(kubectl, "summarizer-canary", 1)


def test_diff_shows_template_and_parameter_changes(prompt: Prompt, two_versions: None) -> None:
    result = prompt("diff", "summarizer-v1", "summarizer-v2")
    assert result.returncode == 1
    assert "--- summarizer-v1\n+++ summarizer-v2" in result.stdout
    assert "-Summarize for summarizer-v1: {ticket}" in result.stdout
    assert "+Summarize for summarizer-v2: {ticket}" in result.stdout
    assert "~ model.parameters.temperature: 0.2 -> 0.3" in result.stdout
    assert "\033[" not in result.stdout  # not a terminal: no colour
    coloured = prompt("diff", "summarizer-v1", "summarizer-v2", "--color=always")
    assert "\033[31m-Summarize" in coloured.stdout
    same = prompt("diff", "summarizer-v1", "summarizer-v1")
    assert same.returncode == 0 and same.stdout == ""
    missing = prompt("diff", "summarizer-v1", "nope")
    assert missing.returncode == 3


def test_render_text_and_chat_from_the_live_config_map(
    prompt: Prompt, kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    chat = version(
        "assistant-v1",
        prompt="assistant",
        variables=["product", "question"],
        messages=[
            {"role": "system", "content": "Help with {product}."},
            {"role": "user", "content": "{question}"},
        ],
    )
    apply(
        kubectl,
        version("summarizer-v1"),
        chat,
        release("summarizer-v1"),
        release("assistant-v1", prompt="assistant"),
    )
    released(kubectl, "summarizer-production", 1)
    released(kubectl, "assistant-production", 1)

    text = prompt("render", "summarizer", "-l", "production", "--var", "ticket=Printer on fire")
    assert text.returncode == 0 and text.stdout == "Summarize for summarizer-v1: Printer on fire"
    assert "summarizer-v1 sha256:" in text.stderr  # which version was rendered
    variables = tmp_path / "vars.yaml"
    variables.write_text("product: Printers\nquestion: Why?\n")
    rendered: list[dict[str, Any]] = json.loads(
        prompt(
            "render",
            "assistant",
            "-l",
            "production",
            "--vars-file",
            str(variables),
            "-o",
            "json",
        ).stdout
    )
    assert rendered == [
        {"role": "system", "content": "Help with Printers."},
        {"role": "user", "content": "Why?"},
    ]
    missing = prompt("render", "summarizer", "-l", "production")
    assert missing.returncode == 2 and "missing variable(s): ticket" in missing.stderr
    bad = prompt("render", "summarizer", "-l", "production", "--var", "novalue")
    assert bad.returncode == 2 and "expected NAME=VALUE" in bad.stderr
    absent = prompt("render", "summarizer", "-l", "nope", "--var", "ticket=x")
    assert absent.returncode == 3 and "PromptRelease summarizer-nope not found" in absent.stderr


def test_new_version_takes_the_next_free_name(
    prompt: Prompt, kubectl: Kubectl, two_versions: None, tmp_path: Path
) -> None:
    template = tmp_path / "template.txt"
    template.write_text("Summarize {ticket} for {audience}.\n")
    dry = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v2",
        "-f",
        str(template),
        "--dry-run=client",
    )
    assert dry.returncode == 0 and "name: summarizer-v3" in dry.stdout
    assert "template: |" in dry.stdout and "- audience" in dry.stdout
    created = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v2",
        "-f",
        str(template),
        "-d",
        "adds an audience",
    )
    assert created.returncode == 0, created.stderr
    kubectl("wait", "--for=condition=Ready", "pver/summarizer-v3", "--timeout=60s")
    spec = kubectl.get("promptversion", "summarizer-v3")["spec"]
    assert spec["variables"] == ["ticket", "audience"]
    assert spec["model"]["parameters"] == {"temperature": 0.3}  # carried over from v2
    assert spec["description"] == "adds an audience"
    template.write_text("Broken {ticket\n")
    broken = prompt("new-version", "summarizer", "--from", "summarizer-v2", "-f", str(template))
    assert broken.returncode == 2 and "f-string syntax" in broken.stderr
    assert not kubectl.exists("promptversion", "summarizer-v4")


def test_new_version_in_mustache_is_portable(
    prompt: Prompt, kubectl: Kubectl, two_versions: None, operator: OperatorProcess, tmp_path: Path
) -> None:
    template = tmp_path / "template.txt"
    template.write_text("Summarize {{ticket}} for {{audience}}.\n{{#notes}}- {{text}}\n{{/notes}}")
    created = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v2",
        "-f",
        str(template),
        "--format",
        "mustache",
    )
    assert created.returncode == 0, created.stderr
    kubectl("wait", "--for=condition=Ready", "pver/summarizer-v3", "--timeout=60s")
    found = kubectl.get("promptversion", "summarizer-v3")
    assert found["spec"]["templateFormat"] == "mustache"
    assert found["spec"]["variables"] == ["ticket", "audience", "notes"]
    assert found["status"]["portable"] is True
    kubectl("wait", "--for=condition=Ready", "pver/summarizer-v2", "--timeout=60s")
    assert kubectl.get("promptversion", "summarizer-v2")["status"]["portable"] is False
    template.write_text("{{ticket}} {{> footer}}")
    refused = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v2",
        "-f",
        str(template),
        "--format",
        "mustache",
    )
    assert refused.returncode == 2 and "partial" in refused.stderr


def test_clear_errors_for_an_unreachable_cluster_and_bad_flags(
    prompt: Prompt, tmp_path: Path
) -> None:
    closed = tmp_path / "closed.kubeconfig"
    closed.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    result = prompt("status", kubeconfig=closed)
    assert result.returncode == 4
    assert "cannot reach the cluster" in result.stderr and "Traceback" not in result.stderr
    bad = prompt("status", "--no-such-flag")
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr
    missing_arg = prompt("release", "summarizer", "--version", "v1")
    assert missing_arg.returncode == 2 and "-l/--label" in missing_arg.stderr


def test_python_m_prompt_release_is_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "prompt_release", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "kubectl prompt" in result.stdout
