"""In-use protection of PromptVersions: the finalizer that holds back deleting a version while
a release points at it, and only then.

A version no release names carries no finalizer, so deleting it (or its namespace) never waits
for the operator; only the versions some release's `spec.version` names carry it. Without the
operator those stay until `prompt-release-operator cleanup` removes the finalizer (docs/install.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release import GROUP

FINALIZER = f"{GROUP}/in-use-protection"


def carries(meta: Mapping[str, Any]) -> bool:
    return FINALIZER in (meta.get("finalizers") or ())


def finalizer_patch(meta: Mapping[str, Any], held: bool) -> dict[str, Any] | None:
    """The merge patch (guarded by resourceVersion) that makes the finalizer say `held`; None
    when it already does, or when it would add one to an object being deleted (the API server
    refuses new finalizers then)."""
    finalizers = list(meta.get("finalizers") or ())
    if held == (FINALIZER in finalizers) or (held and meta.get("deletionTimestamp")):
        return None
    wanted = [*finalizers, FINALIZER] if held else [f for f in finalizers if f != FINALIZER]
    return {"metadata": {"finalizers": wanted, "resourceVersion": meta["resourceVersion"]}}
