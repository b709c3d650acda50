"""`kubectl prompt dashboard` in a real browser (Debian's headless Chromium, driven by
Playwright) on the real control plane: the pages render, a `kubectl apply` shows up without a
reload, a diff shows the changed lines, and the two-person rule holds for people acting through
the dashboard (each dashboard process impersonates its user with `--as`).

Screenshots go to `.screenshots/` (gitignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.browser import ARGS, SCREENSHOTS, ensure_chromium
from tests.conftest import Cluster
from tests.integration.test_governance import governance  # noqa: F401 (a module fixture)
from tests.integration.test_rollout import deployment
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

ALICE = ("alice@example.com", "releasers", "approvers")  # asks for a release
BOB = ("bob@example.com", "approvers")  # reviews it
EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "ticket-summarizer.yaml"
PHONE: ViewportSize = {"width": 390, "height": 844}


class Dashboard:
    """`kubectl prompt dashboard` as its own process; `url` is where it listens."""

    def __init__(self, kubeconfig: Path, log: Path, *impersonate: str) -> None:
        flags = []
        if impersonate:
            user, *groups = impersonate
            flags = [f"--as={user}", *(f"--as-group={group}" for group in groups)]
        argv = [sys.executable, "-m", "prompt_release", "dashboard", "--kubeconfig"]
        self.log = log
        self.process = subprocess.Popen(
            [*argv, str(kubeconfig), *flags],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env=dict(os.environ),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Dashboard at http://"), line + log.read_text()
        self.url = line.split()[2].split("/ns/")[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def dashboards(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Dashboard]]:
    """Start a dashboard as the admin, or impersonating a user; all stopped after the module."""
    started: dict[tuple[str, ...], Dashboard] = {}
    logs = tmp_path_factory.mktemp("dashboards")

    def start(*impersonate: str) -> Dashboard:
        if impersonate not in started:
            log = logs / f"dashboard-{len(started)}.log"
            started[impersonate] = Dashboard(cluster.kubeconfig, log, *impersonate)
        return started[impersonate]

    yield start
    for dashboard in started.values():
        dashboard.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def text_of(page: Page, selector: str) -> str:
    """The text of the first element `selector` finds, once the page shows one."""
    return page.locator(selector).first.inner_text()


def text_now(page: Page, selector: str) -> str:
    found = page.query_selector(selector)
    return "" if found is None else found.inner_text()


def settle(page: Page, selector: str, wanted: str, what: str, timeout: float = 60) -> str:
    """Wait until the open page (no reload) shows `wanted` in `selector`."""
    return eventually(
        lambda: (lambda text: text if wanted in text else None)(text_now(page, selector)),
        timeout=timeout,
        what=what,
    )


def two_versions(kubectl: Kubectl) -> None:
    """summarizer production at v2 (revision 2, after v1), staging at v1."""
    apply(
        kubectl,
        version("summarizer-v1"),
        version(
            "summarizer-v2",
            template="Summarize in three bullets for {audience}: {ticket}",
            variables=["ticket", "audience"],
            model={"name": "gpt-4o-mini", "parameters": {"temperature": 0.2}},
        ),
    )
    apply(kubectl, release("summarizer-v1", changelog="first"))
    released(kubectl, "summarizer-production", 1)
    apply(kubectl, release("summarizer-v2", changelog="three bullets"))
    apply(kubectl, release("summarizer-v1", label="staging"))
    released(kubectl, "summarizer-production", 2)
    released(kubectl, "summarizer-staging", 1)


def test_pages_render_update_live_and_diff(
    kubectl: Kubectl,
    namespace: str,
    operator: OperatorProcess,
    dashboards: Callable[..., Dashboard],
    page: Page,
) -> None:
    two_versions(kubectl)
    admin = dashboards()
    page.goto(admin.url + "/")
    page.get_by_role("link", name=namespace, exact=True).click()
    production = "tr[data-release=summarizer-production]"
    row = text_of(page, production)
    assert "summarizer-v2" in row and "Yes" in row
    shot(page, "namespace")

    # A `kubectl apply` shows up on the open page, without a reload.
    apply(kubectl, version("summarizer-v3"), release("summarizer-v3", label="staging"))
    settle(page, "tr[data-release=summarizer-staging]", "summarizer-v3", "staging at v3")

    # The release page: what is live, and the history as a timeline.
    page.get_by_role("link", name="production", exact=True).click()
    assert text_of(page, "#live-version") == "summarizer-v2"
    timeline = text_of(page, ".timeline")
    assert "Revision 2" in timeline and "three bullets" in timeline and "Revision 1" in timeline
    shot(page, "release")

    # The diff of the last two versions: the changed lines, side by side, and the settings.
    page.locator("li[data-revision='1']").get_by_role("link", name="Diff with live").click()
    changed = page.locator("tr.diff-changed").all_inner_texts()
    assert any("Summarize for summarizer-v1" in t and "three bullets" in t for t in changed)
    settings = text_of(page, ".settings")
    assert "+ model.parameters.temperature: 0.2 (added)" in settings
    assert '~ variables: ["ticket"] -> ["ticket", "audience"]' in settings
    shot(page, "diff")

    # The version page renders the prompt with sample variables.
    page.goto(f"{admin.url}/ns/{namespace}/versions/summarizer-v2")
    page.get_by_label("ticket").fill("Printer on fire")
    page.get_by_label("audience").fill("support leads")
    page.get_by_role("button", name="Render").click()
    preview = text_of(page, "#preview")
    assert preview == "Summarize in three bullets for support leads: Printer on fire"

    # Usable at phone width: nothing wider than the screen but what scrolls in its own box.
    page.set_viewport_size(PHONE)
    page.goto(f"{admin.url}/ns/{namespace}/releases/summarizer-production")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shot(page, "release-phone")


def test_rollback_with_the_diff_that_goes_live(
    kubectl: Kubectl,
    namespace: str,
    operator: OperatorProcess,
    dashboards: Callable[..., Dashboard],
    page: Page,
) -> None:
    two_versions(kubectl)
    admin = dashboards()
    page.goto(f"{admin.url}/ns/{namespace}/releases/summarizer-production")
    page.get_by_role("link", name="Roll back to revision 1").click()
    assert "summarizer-v2 → summarizer-v1" in text_of(page, "#change-h")
    page.get_by_label("Changelog (optional)").fill("back to one line")
    page.get_by_role("button", name="Confirm: Roll back").click()
    assert "now points at summarizer-v1" in text_of(page, ".notice")
    entry = released(kubectl, "summarizer-production", 3)["status"]["history"][0]
    settle(page, "#live-version", "summarizer-v1", "the rollback live on the page")
    assert (entry["restores"], entry["changelog"]) == (1, "back to one line")
    assert "restores revision 1" in text_of(page, "li[data-revision='3']")

    # Another site can't make the dashboard act: a cross-site POST is refused, nothing written.
    form = urllib.parse.urlencode({"action": "rollback", "revision": "2"}).encode()
    forged = urllib.request.Request(
        f"{admin.url}/ns/{namespace}/releases/summarizer-production/confirm",
        data=form,
        headers={"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 403
    assert kubectl.get("promptrelease", "summarizer-production")["spec"]["version"] == (
        "summarizer-v1"
    )


def test_a_canary_started_reweighted_and_aborted_beside_its_workload(
    kubectl: Kubectl,
    namespace: str,
    operator: OperatorProcess,
    dashboards: Callable[..., Dashboard],
    page: Page,
) -> None:
    two_versions(kubectl)
    kubectl.apply(json.dumps(deployment("summarizer", replicas=1)))
    admin = dashboards()
    page.goto(f"{admin.url}/ns/{namespace}/releases/summarizer-production")
    settle(page, "#rollout-h + p + div", "Deployment/summarizer", "the workload and its rollout")

    # A promotion's confirmation lists the target's consumers, as `kubectl prompt promote` does.
    page.get_by_role("button", name="Review promotion").click()
    assert "Deployment summarizer: Unchecked" in text_of(page, ".checks")
    page.get_by_role("link", name="Cancel").click()

    canary = page.locator("form", has_text="Canary")
    canary.get_by_label("Candidate").select_option("summarizer-v1")
    canary.get_by_label("Weight (%)").fill("20")
    canary.get_by_role("button", name="Review canary").click()
    assert "summarizer-v1 will serve 20 % of requests" in text_of(page, ".summary")
    assert "summarizer-v2 → summarizer-v1" in text_of(page, "#change-h")
    page.get_by_role("button", name="Confirm: Start a canary").click()
    settle(page, "#canary-h + dl", "Weight\n20 %", "the canary at 20 %")
    assert "summarizer-v1" in text_of(page, "#canary-h + dl")
    shot(page, "canary")

    canary = page.locator("form", has_text="Canary")
    canary.get_by_label("Weight (%)").fill("50")
    canary.get_by_role("button", name="Review new weight").click()
    page.get_by_role("button", name="Confirm: Set the canary's weight").click()
    settle(page, "#canary-h + dl", "Weight\n50 %", "the canary at 50 %")

    page.get_by_role("link", name="Abort").click()
    page.get_by_role("button", name="Confirm: Abort the canary").click()
    settle(page, "#canary-h + p", "No canary running", "the canary aborted")
    assert text_of(page, "#live-version") == "summarizer-v2"


def _policies(kubectl: Kubectl, chart: str) -> None:
    """Two-person rule on production; the people's roles bound to their groups."""
    for role, group in (
        ("prompt-releaser", "releasers"),
        ("prompt-approver", "approvers"),
    ):
        kubectl("create", "rolebinding", role, f"--clusterrole={chart}-{role}", f"--group={group}")
    policy: dict[str, Any] = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptPolicy",
        "metadata": {"name": "two-person"},
        "spec": {
            "labels": ["production"],
            "requireApproval": True,
            "approvers": {"groups": ["approvers"]},
        },
    }
    kubectl.apply(json.dumps(policy))


