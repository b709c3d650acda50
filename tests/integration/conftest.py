"""Fixtures the integration tests share beyond the cluster ones in tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kube import Kubectl

Prompt = Callable[..., subprocess.CompletedProcess[str]]
PLUGIN_DIR = str(Path(sys.executable).parent)  # where `pip install` put kubectl-prompt


@pytest.fixture
def prompt(kubectl: Kubectl, namespace: str) -> Prompt:
    """Run `kubectl prompt ARGS -n <test namespace>`; returns the completed process."""

    def run(
        *args: str,
        namespaced: bool = True,
        input: str | None = None,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig or kubectl.kubeconfig),
            PATH=f"{PLUGIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        argv = [str(kubectl.binary), "prompt", *args, *(["-n", namespace] if namespaced else [])]
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, input=input, timeout=120
        )

    return run
