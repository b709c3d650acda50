"""Build the operator image with no container daemon: podman and runc (Debian's packages) build
the repository's Dockerfile on a Debian minbase that mmdebstrap makes from Debian's packages, so
no registry is needed.

`python -m tests.image` (`make image`) builds the image, or finds it built from the same inputs,
and prints its name and size. The base is a tarball cached under
~/.cache/prompt-release-operator/image, keyed by what goes into it; the image is tagged with a
digest of everything it is built from (the Dockerfile, the locks, the package's sources and the
base), so a second run with nothing changed builds nothing. Elsewhere, the same Dockerfile builds
FROM the public Python image with docker or buildx (see docs/install.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.controlplane import binaries
from tests.controlplane.binaries import CACHE_ROOT

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
CACHE = CACHE_ROOT / "image"
REPOSITORY = "localhost/prompt-release-operator"
BASE_REPOSITORY = "localhost/prompt-release-operator-base"
BUILD_LABEL = "io.promptrelease.build=prompt-release-operator"  # on both stages: see _prune

# command -> the Debian package that has it
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}

# The base: Debian's minbase with Python 3.11 and its venv module, without documentation, and
# /usr merged by a hook (not the usrmerge package, which would pull in Perl).
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
MMDEBSTRAP = (
    "--variant=minbase",
    f"--include={','.join(BASE_PACKAGES)}",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
)

# What works without a daemon on hybrid-cgroup hosts: vfs storage, chroot isolation for RUN
# steps, runc with cgroupfs for containers, and the host's network.
PODMAN = ("podman", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", "runc")

# Inputs of the image besides the package's sources (operator/prompt_release).
INPUTS = (
    "Dockerfile",
    ".dockerignore",
    "requirements.lock",
    "requirements-build.lock",
    "pyproject.toml",
    "README.md",
)
PACKAGE = REPO / "operator" / "prompt_release"


@dataclass(frozen=True)
class Image:
    """An image in podman's storage."""

    name: str  # repository:tag
    size: int  # bytes, as podman counts them (uncompressed)
    build_seconds: float  # 0 when it was found already built
    base: str

    @property
    def size_mb(self) -> float:
        return self.size / 1e6

    def describe(self) -> str:
        how = f"built in {self.build_seconds:.0f} s" if self.build_seconds else "already built"
        return f"{self.name}: {self.size_mb:.0f} MB ({how}, base {self.base})"


def _run(*argv: str, timeout: float = 1800) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:6])} ... exited {result.returncode}:\n"
            + (result.stderr or result.stdout)[-4000:]
        )
    return result.stdout


def podman(*args: str, timeout: float = 1800) -> str:
    return _run(*PODMAN, *args, timeout=timeout)


def ensure_tools() -> None:
    """podman, runc and mmdebstrap on PATH; installed with apt-get when missing (as root)."""
    missing = [package for command, package in TOOLS.items() if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"building the operator image needs {', '.join(missing)} (Debian: `sudo apt-get "
            f"install {' '.join(missing)}`), or build it with docker: docs/install.md"
        )
    binaries.report(f"installing {', '.join(missing)} with apt-get (once) ...")
    started = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr}")
    binaries.report(f"installed {', '.join(missing)} in {time.monotonic() - started:.0f} s")


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder at a time per cache entry (another test session may build the same)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _exists(name: str) -> bool:
    result = subprocess.run([*PODMAN, "image", "exists", name], capture_output=True)
    return result.returncode == 0


def base_key() -> str:
    digest = hashlib.sha256(repr((SUITE, MMDEBSTRAP)).encode())
    return f"{SUITE}-{digest.hexdigest()[:12]}"


def ensure_base() -> str:
    """The base image in podman's storage, from the cached tarball (made once by mmdebstrap)."""
    key = base_key()
    name = f"{BASE_REPOSITORY}:{key}"
    if _exists(name):
        return name
    tarball = CACHE / f"base-{key}.tar"
    with _locked(f"base-{key}"):
        if not tarball.exists():
            binaries.report(
                f"making the image's base: Debian {SUITE} minbase with {', '.join(BASE_PACKAGES)} "
                f"(mmdebstrap, once; cached in {binaries._shown(tarball)}) ..."
            )
            started = time.monotonic()
            partial = tarball.with_suffix(".partial.tar")
            _run("mmdebstrap", "--quiet", *MMDEBSTRAP, SUITE, str(partial))
            partial.rename(tarball)
            binaries.report(f"made the base in {time.monotonic() - started:.0f} s")
        if not _exists(name):
            podman("import", "--quiet", str(tarball), name)
    return name


def _sources() -> list[Path]:
    files = [REPO / name for name in INPUTS]
    files += sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )
    return files


def image_key(base: str) -> str:
    """Digest of everything the image is built from: its files and its base."""
    digest = hashlib.sha256(base.encode())
    for path in _sources():
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _ca_bundle() -> str | None:
    """The CA bundle pip is told to trust here (a TLS-inspecting proxy's), passed to the build
    as a secret so pip inside it trusts the same; never stored in the image."""
    for variable in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(variable)
        if path and Path(path).is_file():
            return path
    return None


def _size(name: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", name).strip())


def _prune(keep: str) -> None:
    """Remove this repository's images built from older inputs, and the build stages left
    untagged by earlier builds (vfs keeps a full copy of every layer)."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY)
    for name in listed.split():
        if name != keep and not name.endswith(f":{version()}"):
            subprocess.run([*PODMAN, "rmi", name], capture_output=True)
    subprocess.run(
        [*PODMAN, "image", "prune", "--force", "--filter", f"label={BUILD_LABEL}"],
        capture_output=True,
    )


def ensure_image() -> Image:
    """The operator image built from the working tree: found by its inputs' digest, else built."""
    ensure_tools()
    base = ensure_base()
    name = f"{REPOSITORY}:{image_key(base)}"
    with _locked("image"):
        if _exists(name):
            return Image(name, _size(name), 0.0, base)
        binaries.report(f"building the operator image {name} (podman, base {base}) ...")
        started = time.monotonic()
        secret = _ca_bundle()
        podman(
            "build",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--layers",
            "--build-arg",
            f"BASE={base}",
            *(["--secret", f"id=cacert,src={secret}"] if secret else []),
            "--tag",
            name,
            "--tag",
            f"{REPOSITORY}:{version()}",
            "--file",
            str(DOCKERFILE),
            str(REPO),
        )
        took = time.monotonic() - started
        _prune(keep=name)
    binaries.report(f"built {name} in {took:.0f} s")
    return Image(name, _size(name), took, base)


def main() -> int:
    image = ensure_image()
    print(image.describe())
    print(f"also tagged {REPOSITORY}:{version()} (podman --storage-driver vfs push NAME DEST)")
    return 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
