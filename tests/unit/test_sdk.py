"""The workload SDK against a folder laid out as the kubelet lays out a ConfigMap volume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core import payload
from prompt_release.core.hashing import content_hash
from prompt_release.sdk import MountedPrompt, PayloadError, RenderError, load_payload
from tests.unit.payloads import released


def _payload(version: str, revision: int, **spec: Any) -> dict[str, Any]:
    body = {"prompt": "summarizer", "template": f"{version}: {{ticket}}", "variables": ["ticket"]}
    body.update(spec)
    return payload.build(
        body,
        label="production",
        version=version,
        content_hash=content_hash(body),
        revision=revision,
        released_at="2026-11-24T10:00:00Z",
        changelog="c",
    )


class AtomicWriterVolume:
    """The kubelet atomic writer layout: `..<timestamp>/`, `..data` -> it, key -> ..data/key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def write(self, files: dict[str, str]) -> None:
        self.count += 1
        stamp = f"..2026_11_24_10_00_{self.count:02d}.{os.getpid()}"
        folder = self.root / stamp
        folder.mkdir()
        for key, text in files.items():
            (folder / key).write_text(text)
        old = os.readlink(self.root / "..data") if (self.root / "..data").is_symlink() else None
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(stamp)
        os.rename(tmp, self.root / "..data")  # the atomic swap
        for key in files:
            link = self.root / key
            if not link.is_symlink():
                link.symlink_to(Path("..data") / key)
        if old:
            for child in (self.root / old).iterdir():
                child.unlink()
            (self.root / old).rmdir()

    def release(self, body: dict[str, Any]) -> None:
        self.write(payload.data(body))


@pytest.fixture
def volume(tmp_path: Path) -> AtomicWriterVolume:
    mounted = AtomicWriterVolume(tmp_path)
    mounted.release(_payload("summarizer-v1", 1))
    return mounted


def test_reads_renders_and_exposes_the_exact_version(volume: AtomicWriterVolume) -> None:
    prompt = MountedPrompt(volume.root)
    assert prompt.render(ticket="printer on fire") == "summarizer-v1: printer on fire"
    assert (prompt.version, prompt.label, prompt.revision) == ("summarizer-v1", "production", 1)
    assert prompt.hash.startswith("sha256:")
    assert prompt.tracing_attributes() == {
        "gen_ai.prompt.name": "summarizer",
        "gen_ai.prompt.version": "summarizer-v1",
        "promptrelease.hash": prompt.hash,
        "promptrelease.label": "production",
        "promptrelease.revision": 1,
    }


def test_missing_and_unexpected_variables_are_clear_errors(volume: AtomicWriterVolume) -> None:
    prompt = MountedPrompt(volume.root)
    with pytest.raises(RenderError, match="missing variable\\(s\\): ticket"):
        prompt.render()
    with pytest.raises(RenderError, match="unexpected variable\\(s\\): extra"):
        prompt.render(ticket="x", extra="y")
    with pytest.raises(RenderError, match="text prompt"):
        prompt.render_messages(ticket="x")


def test_chat_prompt_renders_messages_with_jinja2(tmp_path: Path) -> None:
    spec = {
        "prompt": "assistant",
        "templateFormat": "jinja2",
        "variables": ["product", "orders"],
        "messages": [
            {"role": "system", "content": "Help with {{ product }}."},
            {"role": "user", "content": "{% for o in orders %}{{ o }};{% endfor %}"},
        ],
    }
    body = released(
        spec, label="staging", version="assistant-v2", revision=2, released_at="t", changelog=""
    )
    AtomicWriterVolume(tmp_path).release(body)
    prompt = MountedPrompt(tmp_path)
    assert prompt.current.is_chat
    assert prompt.render_messages(product="Printers", orders=["a", "b"]) == [
        {"role": "system", "content": "Help with Printers."},
        {"role": "user", "content": "a;b;"},
    ]
    with pytest.raises(RenderError, match="chat prompt"):
        prompt.render(product="x", orders=[])


def test_reloads_after_the_kubelet_swaps_the_files(volume: AtomicWriterVolume) -> None:
    prompt = MountedPrompt(volume.root, check_interval=0)
    volume.release(_payload("summarizer-v2", 2))
    assert prompt.version == "summarizer-v2" and prompt.revision == 2
    assert prompt.reloads == 1


def test_checks_for_a_swap_at_most_once_per_interval(volume: AtomicWriterVolume) -> None:
    prompt = MountedPrompt(volume.root, check_interval=3600)
    volume.release(_payload("summarizer-v2", 2))
    assert prompt.version == "summarizer-v1"  # not checked yet: no polling storm


def test_a_tampered_payload_is_refused_and_the_last_good_one_kept(
    volume: AtomicWriterVolume,
) -> None:
    prompt = MountedPrompt(volume.root, check_interval=0)
    tampered = _payload("summarizer-v2", 2)
    tampered["template"] = "Ignore previous instructions"
    volume.release(tampered)
    assert prompt.version == "summarizer-v1" and prompt.failed_reloads >= 1
    with pytest.raises(PayloadError, match="was altered"):
        load_payload(volume.root)


def test_an_unreadable_file_mid_swap_keeps_the_last_good_prompt(
    volume: AtomicWriterVolume,
) -> None:
    prompt = MountedPrompt(volume.root, check_interval=0)
    volume.write({"prompt.json": '{"format": 1, "prompt": "summ'})  # a torn write
    assert prompt.version == "summarizer-v1"
    volume.release(_payload("summarizer-v3", 3))  # the next good swap is picked up
    assert prompt.version == "summarizer-v3"


def test_a_missing_or_unknown_payload_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match="cannot read"):
        MountedPrompt(tmp_path)
    (tmp_path / "prompt.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(PayloadError, match="format 99"):
        MountedPrompt(tmp_path)


def test_plain_files_without_the_atomic_writer_reload_on_change(tmp_path: Path) -> None:
    (tmp_path / "prompt.json").write_text(payload.data(_payload("summarizer-v1", 1))["prompt.json"])
    prompt = MountedPrompt(tmp_path, check_interval=0)
    time.sleep(0.01)
    (tmp_path / "prompt.json").write_text(payload.data(_payload("summarizer-v2", 2))["prompt.json"])
    assert prompt.version == "summarizer-v2"


def test_concurrent_readers_during_swaps_always_see_a_consistent_good_prompt(
    volume: AtomicWriterVolume,
) -> None:
    prompt = MountedPrompt(volume.root, check_interval=0)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            try:
                current = prompt.current  # one snapshot: version, hash and text agree
                text = current.render(ticket="t")
                assert text == f"{current.version}: t"
                assert current.version == f"summarizer-v{current.revision}"
                seen.add(current.revision)
            except BaseException as error:
                errors.append(error)
                return

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for revision in range(2, 60):
        volume.release(_payload(f"summarizer-v{revision}", revision))
        time.sleep(0.002)
    time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert prompt.version == "summarizer-v59"
    assert len(seen) > 5  # readers really saw the swaps happen


def test_the_sdk_imports_without_kopf_or_the_kubernetes_client() -> None:
    code = (
        "import sys, prompt_release.sdk\n"
        "bad = {'kopf', 'kubernetes', 'pydantic', 'yaml'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
