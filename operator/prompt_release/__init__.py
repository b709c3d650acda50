"""Prompt Release Operator: release management for LLM prompts, native to Kubernetes."""

__version__ = "0.1.0"

GROUP = "promptrelease.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
