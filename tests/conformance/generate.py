"""Write the conformance kit (`conformance/`) from what the real operator writes.

    .venv/bin/python -m tests.conformance.generate

Starts the local control plane (tests/controlplane), installs the CRDs, runs the operator as
its own process on one namespace, applies the kit's versions and releases
(`tests/conformance/scenario.py`), captures the ConfigMaps, and writes the kit's JSON files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.conformance import kit, scenario
from tests.kube import Kubectl, OperatorProcess, eventually

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "conformance"


def main() -> int:
    from tests.controlplane.cluster import running_control_plane

    with running_control_plane() as plane, tempfile.TemporaryDirectory() as scratch:
        admin = Kubectl(plane.kubectl, plane.kubeconfig)
        admin("apply", "--server-side", "--force-conflicts", "-k", str(REPO / "crds"))
        for crd in ("promptversions.promptrelease.io", "promptreleases.promptrelease.io"):
            admin("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
        eventually(
            lambda: "promptreleases" in admin("api-resources", "--api-group=promptrelease.io"),
            what="the promptrelease.io kinds in discovery",
        )
        admin("create", "namespace", NAMESPACE)
        operator = OperatorProcess.start(
            plane.kubeconfig, ["-n", NAMESPACE], Path(scratch) / "operator.log"
        )
        try:
            captured = scenario.run(admin.in_namespace(NAMESPACE))
        finally:
            operator.stop()
    kit.write(kit.build(captured))
    print(f"wrote {', '.join(kit.FILES)} in {kit.KIT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
