"""A history that outlives deletion and shows tampering, deletion that never causes an outage,
and who released it by default — on the real API server, as impersonated users.

The chart's default admission policies (identity stamping, deletion protection; no
`governance.enabled`) are installed once for the module from `helm template`, as a user gets
them, and removed afterwards. The first test runs before they are, to show what the history
says without them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chart import admission_policies, template
from tests.integration.conftest import Prompt
from tests.integration.test_governance import _unstamped, as_json, as_user
from tests.integration.test_rollout import deployment
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, ready, release, released, version

pytestmark = pytest.mark.integration

RELEASE = "summarizer-production"
REQUESTED_BY = "promptrelease.io/requested-by"


def _stamping(admin: Kubectl) -> bool:
    """True once the API server stamps a new release (a server-side dry run)."""
    probe = release("v1", label="probe")
    probe["metadata"]["namespace"] = "default"
    made = admin.run(
        "create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(probe), check=False
    )
    return made.returncode == 0 and REQUESTED_BY in made.stdout


@pytest.fixture(scope="module")
def defaults(admin_kubectl: Kubectl, crds: None) -> Iterator[list[dict[str, Any]]]:
    """The admission policies the chart installs by default, applied; removed afterwards."""
    policies = admission_policies(template())
    assert sorted(p["metadata"]["name"] for p in policies if p["kind"].endswith("Policy")) == [
        "prompt-release-operator-approver",
        "prompt-release-operator-evaluation-recorder",
        "prompt-release-operator-release-in-use",
        "prompt-release-operator-release-requester",
    ]
    admin_kubectl.apply(as_json(*policies))
    eventually(lambda: _stamping(admin_kubectl), timeout=90, interval=0.5, what="stamping")
    yield policies
    admin_kubectl.run("delete", "-f", "-", input=as_json(*policies), check=False)
    eventually(lambda: _unstamped(admin_kubectl), timeout=90, interval=1, what="policies gone")


def records(kubectl: Kubectl) -> list[dict[str, Any]]:
    listed = json.loads(kubectl("get", "controllerrevisions", "-o", "json"))
    return sorted(
        listed["items"], key=lambda r: (r["metadata"]["creationTimestamp"], r["revision"])
    )


def recorded(kubectl: Kubectl, count: int) -> list[dict[str, Any]]:
    return eventually(
        lambda: ((found := records(kubectl)) and len(found) >= count and found) or None,
        timeout=30,
        what=f"{count} history records",
    )


def grant_releases(kubectl: Kubectl, *users: str) -> None:
    """What a namespace admin is granted on releases (the built-in roles know no CRDs)."""
    kubectl(
        "create",
        "role",
        "releases",
        "--verb=get,list,watch,create,update,patch,delete",
        "--resource=promptreleases.promptrelease.io,promptversions.promptrelease.io",
    )
    kubectl("create", "rolebinding", "releases", "--role=releases", *(f"--user={u}" for u in users))


def rows(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[1:]


def test_without_the_stamp_the_history_says_who_is_not_attested(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    if _stamping(kubectl):
        pytest.skip("an identity stamp is installed on this cluster")
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, RELEASE, 1)
    entry = kubectl.get("promptrelease", RELEASE)["status"]["history"][0]
    assert entry["attested"] is False and entry["releasedBy"] == "kubectl-client-side-apply"
    (row,) = rows(prompt("history", "summarizer", "-l", "production"))
    assert "kubectl-client-side-apply (not attested)" in row


def test_identity_is_stamped_by_default_and_the_history_outlives_deletion(
    defaults: Any, kubectl: Kubectl, namespace: str, operator: OperatorProcess, prompt: Prompt
) -> None:
    """eve (a releaser by the namespace's RoleBinding) releases twice; the history names her,
    attested, and keeps each revision as a ControllerRevision the release doesn't own. The
    namespace admin deletes the release (no workload uses it) and re-creates it: the earlier
    history is still there, and verifies."""
    kubectl("create", "rolebinding", "releasers", "--clusterrole=edit", "--user=eve@example.com")
    kubectl("create", "rolebinding", "admins", "--clusterrole=admin", "--user=nadia@example.com")
    grant_releases(kubectl, "eve@example.com", "nadia@example.com")
    eve = as_user(kubectl, "eve@example.com")
    nadia = as_user(kubectl, "nadia@example.com")
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), version("summarizer-v3"))
    for ver in ("summarizer-v1", "summarizer-v2"):
        done = eve("apply", "-f", "-", input=json.dumps(release(ver)))
        assert done.returncode == 0, done.stderr
    released(kubectl, RELEASE, 2)
    history = kubectl.get("promptrelease", RELEASE)["status"]["history"]
    assert [(e["releasedBy"], e["attested"]) for e in history] == [("eve@example.com", True)] * 2
    assert history[0]["previousDigest"] == history[1]["digest"]
    kept = recorded(kubectl, 2)
    assert [r["revision"] for r in kept] == [1, 2]
    assert all(not r["metadata"].get("ownerReferences") for r in kept)
    assert kept[1]["data"]["entry"] == history[0]
    verified = prompt("verify", "summarizer", "-l", "production")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    by_name = prompt("verify", RELEASE, "-o", "json")  # the release's name, as the design has it
    assert by_name.returncode == 0, by_name.stdout + by_name.stderr
    assert json.loads(by_name.stdout) == json.loads(
        prompt("verify", "summarizer", "-l", "production", "-o", "json").stdout
    )
    # The records can't be rewritten nor removed by the namespace's own admin
    name = kept[0]["metadata"]["name"]
    forged = nadia("patch", "controllerrevision", name, "--type=merge", "-p", '{"data": {}}')
    assert forged.returncode != 0 and "forbidden" in forged.stderr.lower(), forged.stderr
    removed = nadia("delete", "controllerrevision", name)
    assert removed.returncode != 0 and "forbidden" in removed.stderr.lower(), removed.stderr

    gone = nadia("delete", "promptrelease", RELEASE)  # no workload mounts it: allowed
    assert gone.returncode == 0, gone.stderr
    eventually(lambda: not kubectl.exists("promptrelease", RELEASE), timeout=30, what="deleted")
    assert len(records(kubectl)) == 2  # outlived it
    earlier = rows(prompt("history", "summarizer", "-l", "production"))
    assert [r.split()[3] for r in earlier] == ["2", "1"], earlier  # LABEL: 3 words
    assert all("(deleted" in r for r in earlier)

    done = eve("apply", "-f", "-", input=json.dumps(release("summarizer-v3")))
    assert done.returncode == 0, done.stderr
    released(kubectl, RELEASE, 1)  # a new release: its own revisions
    recorded(kubectl, 3)
    shown = rows(prompt("history", "summarizer", "-l", "production"))
    assert len(shown) == 3 and "summarizer-v3" in shown[0] and "(deleted" in shown[1], shown
    verified = prompt("verify", "summarizer", "-l", "production")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "(deleted)" in verified.stdout


def test_a_rewritten_or_missing_history_entry_fails_verify(
    defaults: Any, kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    """mallory may write release status (the one right the history's integrity rests on):
    she rewrites who released revision 1; `kubectl prompt verify` names it and exits 1. So does
    a status that drops an entry between others."""
    apply(kubectl, *(version(f"summarizer-v{n}") for n in (1, 2, 3)))
    for n in (1, 2, 3):
        apply(kubectl, release(f"summarizer-v{n}"))
        released(kubectl, RELEASE, n)
    recorded(kubectl, 3)
    assert prompt("verify", "summarizer").returncode == 0
    kubectl(
        "create",
        "role",
        "status-writer",
        "--verb=get,patch",
        "--resource=promptreleases.promptrelease.io/status",
    )
    kubectl("create", "rolebinding", "mallory", "--role=status-writer", "--user=mallory")
    mallory = as_user(kubectl, "mallory")
    history = kubectl.get("promptrelease", RELEASE)["status"]["history"]

    def rewrite(entries: list[dict[str, Any]]) -> None:
        body = json.dumps({"status": {"history": entries}})
        done = mallory(
            "patch", "promptrelease", RELEASE, "--subresource=status", "--type=merge", "-p", body
        )
        assert done.returncode == 0, done.stderr

    rewrite([history[0], history[1], {**history[2], "releasedBy": "someone-trusted"}])
    failed = prompt("verify", "summarizer", "-l", "production")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "revision 1" in failed.stderr and "rewritten" in failed.stdout, failed.stderr
    rewrite([history[0], history[2]])  # revision 2 dropped
    failed = prompt("verify", "summarizer", "-l", "production")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "revision 2: removed from the status history" in failed.stderr, failed.stderr
    rewrite(history)  # put back as it was: verifies again
    assert prompt("verify", "summarizer", "-l", "production").returncode == 0


def test_deleting_a_release_workloads_mount_is_refused_unless_it_orphans_the_config_map(
    defaults: Any, kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    """nadia, the namespace's admin, may delete releases; one a Deployment mounts is refused
    (naming the Deployment and the way out), and `--cascade=orphan` keeps its ConfigMap
    serving; the release re-created adopts it."""
    kubectl("create", "rolebinding", "admins", "--clusterrole=admin", "--user=nadia@example.com")
    grant_releases(kubectl, "nadia@example.com")
    nadia = as_user(kubectl, "nadia@example.com")
    apply(
        kubectl, version("summarizer-v1"), release("summarizer-v1"), deployment("app", replicas=1)
    )
    eventually(
        lambda: (kubectl.get("promptrelease", RELEASE)["status"].get("rollout") or {}).get(
            "workloads"
        ),
        timeout=60,
        what="the release knows its workload",
    )
    before = kubectl.get("configmap", RELEASE)
    refused = nadia("delete", "promptrelease", RELEASE)
    assert refused.returncode != 0, refused.stdout
    assert "is in use: Deployment/app mounts its ConfigMap" in refused.stderr, refused.stderr
    assert "--cascade=orphan" in refused.stderr
    assert (
        kubectl.get("configmap", RELEASE)["metadata"]["resourceVersion"]
        == before["metadata"]["resourceVersion"]
    )
    orphaned = nadia("delete", "promptrelease", RELEASE, "--cascade=orphan")
    assert orphaned.returncode == 0, orphaned.stderr
    eventually(lambda: not kubectl.exists("promptrelease", RELEASE), timeout=30, what="deleted")
    kept = eventually(
        lambda: (
            (
                (cm := kubectl.get("configmap", RELEASE))
                and not cm["metadata"].get("ownerReferences")
                and cm
            )
            or None
        ),
        timeout=60,
        what="the ConfigMap orphaned",
    )
    assert kept["data"] == before["data"]  # still serving revision 1
    apply(kubectl, release("summarizer-v1"))
    live = ready(kubectl, "promptrelease", RELEASE)
    assert live["status"]["revision"] == 1
    adopted = kubectl.get("configmap", RELEASE)
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == live["metadata"]["uid"]
    events = kubectl("get", "events", "--field-selector", "reason=ConfigMapAdopted", "-o", "name")
    assert events.strip()


def test_an_evaluation_is_stamped_with_who_recorded_it_and_cannot_be_edited(
    defaults: Any, kubectl: Kubectl, namespace: str
) -> None:
    """A result can't claim an author it doesn't have: the API server writes recordedBy from
    the creator's identity over whatever the client sent, and refuses any edit."""
    from prompt_release.core.evaluation import dataset_hash

    kubectl(
        "create",
        "role",
        "evaluations",
        "--verb=get,list,create,update,patch",
        "--resource=promptevaluations.promptrelease.io",
    )
    kubectl(
        "create", "rolebinding", "evaluations", "--role=evaluations", "--user=judge@example.com"
    )
    evaluation = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptEvaluation",
        "metadata": {"name": "v1-run"},
        "spec": {
            "version": "summarizer-v1",
            "hash": "sha256:" + "0" * 64,
            "dataset": {"name": "tickets", "cases": [{"t": 1}], "hash": dataset_hash([{"t": 1}])},
            "evaluator": {"name": "judge", "version": "1.0"},
            "score": 0.9,
            "passed": True,
            "recordedBy": "the-boss@example.com",
        },
    }
    judge = as_user(kubectl, "judge@example.com", "evaluators")
    made = judge("create", "-f", "-", input=json.dumps(evaluation))
    assert made.returncode == 0, made.stderr
    spec = kubectl.get("promptevaluation", "v1-run")["spec"]
    assert spec["recordedBy"] == "judge@example.com"
    assert "evaluators" in spec["recordedByGroups"]
    assert spec["dataset"]["cases"] == [{"t": 1}]
    edited = judge(
        "patch", "promptevaluation", "v1-run", "--type=merge", "-p", '{"spec":{"score":1}}'
    )
    assert edited.returncode != 0 and "immutable" in edited.stderr
