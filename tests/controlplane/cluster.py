"""Start and stop a real local control plane: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok.

It runs the API server the way controller-runtime's envtest does, on free loopback ports, with
TLS, RBAC authorization and service-account tokens, and writes an admin kubeconfig. The
controller manager runs the workload controllers (Deployments, ReplicaSets, StatefulSets,
DaemonSets, Jobs, CronJobs) besides garbage collection and namespace deletion; the scheduler
binds pods to a fake node that kwok runs in place of a kubelet, so workloads really roll out
though no container ever starts. Tests steer kwok's pods with annotations (see
`kwok/stages.yaml` and README.md here): `kwok.promptrelease.io/ready: "false"` holds a pod not
Ready, `kwok.promptrelease.io/exit-code: "N"` ends it with that exit code.

Every child process is tied to this one (it gets SIGTERM when this process dies), and `stop()`
ends them and removes the working folder, keeping component logs only when asked to.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.controlplane.binaries import CONTROL_PLANE, HERE, ensure_binaries

log = logging.getLogger("controlplane")

_PR_SET_PDEATHSIG = 1

# kwok runs the nodes that carry this annotation (and only those): add a Node with it to get more.
FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# What kwok does with pods and nodes: kwok's own stages plus the annotations tests steer pods by.
KWOK_STAGES = HERE / "kwok" / "stages.yaml"
HOLD_NOT_READY = ("kwok.promptrelease.io/ready", "false")
EXIT_CODE = "kwok.promptrelease.io/exit-code"

CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    # fills the built-in admin, edit and view ClusterRoles: the threat model's namespace admin
    "clusterrole-aggregation-controller",
)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send SIGTERM to the child when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class _KeyPair:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
        cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        return cert_path, key_path


def _issue(
    subject: x509.Name, issuer: _KeyPair | None, *, ca: bool = False, server: bool = False
) -> _KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    signer = issuer.key if issuer else key
    return _KeyPair(key, builder.sign(signer, hashes.SHA256()))


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


@dataclass
class LocalControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on loopback, with an admin kubeconfig;
    with `workloads`, also kube-scheduler and kwok with `fake_nodes` Ready nodes for pods."""

    keep_logs: bool = False
    workloads: bool = True
    fake_nodes: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="prompt-cp-")))
    binaries: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_port: int = 0
    startup_seconds: float = 0.0
    extra_apiserver_args: list[str] = field(default_factory=list)
    """More kube-apiserver flags (the benchmarks add an audit log); none by default."""
    nodes: list[str] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def kubectl(self) -> Path:
        return self.binaries["kubectl"]

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def start(self) -> LocalControlPlane:
        started = time.monotonic()
        workload_parts = {"kube-scheduler", "kwok"}
        self.binaries = ensure_binaries(
            name for name in CONTROL_PLANE if self.workloads or name not in workload_parts
        )
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            pki = self._write_pki()
            etcd_url = self._start_etcd()
            self._start_apiserver(etcd_url, pki)
            # The rest start side by side; then wait for each to answer.
            self._start_controller_manager()
            if self.workloads:
                scheduler = self._start_scheduler()
                self._start_kwok()
                self.nodes = [
                    self._create_fake_node(f"kwok-node-{i}") for i in range(self.fake_nodes)
                ]
                self._wait("kube-scheduler", scheduler, _insecure_tls(), timeout=60)
                for node in self.nodes:
                    self._wait_for("kwok", f"node {node} Ready", partial(self._node_ready, node))
            self._check_running()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        log.warning(
            "control plane ready at %s in %.1f s (kubeconfig %s)",
            self.server,
            self.startup_seconds,
            self.kubeconfig,
        )
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.keep_logs:
            log.warning("control-plane logs kept in %s", self.logs)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults: one component stopped and started again in place ------------------------------

    def restart_apiserver(self, *, kill: bool = True) -> float:
        """kube-apiserver killed (SIGKILL; SIGTERM with kill=False) and started again on the same
        port and etcd; the seconds until it is ready again. Clients see their watches drop."""
        return self._restart("kube-apiserver", kill=kill)

    def restart_etcd(self, *, kill: bool = True) -> float:
        """etcd killed and started again on its data and ports; the seconds until kube-apiserver
        (which stays up, its storage gone meanwhile) is ready again."""
        started = time.monotonic()
        self._restart("etcd", kill=kill)
        self._wait("kube-apiserver", f"{self.server}/readyz", self._admin_context(), timeout=120)
        return time.monotonic() - started

    def _restart(self, name: str, *, kill: bool) -> float:
        old = self.processes[name]
        assert isinstance(old.args, list), old.args
        argv = [str(arg) for arg in old.args]
        if old.poll() is None:
            if kill:
                old.kill()
            else:
                old.terminate()
            old.wait(timeout=30)
        logfile = self.logs / f"{name}.log"
        if logfile.exists():  # keep each life's log: name.log, name.1.log, ...
            lives = len(list(self.logs.glob(f"{name}.*.log")))
            logfile.rename(self.logs / f"{name}.{lives + 1}.log")
        started = time.monotonic()
        self._spawn(name, argv[1:])
        if name == "etcd":
            client_url = next(a for a in argv if a.startswith("--listen-client-urls="))
            self._wait(name, f"{client_url.split('=', 1)[1]}/health", None, timeout=60)
        else:
            self._wait(name, f"{self.server}/readyz", self._admin_context(), timeout=120)
        return time.monotonic() - started

    def _admin_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self._pki["ca"]))
        ctx.load_cert_chain(str(self._pki["admin_cert"]), str(self._pki["admin_key"]))
        return ctx

    # -- components -------------------------------------------------------------------------

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as logfile:
            process = subprocess.Popen(
                [str(self.binaries[name]), *args],
                stdout=logfile,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=_die_with_parent,
            )
        self.processes[name] = process
        return process

    def _exited(self, name: str) -> RuntimeError | None:
        process = self.processes[name]
        if process.poll() is None:
            return None
        tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
        return RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def _check_running(self) -> None:
        for name in self.processes:
            if error := self._exited(name):
                raise error

    def _wait_for(
        self, name: str, what: str, probe: Callable[[], bool], timeout: float = 60
    ) -> None:
        """Poll `probe` until it holds, failing early (with its log) if `name` exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if error := self._exited(name):
                raise error
            with contextlib.suppress(OSError, urllib.error.URLError):
                if probe():
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{name}: no {what} within {timeout:.0f} s")

    def _wait(self, name: str, probe: str, ctx: ssl.SSLContext | None, timeout: float) -> None:
        def answers() -> bool:
            with urllib.request.urlopen(probe, context=ctx, timeout=2) as response:
                return bool(response.status == 200)

        self._wait_for(name, f"answer from {probe}", answers, timeout)

    def _api(self, method: str, path: str, body: object = None) -> dict[str, object]:
        """One call to the API server as the admin."""
        request = urllib.request.Request(
            f"{self.server}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, context=self._admin_tls, timeout=10) as response:
            return dict(json.load(response))

    def _write_pki(self) -> dict[str, Path]:
        pki = self.workdir / "pki"
        pki.mkdir()
        ca = _issue(_name("prompt-release-local-ca"), None, ca=True)
        serving = _issue(_name("kube-apiserver"), ca, server=True)
        admin = _issue(_name("admin", "system:masters"), ca)
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        paths = {"ca": ca.write(pki, "ca")[0]}
        paths["serving_cert"], paths["serving_key"] = serving.write(pki, "serving")
        paths["admin_cert"], paths["admin_key"] = admin.write(pki, "admin")
        paths["sa_key"] = pki / "sa.key"
        paths["sa_key"].write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        paths["sa_pub"] = pki / "sa.pub"
        paths["sa_pub"].write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self._pki = paths
        return paths

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        self._spawn(
            "etcd",
            [
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", f"{client_url}/health", None, timeout=60)
        return client_url

    def _start_apiserver(self, etcd_url: str, pki: dict[str, Path]) -> None:
        self.api_port = free_port()
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers={etcd_url}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki['serving_cert']}",
                f"--tls-private-key-file={pki['serving_key']}",
                f"--client-ca-file={pki['ca']}",
                f"--secure-port={self.api_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                # No not-ready taint on new nodes: no node-lifecycle controller would lift it.
                "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki['sa_pub']}",
                f"--service-account-signing-key-file={pki['sa_key']}",
                "--v=1",
                *self.extra_apiserver_args,
            ],
        )
        self._write_kubeconfig(pki)
        ctx = ssl.create_default_context(cafile=str(pki["ca"]))
        ctx.load_cert_chain(str(pki["admin_cert"]), str(pki["admin_key"]))
        self._admin_tls = ctx
        self._wait("kube-apiserver", f"{self.server}/readyz", ctx, timeout=120)
        self._wait("kube-apiserver", f"{self.server}/api/v1/namespaces/default", ctx, timeout=60)

    def _start_controller_manager(self) -> None:
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--leader-elect=false",
                f"--secure-port={free_port()}",
                "--bind-address=127.0.0.1",
                "--v=1",
            ],
        )

    def _start_scheduler(self) -> str:
        """kube-scheduler with its default profile; returns its health URL."""
        port = free_port()
        self._spawn(
            "kube-scheduler",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--v=1",
            ],
        )
        return f"https://127.0.0.1:{port}/healthz"

    def _start_kwok(self) -> None:
        """kwok plays the kubelet of every node annotated as fake, by `KWOK_STAGES`."""
        key, value = FAKE_NODE_ANNOTATION
        self._spawn(
            "kwok",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--config={KWOK_STAGES}",
                f"--manage-nodes-with-annotation-selector={key}={value}",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.96.0.1",
            ],
            # Its own work folder, so no ~/.kwok/kwok.yaml of the developer's is read.
            env=dict(os.environ, KWOK_WORKDIR=str(self.workdir / "kwok")),
        )

    def _create_fake_node(self, name: str) -> str:
        key, value = FAKE_NODE_ANNOTATION
        self._api(
            "POST",
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {key: value},
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                },
            },
        )
        return name

    def _node_ready(self, name: str) -> bool:
        node = self._api("GET", f"/api/v1/nodes/{name}")
        status = node.get("status")
        conditions = status.get("conditions", []) if isinstance(status, dict) else []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _write_kubeconfig(self, pki: dict[str, Path]) -> None:
        self.kubeconfig.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: {self.server}
    certificate-authority: {pki["ca"]}
users:
- name: admin
  user:
    client-certificate: {pki["admin_cert"]}
    client-key: {pki["admin_key"]}
contexts:
- name: local
  context: {{cluster: local, user: admin}}
current-context: local
"""
        )


def _insecure_tls() -> ssl.SSLContext:
    """For the health endpoints of the scheduler, which serves a self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@contextlib.contextmanager
def running_control_plane(
    keep_logs: bool = False,
    workloads: bool = True,
    extra_apiserver_args: Sequence[str] = (),
) -> Iterator[LocalControlPlane]:
    """A started control plane that is stopped on exit, on SIGTERM, and on Ctrl-C alike."""
    plane = LocalControlPlane(
        keep_logs=keep_logs, workloads=workloads, extra_apiserver_args=list(extra_apiserver_args)
    )
    previous = signal.getsignal(signal.SIGTERM)

    def _terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield plane.start()
    finally:
        plane.stop()
        signal.signal(signal.SIGTERM, previous)
