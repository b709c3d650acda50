"""`make dev`: the product on the embedded local control plane, with the examples applied.

Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake node
(built on first use), installs the CRDs and the default admission policies of manifests/install
(who released it, deletion protection; with `--governance`, `make dev GOVERNANCE=1`, also
manifests/governance: the PromptPolicy and two-person-rule policies and the people's roles),
starts a Prometheus (the canary analyses' and verification windows' `--prometheus-url`), runs
the operator, applies manifests/examples, shows
`kubectl get prompts` and the example Deployment's pods Running (kwok plays their kubelet: no
container really starts). It then keeps running until Ctrl-C, which stops everything.
`.dev/kubeconfig` and `.dev/bin` (kubectl and the `kubectl prompt` plugin) serve a second
terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.controlplane.cluster import running_control_plane
from tests.controlplane.prometheus_server import running_prometheus

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / ".dev"


def _kubectl(kubectl: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [str(kubectl), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def _established(kubectl: Path, env: dict[str, str], crd: str) -> None:
    """`kubectl wait` fails outright on a CRD whose status has no conditions yet: poll."""
    path = '{.status.conditions[?(@.type=="Established")].status}'
    deadline = time.monotonic() + 60
    while _kubectl(kubectl, env, "get", crd, "-o", f"jsonpath={path}").strip() != "True":
        if time.monotonic() > deadline:
            raise SystemExit(f"{crd} was not Established within 60 s")
        time.sleep(0.2)


def _run(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout


def _wait_for_examples(kubectl: Path, env: dict[str, str]) -> None:
    for kind in ("promptversions", "promptreleases"):
        _kubectl(
            kubectl,
            env,
            "wait",
            "--for=condition=Ready",
            kind,
            "--all",
            "-n",
            "prompts-demo",
            "--timeout=120s",
        )


def _show_workloads(kubectl: Path, env: dict[str, str]) -> str:
    """Wait for the example Deployments to roll out; their pods, as `kubectl get` shows them."""
    _kubectl(
        kubectl,
        env,
        "wait",
        "--for=condition=Available",
        "deployments",
        "--all",
        "-n",
        "prompts-demo",
        "--timeout=60s",
    )
    return _kubectl(kubectl, env, "get", "deployments,pods", "-n", "prompts-demo", "-o", "wide")


def _install_policies(kubectl: Path, env: dict[str, str], governance: bool) -> None:
    """The admission policies the plain install ships (identity stamping, deletion
    protection), and with `governance` the opt-in ones of manifests/governance."""
    from tests.chart import INSTALL, admission_policies

    policies = admission_policies((INSTALL / "operator.yaml").read_text())
    print(f"installing {len(policies)} admission policies and bindings ...", flush=True)
    subprocess.run(
        [str(kubectl), "apply", "-f", "-"],
        input="\n".join(json.dumps(policy) for policy in policies),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    if governance:
        print("installing manifests/governance ...", flush=True)
        _kubectl(kubectl, env, "apply", "-k", str(REPO / "manifests" / "governance"))
    probe = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptRelease",
        "metadata": {"name": "probe-staging", "namespace": "default"},
        "spec": {"prompt": "probe", "label": "staging", "version": "probe-v1"},
    }
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the API server loads new policies asynchronously
        made = subprocess.run(
            [str(kubectl), "create", "--dry-run=server", "-o", "json", "-f", "-"],
            input=json.dumps(probe),
            env=env,
            capture_output=True,
            text=True,
        )
        if made.returncode == 0 and "requested-by" in made.stdout:
            return
        time.sleep(0.5)
    print("warning: the identity stamp is not enforced yet", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.controlplane")
    parser.add_argument("command", choices=["dev"], nargs="?", default="dev")
    parser.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="stop everything once the examples are Ready (a smoke test)",
    )
    parser.add_argument(
        "--governance",
        action="store_true",
        help="also install manifests/governance (make dev GOVERNANCE=1)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with running_control_plane(keep_logs=True) as plane, running_prometheus(keep=True) as metrics:
        DEV.mkdir(exist_ok=True)
        (DEV / "bin").mkdir(exist_ok=True)
        shutil.copy(plane.kubeconfig, DEV / "kubeconfig")
        plugin = Path(sys.executable).parent / "kubectl-prompt"
        for link, target in (
            (DEV / "bin" / "kubectl", plane.kubectl),
            (DEV / "bin" / "kubectl-prompt", plugin),
        ):
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        env = dict(os.environ, KUBECONFIG=str(plane.kubeconfig))
        kubectl = plane.kubectl

        print("installing the CRDs ...", flush=True)
        _kubectl(kubectl, env, "apply", "--server-side", "-k", str(REPO / "crds"))
        for crd in ("promptversions", "promptreleases"):
            _established(kubectl, env, f"crd/{crd}.promptrelease.io")

        _install_policies(kubectl, env, args.governance)

        operator_log = (plane.logs / "operator.log").open("wb")
        operator = subprocess.Popen(
            [
                *(sys.executable, "-m", "prompt_release.operator", "run", "--all-namespaces"),
                *("--prometheus-url", metrics.url),
            ],
            env=env,
            stdout=operator_log,
            stderr=subprocess.STDOUT,
        )
        try:
            print("applying manifests/examples ...", flush=True)
            print(_kubectl(kubectl, env, "apply", "-k", str(REPO / "manifests" / "examples")))
            _wait_for_examples(kubectl, env)
            print(_kubectl(kubectl, env, "get", "prompts", "-n", "prompts-demo"))
            print(_show_workloads(kubectl, env))
            history = [sys.executable, "-m", "prompt_release", "history", "ticket-summarizer"]
            print(_run([*history, "-n", "prompts-demo"], env))
            print(
                "The control plane, the operator and the examples are running.\n"
                f"  export KUBECONFIG={DEV / 'kubeconfig'} PATH={DEV / 'bin'}:$PATH\n"
                "  kubectl get prompts,deployments,pods -n prompts-demo\n"
                "  kubectl prompt history ticket-summarizer -n prompts-demo\n"
                "  kubectl prompt dashboard -n prompts-demo   # the same in a browser\n"
                f"  logs: {plane.logs}\n"
                f"  Prometheus (canary analyses query it; scrape targets: {metrics.folder}/"
                f"targets.json): {metrics.url}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            while not args.exit_when_ready:
                if operator.poll() is not None:
                    print(
                        f"the operator exited with {operator.returncode}; see "
                        f"{plane.logs / 'operator.log'}",
                        file=sys.stderr,
                    )
                    return 1
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopping ...")
        finally:
            operator.terminate()
            operator.wait(timeout=20)
            operator_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
