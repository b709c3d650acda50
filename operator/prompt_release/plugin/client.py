"""The plugin's view of the cluster: the shared client, kubectl's choice of kubeconfig,
context and namespace, and API errors turned into one-line `CliError`s."""

from __future__ import annotations

import builtins
import copy
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from prompt_release import API_VERSION, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.core.workloads import KINDS as WORKLOAD_KINDS
from prompt_release.core.workloads import Workload
from prompt_release.plugin.errors import CliError, NotFoundError, UnreachableError, UsageError

FIELD_MANAGER = "kubectl-prompt"
REQUEST_TIMEOUT = 30
KINDS = {VERSION_PLURAL: "PromptVersion", RELEASE_PLURAL: "PromptRelease"}

T = TypeVar("T")


class Cluster:
    """The API calls `kubectl prompt` makes, in one namespace."""

    def __init__(
        self,
        kubeconfig: str | None,
        context: str | None,
        namespace: str | None,
        *,
        as_user: str | None = None,
        as_groups: Sequence[str] = (),
        as_uid: str | None = None,
    ):
        """`as_*`: kubectl's `--as`, `--as-group`, `--as-uid`, over the kubeconfig's."""
        from prompt_release.connection import ConfigError
        from prompt_release.kube import Kube

        try:
            self.kube = Kube.connect(
                kubeconfig,
                context,
                REQUEST_TIMEOUT,
                retries=1,
                as_user=as_user,
                as_groups=as_groups,
                as_uid=as_uid,
            )
        except (ConfigError, OSError, ValueError) as error:
            raise UnreachableError(f"cannot load the kubeconfig: {error}") from error
        self.namespace = namespace or self.kube.namespace

    def within(self, namespace: str) -> Cluster:
        """The same connection and identity, in another namespace."""
        other = copy.copy(self)
        other.namespace = namespace
        return other

    def namespaces(self) -> builtins.list[str] | None:
        """The names of the namespaces; None when we may not list them (a namespaced role)."""
        from prompt_release.kube import ApiError

        try:
            listed = self.kube.call("GET", "/api/v1/namespaces")
        except ApiError as error:
            if error.status in (401, 403):
                return None
            _raise_api(error, "namespaces not found")
        except Exception as error:
            _raise_api(error, "namespaces not found")
        return sorted(item["metadata"]["name"] for item in listed.get("items") or ())

    def _call(self, call: Callable[[], T], not_found: str) -> T:
        try:
            return call()
        except Exception as error:
            _raise_api(error, not_found)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        not_found = f"{KINDS[plural]} {name} not found in namespace {self.namespace}"
        found = self._call(lambda: self.kube.find(plural, self.namespace, name), not_found)
        if found is None:
            raise NotFoundError(not_found)
        return found

    def release(self, name: str) -> ReleaseView:
        return ReleaseView.of(self.get(RELEASE_PLURAL, name))

    def version(self, name: str) -> VersionView:
        return VersionView.of(self.get(VERSION_PLURAL, name))

    def list(self, plural: str) -> list[dict[str, Any]]:
        return self._call(
            lambda: self.kube.list(plural, self.namespace),
            f"the {plural} API is not served: are the CRDs installed?",
        )

    def create(self, plural: str, body: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """Create `body`; `dry_run`: as the API server would, admission included, storing
        nothing (what the admission policies would stamp shows in the answer)."""
        query = {"fieldManager": FIELD_MANAGER, **({"dryRun": "All"} if dry_run else {})}
        namespace = body["metadata"].get("namespace") or self.namespace
        path = f"/apis/{API_VERSION}/namespaces/{namespace}/{plural}"
        return self._call(
            lambda: self.kube.call("POST", path, body, query),
            f"the {plural} API is not served: are the CRDs installed?",
        )

    def namespace_exists(self) -> bool | None:
        """Does the namespace exist? None when we may not read it (a namespaced role)."""
        from prompt_release.kube import ApiError

        try:
            self.kube.call("GET", f"/api/v1/namespaces/{self.namespace}")
        except ApiError as error:
            if error.status == 404:
                return False
            if error.status in (401, 403):
                return None
            _raise_api(error, f"namespace {self.namespace} not found")
        except Exception as error:
            _raise_api(error, f"namespace {self.namespace} not found")
        return True

    def merge_patch(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            lambda: self.kube.merge_patch(plural, self.namespace, name, patch, FIELD_MANAGER),
            f"{name} not found in namespace {self.namespace}",
        )

    def records(self, selector: str) -> builtins.list[dict[str, Any]]:
        """The history records (ControllerRevisions) of the label selector."""
        return self._call(
            lambda: self.kube.list_controller_revisions(self.namespace, selector),
            "the ControllerRevision API is not served",
        )

    def find_release(self, name: str) -> ReleaseView | None:
        """A release that may have been deleted (its records outlive it)."""
        not_found = f"PromptRelease {name} not found in namespace {self.namespace}"
        found = self._call(lambda: self.kube.find(RELEASE_PLURAL, self.namespace, name), not_found)
        return None if found is None else ReleaseView.of(found)

    def config_map(self, name: str) -> dict[str, Any]:
        not_found = f"ConfigMap {name} not found in namespace {self.namespace}"
        found = self._call(lambda: self.kube.find_config_map(self.namespace, name), not_found)
        if found is None:
            raise NotFoundError(not_found)
        return found

    def workloads(self, config_map: str) -> builtins.list[Workload] | None:
        """The Deployments, StatefulSets and DaemonSets whose pods use `config_map`; None when
        we may not list them."""
        found: builtins.list[Workload] = []
        for kind in WORKLOAD_KINDS:
            try:
                bodies = self.kube.list_workloads(kind, self.namespace)
            except Exception as error:
                if getattr(error, "status", None) in (401, 403):
                    return None
                _raise_api(error, f"the {kind} API is not served")
            workloads = (Workload.of(body, kind) for body in bodies)
            found.extend(w for w in workloads if w.uses_of(config_map))
        return found

    def manifest(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """A whole object of ours in this namespace, as `kubectl apply` would take it."""
        return {
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }


def _raise_api(error: Exception, not_found: str) -> NoReturn:
    """Turn a client error into a one-line message of the right class; never a traceback."""
    from prompt_release.connection import ConfigError
    from prompt_release.kube import ApiError

    if isinstance(error, CliError):
        raise error
    if isinstance(error, ConfigError):  # an exec plugin that failed, say
        raise UnreachableError(f"cannot get credentials: {error}") from error
    if isinstance(error, ApiError):
        if error.status == 404:
            raise NotFoundError(not_found) from error
        if error.status in (401, 403):
            raise UnreachableError(
                f"the cluster refused the request: {_api_message(error)}"
            ) from error
        if error.status == 422:
            raise UsageError(f"the API server rejected it: {_api_message(error)}") from error
        if error.status == 409:
            raise CliError(f"conflict: {_api_message(error)}") from error
        raise UnreachableError(f"API error {error.status}: {_api_message(error)}") from error
    raise UnreachableError(f"cannot reach the cluster: {_short(error)}") from error


def _api_message(error: Any) -> str:
    try:
        return str(json.loads(error.body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(error.reason)


def _short(error: Exception) -> str:
    text = str(error)
    reason = re.search(
        r"(Connection refused|Name or service not known|timed out|"
        r"certificate verify failed[^')]*)",
        text,
    )
    return reason.group(1) if reason else text.splitlines()[0][:200]
