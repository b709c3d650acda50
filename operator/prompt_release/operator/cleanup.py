"""`prompt-release-operator cleanup`: remove the operator's finalizer from every object, so that
nothing waits for an operator that is gone.

While the operator runs, the finalizer `promptrelease.io/in-use-protection` is on exactly the
PromptVersions a release points at (and on nothing else); it holds back their deletion. Once the
operator is uninstalled nobody would remove it, and deleting those versions (or their
namespace, or the CRDs) would wait forever. Run this after stopping the operator for good; a
running operator puts the finalizer back on the versions releases hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.protection import finalizer_patch
from prompt_release.kube import Kube, is_status

KINDS = {VERSION_PLURAL: "promptversion", RELEASE_PLURAL: "promptrelease"}


def cleanup(
    kube: Kube, namespaces: Iterable[str] | None, say: Callable[[str], None] = print
) -> int:
    """Remove the finalizer everywhere (`namespaces` None) or in these namespaces; the number
    of objects changed."""
    changed = 0
    for plural, kind in KINDS.items():
        if namespaces is None:
            objects = kube.list_everywhere(plural)
        else:
            objects = [found for ns in namespaces for found in kube.list(plural, ns)]
        for found in objects:
            if _release(kube, plural, found):
                meta = found["metadata"]
                say(f"{kind} {meta['namespace']}/{meta['name']}: finalizer removed")
                changed += 1
    say(f"{changed} object(s) changed; nothing waits for the operator any more")
    return changed


def _release(kube: Kube, plural: str, found: dict[str, Any], attempts: int = 5) -> bool:
    """Remove the finalizer from one object (re-reading it on a conflict)."""
    meta = found["metadata"]
    for _ in range(attempts):
        patch = finalizer_patch(meta, held=False)
        if patch is None:
            return False
        try:
            kube.merge_patch(plural, meta["namespace"], meta["name"], patch, OPERATOR)
            return True
        except Exception as error:
            if is_status(error, 404):
                return False
            if not is_status(error, 409):
                raise
        fresh = kube.find(plural, meta["namespace"], meta["name"])
        if fresh is None:
            return False
        meta = fresh["metadata"]
    raise RuntimeError(f"{meta['namespace']}/{meta['name']} keeps changing; run cleanup again")
