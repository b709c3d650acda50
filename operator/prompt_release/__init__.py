"""Prompt Release Operator: release management for LLM prompts, native to Kubernetes.

The package has four parts, one folder each: `core` (pure rules: API types, hashing,
validation, the payload schema, history, conditions, the release plan), `operator` (the kopf
shell that reads, calls the core and writes once), `plugin` (`kubectl prompt`) and `sdk` (what
workloads import). `kube` is the one Kubernetes client the operator and the plugin share.
"""

__version__ = "0.1.0"

GROUP = "promptrelease.io"
CRD_VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{CRD_VERSION}"
VERSION_PLURAL = "promptversions"
RELEASE_PLURAL = "promptreleases"
