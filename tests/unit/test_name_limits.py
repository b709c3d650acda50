"""Labels and names the operator sets stay within Kubernetes' limits at the CRD's maximum name
lengths: a prompt and a label of 63 characters make a release name of 127, and
spec.configMapName may be 253 long."""

from __future__ import annotations

import re
from typing import Any

import pytest

from prompt_release.core import canary_jobs, configmap, payload
from prompt_release.core.canary_spec import Step
from prompt_release.core.views import ReleaseView

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
UID = "11111111-2222-3333-4444-555555555555"
PROMPT = "p" * 62 + "x"  # 63: the most a DNS label allows
LABEL = "l" * 62 + "y"
NAME = f"{PROMPT}-{LABEL}"  # 127: the longest release name the name rule admits
CONFIG_MAP = (NAME + "." + "c" * 200)[:253]


def valid_label_value(value: str) -> bool:
    return len(value) <= configmap.LABEL_VALUE_LIMIT and bool(LABEL_VALUE.match(value))


def release(config_map: str | None = None) -> ReleaseView:
    spec: dict[str, Any] = {"prompt": PROMPT, "label": LABEL, "version": "v"}
    if config_map:
        spec["configMapName"] = config_map
    return ReleaseView.of(
        {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptRelease",
            "metadata": {"name": NAME, "namespace": "ns", "uid": UID, "generation": 1},
            "spec": spec,
        }
    )


def test_short_values_are_kept_as_they_are() -> None:
    assert configmap.label_value("ticket-summarizer-production") == "ticket-summarizer-production"
    assert configmap.label_value("x" * 63) == "x" * 63


@pytest.mark.parametrize("length", [64, 127, 253])
def test_long_values_fit_a_label_and_keep_a_readable_prefix(length: int) -> None:
    value = ("a-" * 200)[: length - 1] + "z"
    found = configmap.label_value(value)
    assert valid_label_value(found), found
    assert found[:20] == value[:20]
    assert configmap.label_value(value) == found  # stable: the same name, the same value


def test_long_values_sharing_a_prefix_stay_apart() -> None:
    one, two = "a" * 100 + "-production", "a" * 100 + "-staging"
    assert configmap.label_value(one) != configmap.label_value(two)


def test_a_prefix_ending_in_a_dash_is_trimmed_before_the_digest() -> None:
    value = "a" * 51 + "-" + "b" * 60
    found = configmap.label_value(value)
    assert valid_label_value(found) and "--" not in found


def test_the_analysis_job_of_a_release_of_maximal_names_is_valid() -> None:
    view = release(CONFIG_MAP)
    state = {"hash": "sha256:" + "0" * 64, "startedAt": "2026-12-04T18:00:00Z"}
    name = canary_jobs.job_name(view, state, 63)  # steps go up to index 63
    assert len(name) <= 63 and DNS_LABEL.match(name)
    template = {"spec": {"template": {"spec": {"containers": [{"name": "eval"}]}}}}
    job = canary_jobs.analysis_job(
        view, Step(63, "analysis", job_template=template), name, "v", state["hash"]
    )
    labels = job["metadata"]["labels"]
    assert all(valid_label_value(value) for value in labels.values()), labels
    assert labels[canary_jobs.RELEASE_LABEL] == configmap.label_value(NAME)
    assert job["metadata"]["ownerReferences"][0]["name"] == NAME  # how its release is found
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert volumes[-1]["configMap"]["name"] == CONFIG_MAP


def test_the_config_map_of_a_release_of_maximal_names_is_valid() -> None:
    view = release(CONFIG_MAP)
    spec = {"prompt": PROMPT, "template": "Hello {x}", "variables": ["x"]}
    body = payload.build(
        spec,
        label=LABEL,
        version="v",
        content_hash="sha256:" + "0" * 64,
        revision=1,
        released_at="2026-12-04T18:00:00Z",
        changelog=None,
    )
    desired = configmap.desired(view, payload.data(body), body)
    assert desired["metadata"]["name"] == CONFIG_MAP
    labels = desired["metadata"]["labels"]
    assert all(valid_label_value(value) for value in labels.values()), labels
    for requirement in configmap.release_selector(view).split(","):
        assert valid_label_value(requirement.partition("=")[2])


def test_the_release_name_limit_follows_from_the_crd() -> None:
    assert len(NAME) == 127 and len(CONFIG_MAP) == 253
