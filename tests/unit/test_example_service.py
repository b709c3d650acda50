"""The SDK example service renders, tags, and follows a swap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube import _free_port, eventually
from tests.unit.test_sdk import AtomicWriterVolume, _payload

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "summarizer_service.py"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, AtomicWriterVolume]]:
    volume = AtomicWriterVolume(tmp_path)
    volume.release(_payload("summarizer-v1", 1))
    port = _free_port()
    env = dict(os.environ, PROMPT_DIR=str(tmp_path), PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, str(SERVICE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/summarize"
    try:
        eventually(lambda: _post(url, "ticket=x"), timeout=30, what="the example service")
        yield url, volume
    finally:
        process.terminate()
        process.wait(timeout=10)


def _post(url: str, body: str) -> dict[str, object]:
    with urllib.request.urlopen(url, data=body.encode(), timeout=5) as response:
        return dict(json.loads(response.read()))


def test_each_response_carries_the_version_and_follows_a_swap(
    service: tuple[str, AtomicWriterVolume],
) -> None:
    url, volume = service
    first = _post(url, "ticket=Printer+on+fire")
    assert first["prompt"] == "summarizer-v1: Printer on fire"
    assert first["gen_ai.prompt.version"] == "summarizer-v1"
    assert str(first["promptrelease.hash"]).startswith("sha256:")
    volume.release(_payload("summarizer-v2", 2))

    def serves_v2() -> dict[str, object] | None:
        reply = _post(url, "ticket=t")
        return reply if reply["gen_ai.prompt.version"] == "summarizer-v2" else None

    swapped = eventually(serves_v2, timeout=10, what="the service to serve v2")
    assert swapped["prompt"] == "summarizer-v2: t" and swapped["promptrelease.revision"] == 2
