"""Find or build the binaries of the local control plane and of the tests.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok (fake nodes and
kubelet), helm, kstatus, actionlint, prometheus and Flux's notification-controller are built from
the Go modules beside this file and cached outside the repository, keyed by each module's
go.mod/go.sum and the Go toolchain, so they are rebuilt only when a pin changes. A folder named by
``KUBEBUILDER_ASSETS`` (as setup-envtest makes it) is used first: whatever it holds is taken as
is and only what it lacks is built.

Builds say what they build, from which pin, why and how long it took, through `report` (a log
warning unless the caller, such as the test session, routes it to a terminal).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("controlplane.build")

HERE = Path(__file__).resolve().parent
CACHE_ROOT = Path(
    os.environ.get("PROMPT_RELEASE_CACHE", Path.home() / ".cache" / "prompt-release-operator")
)


def _log_report(line: str) -> None:
    log.warning("%s", line)


# Where build progress goes: one line when a build starts, one when it ends. The test session
# points it at the terminal, past pytest's output capture.
report: Callable[[str], None] = _log_report


@dataclass(frozen=True)
class GoModule:
    """A Go module in this folder and the binaries it builds."""

    folder: str
    source: str  # the upstream module whose pinned version the binaries are
    packages: dict[str, str]  # binary name -> Go main package
    ldflags: str = "-s -w"
    tags: str = ""  # Go build tags

    @property
    def path(self) -> Path:
        return HERE / self.folder

    @property
    def version(self) -> str:
        return self.version_of(self.source)

    def version_of(self, module: str) -> str:
        for line in (self.path / "go.mod").read_text().splitlines():
            parts = line.split("//")[0].split()
            if len(parts) >= 2 and parts[-2] == module and parts[-1].startswith("v"):
                return parts[-1]
        raise LookupError(f"{module} is not required in {self.path / 'go.mod'}")


def _kubernetes_ldflags() -> str:
    version = KUBERNETES.version
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


KUBERNETES = GoModule(
    folder="kubernetes",
    source="k8s.io/kubernetes",
    packages={
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
        "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    },
)
ETCD = GoModule(
    folder="etcd",
    source="go.etcd.io/etcd/server/v3",
    packages={"etcd": "go.etcd.io/etcd/server/v3"},
)
KWOK = GoModule(
    folder="kwok", source="sigs.k8s.io/kwok", packages={"kwok": "sigs.k8s.io/kwok/cmd/kwok"}
)
HELM = GoModule(
    folder="helm", source="helm.sh/helm/v3", packages={"helm": "helm.sh/helm/v3/cmd/helm"}
)
KSTATUS = GoModule(
    folder="kstatus",
    source="sigs.k8s.io/cli-utils",
    packages={"kstatus": "promptrelease.io/controlplane/kstatus"},
)
ACTIONLINT = GoModule(
    folder="actionlint",
    source="github.com/rhysd/actionlint",
    packages={"actionlint": "github.com/rhysd/actionlint/cmd/actionlint"},
)
PROMETHEUS = GoModule(
    folder="prometheus",
    source="github.com/prometheus/prometheus",
    packages={"prometheus": "github.com/prometheus/prometheus/cmd/prometheus"},
    # Static and file discovery only (the tests' scrape targets): no cloud or Kubernetes SDKs
    # to compile, as Prometheus's own plugins/ build tags allow.
    tags="remove_all_sd",
)
FLUX_NOTIFICATION = GoModule(
    folder="fluxnotification",
    source="github.com/fluxcd/notification-controller",
    packages={"notification-controller": "github.com/fluxcd/notification-controller"},
)
MODULES = (ETCD, KUBERNETES, KWOK, HELM, KSTATUS, ACTIONLINT, PROMETHEUS, FLUX_NOTIFICATION)
CONTROL_PLANE = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    return env


def _go_version() -> str:
    if shutil.which("go") is None:
        raise RuntimeError(
            "Go is needed to build the local control plane (kube-apiserver, etcd) and was not "
            "found on PATH; install Go >= 1.26, or set KUBEBUILDER_ASSETS to a folder with the "
            "binaries, or USE_EXISTING_CLUSTER=true to use your current kubeconfig."
        )
    return subprocess.run(
        ["go", "env", "GOVERSION"], check=True, capture_output=True, text=True, env=_go_env()
    ).stdout.strip()


def cache_key(module: GoModule) -> str:
    """Digest of what decides the binaries: the pins, the checksums, our own Go source (if
    any), the toolchain, and which binaries are built from which packages."""
    digest = hashlib.sha256()
    for path in [module.path / "go.mod", module.path / "go.sum", *sorted(module.path.glob("*.go"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(_go_version().encode())
    digest.update(repr(sorted(module.packages.items())).encode())
    if module.tags:
        digest.update(f"tags={module.tags}".encode())
    return f"{module.folder}-{digest.hexdigest()[:16]}"


def _shown(path: Path) -> str:
    """A path as a person would type it: under ~ when it is in the home folder."""
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def _build(module: GoModule, target: Path) -> None:
    """Build into a temporary folder, then rename it into place, so a half build is never used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f"{target.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same pin
        if _complete(module, target):
            return
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
        ldflags = _kubernetes_ldflags() if module is KUBERNETES else module.ldflags
        started = time.monotonic()
        try:
            # One binary at a time: each line on screen is one step, and the packages they
            # share are compiled once (Go's build cache), so it costs about what one command
            # for all of them would.
            for name, package in module.packages.items():
                report(
                    f"building {name} from {module.source} {module.version} (first run with "
                    f"this pin; cached in {_shown(target)} afterwards) ..."
                )
                step = time.monotonic()
                output = str(staging / name)
                tags = ["-tags", module.tags] if module.tags else []
                result = subprocess.run(
                    ["go", "build", "-trimpath", *tags, "-ldflags", ldflags, "-o", output, package],
                    cwd=module.path,
                    env=_go_env(),
                    capture_output=True,
                    text=True,
                )
                if result.returncode != 0:
                    raise RuntimeError(
                        f"go build {package} (in {module.path}) exited {result.returncode}:\n"
                        + result.stderr[-4000:]
                    )
                report(f"built {name} in {time.monotonic() - step:.0f} s")
            if target.exists():  # an incomplete folder, from an interrupted older layout
                shutil.rmtree(target)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if len(module.packages) > 1:
            report(f"built {module.folder} in {time.monotonic() - started:.0f} s")


