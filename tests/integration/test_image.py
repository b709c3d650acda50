"""The operator image, built (tests/image.py) and run under runc with host networking against
the local control plane: the chart's ServiceAccount, security context, probes and ports, read
from the rendered chart. Also: the requirements lock matches pyproject's runtime dependencies,
and the release workflow passes actionlint."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.chart import objects, template
from tests.controlplane import binaries
from tests.controlplane.binaries import ensure_binaries
from tests.image import PODMAN, REPO, Image, ensure_image
from tests.kube import Kubectl, eventually
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

WORKFLOWS = REPO / ".github" / "workflows"
DEFAULT_GRACE_SECONDS = 30  # a Pod's terminationGracePeriodSeconds when the chart sets none


# -- the locks --------------------------------------------------------------------------------


def _locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", path.read_text(), re.M)
    return {canonicalize_name(name): pin for name, pin in pins}


def _closure(requirements: list[str]) -> set[str]:
    """The names of these requirements and of everything they need, as installed here."""
    environment: dict[str, str] = {**cast(dict[str, str], default_environment()), "extra": ""}
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.requires(name) or []]
    return seen


def test_the_lock_pins_exactly_the_runtime_dependencies_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    lock = REPO / "requirements.lock"
    pins = _locked(lock)
    regenerate = "regenerate it: make lock"
    for requirement in map(Requirement, project["project"]["dependencies"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {lock.name}; {regenerate}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock.name} pins {name}=={pins[name]}, outside pyproject's {requirement}; "
            + regenerate
        )
    assert set(pins) == _closure(project["project"]["dependencies"]), regenerate
    for path in (lock, REPO / "requirements-build.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
        unhashed = [e.split()[0] for e in entries if "==" in e and "--hash=sha256:" not in e]
        assert unhashed == [], f"{path.name}: pins without hashes"
    build = _locked(REPO / "requirements-build.lock")
    for requirement in map(Requirement, project["build-system"]["requires"]):
        name = canonicalize_name(requirement.name)
        assert name in build and requirement.specifier.contains(build[name]), regenerate


# -- the release workflow ---------------------------------------------------------------------


def test_the_release_workflow_passes_actionlint() -> None:
    actionlint = ensure_binaries(["actionlint"])["actionlint"]
    workflows = sorted(WORKFLOWS.glob("*.y*ml"))
    assert WORKFLOWS / "release.yaml" in workflows
    result = subprocess.run(
        [str(actionlint), "-no-color", *map(str, workflows)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the image, run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image() -> Image:
    """Built once per input (a warm run finds it); fails with the reason when it can't be."""
    return ensure_image()


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _render(namespace: str, name: str) -> list[dict[str, Any]]:
    """The chart with its defaults; only when this host already uses the default ports (the
    container shares the host's network) are they moved, through the chart's own values."""
    off = ("identity.enabled=false", "deletionProtection.enabled=false")
    rendered = objects(template(*off, f"fullnameOverride={name}", name=name, namespace=namespace))
    ports = [
        p["containerPort"]
        for o in rendered
        if o["kind"] == "Deployment"
        for p in o["spec"]["template"]["spec"]["containers"][0]["ports"]
    ]
    if all(map(_free, ports)):
        return rendered
    moved = (f"health.port={_free_port()}", f"metrics.port={_free_port()}")
    return objects(
        template(*off, *moved, f"fullnameOverride={name}", name=name, namespace=namespace)
    )


def _token_kubeconfig(admin: Kubectl, namespace: str, account: str, path: Path) -> Path:
    """The ServiceAccount's token and the cluster's CA, inline: nothing else to mount."""
    token = admin.in_namespace(namespace)("create", "token", account).strip()
    config = json.loads(admin("config", "view", "--raw", "--minify", "--flatten", "-o", "json"))
    cluster = config["clusters"][0]["cluster"]
    if "certificate-authority" in cluster:  # --flatten inlines it; kept for older kubectls
        ca = Path(cluster.pop("certificate-authority")).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "cluster", "cluster": cluster}],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "cluster", "user": account}}],
                "current-context": "sa",
            }
        )
    )
    path.chmod(0o644)  # readable by the container's non-root user
    return path


