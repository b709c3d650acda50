"""ConfigMaps a release no longer writes: when `spec.configMapName` changes, the old one goes.

Only a ConfigMap labelled as the operator's *and* controlled by this very release (its uid) is
ever deleted, and only exactly as it was read (uid and resourceVersion preconditions). The old
name is found by listing, not from the status, so a ConfigMap written under a name that never
reached the status (a rename during a rename, a crash) goes too. This runs only while the
status names another ConfigMap (or none yet) and the spec has changed since creation (a release
at generation 1 has only ever had one name), so it costs one list per rename.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import kopf

from prompt_release.core import configmap
from prompt_release.core.views import ReleaseView
from prompt_release.kube import Kube, is_status

log = logging.getLogger("prompt_release")

REMOVED = "ConfigMapRemoved"


def remove_stale(kube: Kube, body: Any, release: ReleaseView) -> list[str]:
    """Delete the ConfigMaps this release wrote under other names; the names deleted."""
    if release.status.config_map == release.config_map_name or release.generation == 1:
        return []
    listed = kube.list_config_maps(release.namespace, configmap.release_selector(release))
    removed = []
    for old in configmap.stale(listed, release):
        meta = old["metadata"]
        try:
            kube.delete_config_map(
                release.namespace, meta["name"], meta["uid"], meta["resourceVersion"]
            )
        except Exception as error:
            if is_status(error, 404, 409):
                continue  # gone, or changed since: the next pass looks again
            raise
        message = (
            f"ConfigMap {meta['name']} is no longer spec.configMapName "
            f"({release.config_map_name}); deleted it"
        )
        kopf.event(cast(Any, body), type="Normal", reason=REMOVED, message=message)
        log.info("PromptRelease %s/%s: %s", release.namespace, release.name, message)
        removed.append(str(meta["name"]))
    return removed