def missing(names: Iterable[str] = CONTROL_PLANE) -> list[str]:
    """The binaries asked for that would have to be built first (not found, not cached)."""
    wanted = set(names)
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        wanted = {name for name in wanted if not _executable(Path(assets) / name)}
    absent: list[str] = []
    for module in MODULES:
        asked = [name for name in module.packages if name in wanted]
        if asked and not _complete(module, CACHE_ROOT / "bin" / cache_key(module)):
            absent += asked
    return absent


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _complete(module: GoModule, target: Path) -> bool:
    return all(_executable(target / name) for name in module.packages)


def ensure_binaries(names: Iterable[str] = CONTROL_PLANE) -> dict[str, Path]:
    """Return the path of each binary asked for, building what is missing."""
    wanted = set(names)
    found: dict[str, Path] = {}
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        for name in wanted:
            if _executable(Path(assets) / name):
                found[name] = Path(assets) / name
    for module in MODULES:
        if not (wanted & set(module.packages)) - set(found):
            continue  # nothing asked for from this module, or all of it found already
        target = CACHE_ROOT / "bin" / cache_key(module)
        if not _complete(module, target):
            _build(module, target)
        for name in module.packages:
            found.setdefault(name, target / name)
    return found


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for binary, path in ensure_binaries(sys.argv[1:] or CONTROL_PLANE).items():
        print(f"{binary}\t{path}")
