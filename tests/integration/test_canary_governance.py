"""Canaries under the two-person rule on the real API server: the governance admission policies
(`helm template --set governance.enabled=true`) stamp who set spec.canary.version, and the
operator serves the candidate (canary.json) only once someone else approved that exact version
and hash. People are ServiceAccounts (`kubectl prompt` as them) and impersonated users
(`kubectl --as`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from prompt_release.core import canary
from tests.integration.test_canary import canary_state, data, no_canary_json, served_weight
from tests.integration.test_governance import (  # noqa: F401 (fixtures)
    Person,
    as_user,
    content_hash,
    governance,
    people,
    policy,
)
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import API, apply, condition, release, released, version

pytestmark = pytest.mark.integration

NAME = "summarizer-production"
CANARY_BY = "promptrelease.io/canary-requested-by"
CANARY_VERSION = "promptrelease.io/canary-requested-version"


def stamps(kubectl: Kubectl) -> dict[str, str]:
    return dict(kubectl.get("promptrelease", NAME)["metadata"].get("annotations") or {})


def config_map_version(kubectl: Kubectl) -> str:
    return str(kubectl.get("configmap", NAME)["metadata"]["resourceVersion"])


def decision(ver: str, content: str, verdict: str = "Approve", name: str = "") -> str:
    return json.dumps(
        {
            "apiVersion": API,
            "kind": "PromptApproval",
            "metadata": {"name": name} if name else {"generateName": f"{NAME}-"},
            "spec": {
                "prompt": "summarizer",
                "label": "production",
                "version": ver,
                "hash": content,
                "decision": verdict,
            },
        }
    )


def test_a_canary_on_a_protected_label_is_served_only_once_someone_else_approved_it(
    kubectl: Kubectl,
    people: dict[str, Person],  # noqa: F811 (the fixture of test_governance)
    operator: OperatorProcess,
) -> None:
    alice, bob, carol = (people[n] for n in ("alice", "bob", "carol"))
    apply(kubectl, *(version(f"summarizer-v{n}") for n in (1, 2, 3)))
    hashes = {n: content_hash(kubectl, f"summarizer-v{n}") for n in (1, 2, 3)}
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, NAME, 1)
    kubectl.apply(
        json.dumps(
            policy(
                "two-person",
                labels=["production"],
                requireApproval=True,
                approvers={
                    "groups": ["approvers"],
                    "serviceAccounts": [{"name": n} for n in ("alice", "bob", "carol")],
                },
            )
        )
    )
    eventually(  # the operator has seen the policy (v1 went live before it: reported)
        lambda: (
            condition(kubectl.get("promptrelease", NAME), "Compliant").get("reason")
            == "PolicyViolation"
        ),
        timeout=60,
        what="the operator sees the policy",
    )
    stable, stable_version = data(kubectl), config_map_version(kubectl)
    where = ("summarizer", "-l", "production")

    # alice asks for a canary of v2 at 50 %: it waits, nothing of it is served.
    asked = alice.prompt("canary", "start", *where, "--version", "summarizer-v2", "--weight", "50")
    assert asked.returncode == 1 and "AwaitingApproval" in asked.stderr, asked.stderr
    held = canary_state(kubectl, phase="AwaitingApproval", version="summarizer-v2")
    state = held["status"]["canary"]
    assert state["hash"] == hashes[2] and state["reason"] == "AwaitingApproval"
    assert state["approval"]["requestedBy"] == alice.username
    assert state["approval"]["state"] == "Pending"
    ready = condition(held)
    assert (ready["status"], ready["reason"]) == ("False", "AwaitingApproval")
    assert "canary: PromptVersion summarizer-v2" in ready["message"]
    assert (
        "kubectl prompt approve summarizer -l production --version summarizer-v2"
        in (ready["message"])
    )
    assert condition(held, "Reconciling")["status"] == "True"
    stamped = stamps(kubectl)
    assert (stamped[CANARY_BY], stamped[CANARY_VERSION]) == (alice.username, "summarizer-v2")

    # Nobody can forge the canary's requester: a write that doesn't move spec.canary.version
    # keeps the stamp; nor remove it.
    for forged in ({CANARY_BY: carol.username}, {CANARY_BY: None, CANARY_VERSION: None}):
        patch = {"metadata": {"annotations": forged}}
        carol.kubectl("patch", "promptrelease", NAME, "--type=merge", "-p", json.dumps(patch))
        assert stamps(kubectl)[CANARY_BY] == alice.username

    # The requester can't approve her own candidate: refused at admission.
    own = alice.prompt("approve", *where)
    assert own.returncode != 0 and "as the canary" in own.stderr and "two-person" in own.stderr
    # An approval by someone else, of other content, doesn't count.
    sam = as_user(kubectl, "sam@example.com", "approvers")
    other = sam("create", "-f", "-", input=decision("summarizer-v2", hashes[1], name="other"))
    assert other.returncode == 0, other.stderr
    time.sleep(5)  # the operator has seen it (its watch is sub-second); nothing moved
    waiting = kubectl.get("promptrelease", NAME)
    assert waiting["status"]["canary"]["phase"] == "AwaitingApproval"
    assert config_map_version(kubectl) == stable_version and data(kubectl) == stable

    # bob approves the waiting candidate (kubectl prompt approve picks it): canary.json goes
    # live, prompt.json and template.txt stay as they were.
    approved = bob.prompt("approve", *where, "-m", "eval run ok")
    assert approved.returncode == 0, approved.stderr
    assert f"{bob.username} approved summarizer-v2" in approved.stdout
    live = served_weight(kubectl, 50)
    assert {k: v for k, v in live.items() if k != canary.CANARY_KEY} == stable
    assert json.loads(live[canary.CANARY_KEY])["hash"] == hashes[2]
    running = canary_state(kubectl, version="summarizer-v2", approvedBy=[bob.username])
    assert running["status"]["canary"]["phase"] in ("Progressing", "Completed")
    assert "approval" not in running["status"]["canary"]

    # An impersonated releaser moves the canary to v3: stamped as its requester, v3 waits,
    # the v2 canary stops (its approval was for v2), stable stays.
    rita = as_user(kubectl, "rita@example.com", "releasers", "approvers")
    moved = rita(
        "patch",
        "promptrelease",
        NAME,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"canary": {"version": "summarizer-v3"}}}),
    )
    assert moved.returncode == 0, moved.stderr
    assert stamps(kubectl)[CANARY_BY] == "rita@example.com"
    canary_state(kubectl, phase="AwaitingApproval", version="summarizer-v3")
    assert no_canary_json(kubectl) == stable
    mine = rita("create", "-f", "-", input=decision("summarizer-v3", hashes[3]))
    assert mine.returncode != 0 and "two-person rule" in mine.stderr
    assert "rita@example.com requested summarizer-v3 as the canary" in mine.stderr
    # alice requested v2, not v3: her approval of v3 counts.
    ok = alice.prompt("approve", *where, "--version", "summarizer-v3")
    assert ok.returncode == 0, ok.stderr
    served = served_weight(kubectl, 50)
    assert json.loads(served[canary.CANARY_KEY])["version"] == "summarizer-v3"
    canary_state(kubectl, version="summarizer-v3", approvedBy=[alice.username])

    # carol rejects v3: the canary stops, stable stays, the release says why.
    rejected = carol.prompt("reject", *where, "--version", "summarizer-v3", "-m", "too terse")
    assert rejected.returncode == 0, rejected.stderr
    stopped = canary_state(kubectl, phase="Rejected", version="summarizer-v3")
    assert no_canary_json(kubectl) == stable
    last: dict[str, Any] = stopped["status"]["lastCanary"]
    assert (last["outcome"], last["version"]) == ("ApprovalRejected", "summarizer-v3")
    assert condition(stopped, "Stalled")["status"] == "True"
    assert "too terse" in condition(stopped)["message"]
    assert stopped["status"]["revision"] == 1  # nothing was promoted by any of this

    # Back to v2, by rita: bob's approval of v2 is kept and rita isn't bob, so it runs at once.
    back = rita(
        "patch",
        "promptrelease",
        NAME,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"canary": {"version": "summarizer-v2"}}}),
    )
    assert back.returncode == 0, back.stderr
    canary_state(kubectl, version="summarizer-v2", approvedBy=[bob.username])
    assert json.loads(served_weight(kubectl, 50)[canary.CANARY_KEY])["version"] == "summarizer-v2"
    # Promotion is a change of spec.version, gated as one: carol promotes, bob approved that
    # exact content, so revision 2 goes live naming both.
    promoted = carol.prompt("canary", "promote", *where, "-m", "v2 wins the eval")
    assert promoted.returncode == 0, promoted.stderr
    entry = released(kubectl, NAME, 2)["status"]["history"][0]
    assert (entry["version"], entry["hash"]) == ("summarizer-v2", hashes[2])
    assert entry["releasedBy"] == carol.username and entry["approvedBy"] == [bob.username]
    assert entry["canary"]["weight"] == 50
    assert "Forbidden" not in operator.output()