def test_the_example_promoted_by_one_user_approved_by_another_and_a_self_approval_refused(
    governance: str,  # noqa: F811 (the imported module fixture)
    kubectl: Kubectl,
    namespace: str,
    operator: OperatorProcess,
    dashboards: Callable[..., Dashboard],
    page: Page,
) -> None:
    """The example prompt as `make dev` applies it (production at v1, staging at v2) under a
    two-person rule: alice promotes staging through her dashboard, bob approves through his."""
    kubectl.apply(EXAMPLE.read_text())
    released(kubectl, "ticket-summarizer-production", 1)
    released(kubectl, "ticket-summarizer-staging", 1)
    _policies(kubectl, governance)
    production = f"/ns/{namespace}/releases/ticket-summarizer-production"

    # alice finds what is live, and promotes what staging runs: held for approval.
    alice = dashboards(*ALICE)
    page.goto(f"{alice.url}/ns/{namespace}")
    assert "ticket-summarizer-v1" in text_of(page, "tr[data-release=ticket-summarizer-production]")
    page.get_by_role("link", name="production", exact=True).click()
    assert text_of(page, "#live-version") == "ticket-summarizer-v1"
    page.get_by_role("button", name="Review promotion").click()
    assert "ticket-summarizer-v1 → ticket-summarizer-v2" in text_of(page, "#change-h")
    assert "then give its priority" in text_of(page, "tr.diff-changed")
    page.get_by_role("button", name="Confirm: Promote").click()
    settle(page, ".waiting", "requested by alice@example.com", "the promotion held for approval")
    assert text_of(page, "#live-version") == "ticket-summarizer-v1"

    # Her own approval, through her dashboard, is refused by the API server.
    page.get_by_role("link", name="Approve ticket-summarizer-v2").click()
    page.get_by_role("button", name="Confirm: Approve").click()
    refusal = text_of(page, "#refusal")
    assert "two-person rule" in refusal, refusal
    shot(page, "approval-refused")

    # bob approves it through his: it goes live, and his open page shows it.
    bob = dashboards(*BOB)
    page.goto(bob.url + production)
    assert "requested by alice@example.com" in text_of(page, ".waiting")
    page.get_by_role("link", name="Approve ticket-summarizer-v2").click()
    assert "ticket-summarizer-v1 → ticket-summarizer-v2" in text_of(page, "#change-h")
    page.get_by_label("Comment (optional)").fill("read the eval run")
    page.get_by_role("button", name="Confirm: Approve").click()
    assert "bob@example.com approved ticket-summarizer-v2" in text_of(page, ".notice")
    settle(page, "#live-version", "ticket-summarizer-v2", "the approved version live on the page")
    entry = settle(page, "li[data-revision='2']", "approved by bob@example.com", "the approval")
    assert "by alice@example.com" in entry
    assert "read the eval run" in text_of(page, "#approvals-h + div")
    shot(page, "approved")

    # The diff between its last two versions, from the history.
    page.locator("li[data-revision='1']").get_by_role("link", name="Diff with live").click()
    assert "then give its priority" in text_of(page, "tr.diff-changed, tr.diff-added")
    assert "~ model.parameters.max_tokens: 400 -> 300" in text_of(page, ".settings")
    shot(page, "example-diff")