def _security_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """The pod's and container's securityContext as podman flags (what a kubelet would do)."""
    pod_sc, sc = pod.get("securityContext", {}), container.get("securityContext", {})
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    group = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    assert pod_sc.get("runAsNonRoot") or sc.get("runAsNonRoot"), "the chart allows root"
    assert user not in (None, 0), "runAsNonRoot needs a numeric non-root user"
    flags = ["--user", f"{user}:{group}" if group is not None else str(user)]
    if "fsGroup" in pod_sc:
        flags += ["--group-add", str(pod_sc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        flags += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    for cap in sc.get("capabilities", {}).get("drop", []):
        flags += ["--cap-drop", cap]
    for cap in sc.get("capabilities", {}).get("add", []):
        flags += ["--cap-add", cap]
    assert not sc.get("privileged"), "the chart runs a privileged container"
    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
    assert seccomp in ("RuntimeDefault", None), seccomp  # podman's default profile applies
    return flags


def _volume_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    flags: list[str] = []
    for mount in container.get("volumeMounts", []):
        assert "emptyDir" in volumes[mount["name"]], mount  # the chart's only kind of volume
        flags += ["--mount", f"type=tmpfs,destination={mount['mountPath']},tmpfs-mode=1777"]
    return flags


def _get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        return int(response.status), response.read().decode()


def _probe(container: dict[str, Any], probe: str) -> tuple[int, str]:
    """A probe's port (named or numbered) and path, as the kubelet resolves them."""
    http = container[probe]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    port = http["port"]
    return (ports[port] if isinstance(port, str) else int(port)), http["path"]


class Container:
    """One `podman run -d` of the image, removed afterwards."""

    def __init__(self, name: str) -> None:
        self.name = name

    def logs(self) -> str:
        result = subprocess.run([*PODMAN, "logs", self.name], capture_output=True, text=True)
        return result.stdout + result.stderr

    def state(self) -> dict[str, Any]:
        out = subprocess.run(
            [*PODMAN, "inspect", "--format", "{{json .State}}", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return dict(json.loads(out))

    def remove(self) -> None:
        subprocess.run([*PODMAN, "rm", "--force", "--time", "0", self.name], capture_output=True)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def test_the_image_runs_the_operator_as_the_chart_does(
    image: Image,
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    crds: None,
    tmp_path: Path,
    containers: list[Container],
) -> None:
    name = f"pro-{uuid.uuid4().hex[:6]}"
    rendered = _render(namespace, name)
    rbac = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    admin_kubectl.apply(yaml.safe_dump_all([o for o in rendered if o["kind"] in rbac]))
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    account = pod["serviceAccountName"]
    kubeconfig = _token_kubeconfig(admin_kubectl, namespace, account, tmp_path / "kubeconfig")
    who = f"--as=system:serviceaccount:{namespace}:{account}"
    eventually(
        lambda: (
            admin_kubectl.run(
                "auth", "can-i", "list", "promptreleases", "-A", who, check=False
            ).stdout.strip()
            == "yes"
        ),
        what="the chart's ClusterRoleBinding to take effect",
    )
    health, health_path = _probe(spec, "livenessProbe")
    ready_port, ready_path = _probe(spec, "readinessProbe")
    metrics = next(p["containerPort"] for p in spec["ports"] if p["name"] == "metrics")
    container = Container(f"{name}-operator")
    containers.append(container)
    argv = [
        *PODMAN,
        "run",
        "--detach",
        "--name",
        container.name,
        "--network",
        "host",
        "--ulimit",
        "nofile=20000:20000",  # podman's default is above this host's hard limit
        "--ulimit",
        "nproc=4096:4096",
        *_security_flags(pod, spec),
        *_volume_flags(pod, spec),
        "--volume",
        f"{kubeconfig}:/etc/prompt-release-operator/kubeconfig:ro",
        "--env",
        "KUBECONFIG=/etc/prompt-release-operator/kubeconfig",
        image.name,
        *spec["args"],
    ]
    started = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True, text=True)

    def answers(port: int, path: str) -> bool:
        if not container.state().get("Running"):
            raise AssertionError(f"the container stopped:\n{container.logs()}")
        try:
            return _get(port, path)[0] == 200
        except OSError:
            return False

    try:
        eventually(lambda: answers(health, health_path), timeout=60, what="liveness")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{container.logs()}") from None
    up = time.monotonic() - started
    assert answers(ready_port, ready_path)

    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    first_ready = time.monotonic() - started
    assert "Released Revision 1" in container.logs()

    def one_ready() -> str | None:
        text = _get(metrics, "/metrics")[1]
        return text if re.search(r'^promptrelease_releases\{ready="true"\} 1', text, re.M) else None

    eventually(one_ready, timeout=30, what="the metrics to count the Ready release")

    # Non-root, read-only: as the container sees itself.
    check = subprocess.run(
        [*PODMAN, "exec", container.name, "python3", "-c", _SELF_CHECK],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    uid, writable = check.stdout.split()
    assert uid != "0" and writable == "read-only"
    output = container.logs()
    assert "Forbidden" not in output and "Traceback" not in output, output

    grace = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    stopping = time.monotonic()
    subprocess.run([*PODMAN, "kill", "--signal", "TERM", container.name], check=True)

    def exited() -> dict[str, Any] | None:
        state = container.state()
        return None if state.get("Running") else state

    state = eventually(
        exited,
        timeout=grace,
        interval=0.2,
        what=f"the operator to stop on SIGTERM within the {grace} s grace period",
    )
    stopped = time.monotonic() - stopping
    assert state["ExitCode"] == 0, container.logs()
    binaries.report(
        f"operator image {image.name}: {image.size_mb:.0f} MB; container start -> healthy "
        f"{up:.1f} s, -> first Ready release {first_ready:.1f} s; SIGTERM -> exit 0 in "
        f"{stopped:.1f} s"
    )


_SELF_CHECK = """
import os
try:
    open("/opt/prompt-release-operator/probe", "w")
    writable = "writable"
except OSError:
    writable = "read-only"
print(os.getuid(), writable)
"""
