"""What a pod serves: the info metric and the JSON document, over a real loopback socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from prompt_release.core import payload
from prompt_release.sdk import MountedPrompt, info, metrics_text, serve_info
from tests.unit.payloads import released


def _mounted(tmp_path: Path) -> MountedPrompt:
    spec = {"prompt": "summarizer", "template": 'Say "{x}"', "variables": ["x"]}
    body = released(spec, version="summarizer-v3", revision=4, released_at="t", changelog="")
    (tmp_path / "prompt.json").write_text(payload.data(body)["prompt.json"])
    return MountedPrompt(tmp_path)


def test_the_info_metric_names_version_hash_and_revision(tmp_path: Path) -> None:
    prompt = _mounted(tmp_path)
    text = metrics_text(prompt)
    assert "# TYPE promptrelease_prompt_info gauge" in text
    sample = next(line for line in text.splitlines() if line.startswith("promptrelease_"))
    assert sample == (
        'promptrelease_prompt_info{prompt="summarizer",label="production",'
        f'version="summarizer-v3",hash="{prompt.hash}",revision="4"}} 1'
    )
    assert info(prompt)["prompts"][0]["revision"] == 4


def test_serve_info_answers_metrics_and_prompts(tmp_path: Path) -> None:
    prompt = _mounted(tmp_path)
    server = serve_info(0, prompt, address="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            assert b"promptrelease_prompt_info{" in answer.read()
        with urllib.request.urlopen(f"{base}/prompts", timeout=5) as answer:
            assert json.load(answer)["prompts"][0]["hash"] == prompt.hash
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/nope", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
