"""Find or build the control-plane binaries: etcd, kube-apiserver, kube-controller-manager, kubectl.

The binaries are built from the Go modules beside this file and cached outside the repository,
keyed by each module's go.mod/go.sum and the Go toolchain, so they are rebuilt only when a pin
changes. A folder named by ``KUBEBUILDER_ASSETS`` (as setup-envtest makes it) is used first:
whatever it holds is taken as is and only what it lacks is built.
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("controlplane.build")

HERE = Path(__file__).resolve().parent
CACHE_ROOT = Path(
    os.environ.get("PROMPT_RELEASE_CACHE", Path.home() / ".cache" / "prompt-release-operator")
)


@dataclass(frozen=True)
class GoModule:
    """A Go module in this folder and the binaries it builds."""

    folder: str
    packages: dict[str, str]  # binary name -> Go main package
    ldflags: str = "-s -w"

    @property
    def path(self) -> Path:
        return HERE / self.folder

    def version_of(self, module: str) -> str:
        for line in (self.path / "go.mod").read_text().splitlines():
            parts = line.split("//")[0].split()
            if len(parts) >= 2 and parts[-2] == module and parts[-1].startswith("v"):
                return parts[-1]
        raise LookupError(f"{module} is not required in {self.path / 'go.mod'}")


def _kubernetes_ldflags() -> str:
    version = KUBERNETES.version_of("k8s.io/kubernetes")
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
    packages={
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    },
)
ETCD = GoModule(folder="etcd", packages={"etcd": "go.etcd.io/etcd/server/v3"})
HELM = GoModule(folder="helm", packages={"helm": "helm.sh/helm/v3/cmd/helm"})
KSTATUS = GoModule(folder="kstatus", packages={"kstatus": "promptrelease.io/controlplane/kstatus"})
MODULES = (ETCD, KUBERNETES, HELM, KSTATUS)
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")


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
    any), the toolchain."""
    digest = hashlib.sha256()
    for path in [module.path / "go.mod", module.path / "go.sum", *sorted(module.path.glob("*.go"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(_go_version().encode())
    return f"{module.folder}-{digest.hexdigest()[:16]}"


def _default_binary_name(package: str) -> str:
    """The name `go build -o dir/` gives a main package: its last element, skipping a /vN."""
    elements = package.rstrip("/").split("/")
    last = elements[-1]
    if len(elements) > 1 and last[:1] == "v" and last[1:].isdigit():
        return elements[-2]
    return last


def _build(module: GoModule, target: Path) -> None:
    """Build into a temporary folder, then rename it into place, so a half build is never used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f"{target.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same pin
        if target.is_dir():
            return
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
        ldflags = _kubernetes_ldflags() if module is KUBERNETES else module.ldflags
        started = time.monotonic()
        log.warning(
            "building %s from Go modules into %s (first use of this pin; takes minutes)",
            ", ".join(module.packages),
            target,
        )
        try:
            subprocess.run(
                [
                    "go",
                    "build",
                    "-trimpath",
                    "-ldflags",
                    ldflags,
                    "-o",
                    str(staging) + "/",
                    *module.packages.values(),
                ],
                cwd=module.path,
                env=_go_env(),
                check=True,
            )
            for name, package in module.packages.items():
                built = staging / _default_binary_name(package)
                if built.name != name:
                    built.rename(staging / name)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.warning("built %s in %.0f s", module.folder, time.monotonic() - started)


def ensure_binaries(names: Iterable[str] = CONTROL_PLANE) -> dict[str, Path]:
    """Return the path of each binary asked for, building what is missing."""
    wanted = set(names)
    found: dict[str, Path] = {}
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        for name in wanted:
            candidate = Path(assets) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found[name] = candidate
    for module in MODULES:
        if not (wanted & set(module.packages)) - set(found):
            continue  # nothing asked for from this module, or all of it found already
        target = CACHE_ROOT / "bin" / cache_key(module)
        if not target.is_dir():
            _build(module, target)
        for name in module.packages:
            found.setdefault(name, target / name)
    return found


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for binary, path in ensure_binaries(sys.argv[1:] or CONTROL_PLANE).items():
        print(f"{binary}\t{path}")
