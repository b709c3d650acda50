"""`kubectl prompt lint FILE...`: the operator's verdicts on PromptVersion manifests, offline.

Errors are what makes the operator mark a version `Invalid`; warnings are what it writes to
`status.warnings`. Both come from `core/lint.py`, so CI and the cluster agree.
"""

from __future__ import annotations

import argparse
from typing import Any

from prompt_release.core import composition
from prompt_release.core.lint import ERROR, WARNING, Finding, lint
from prompt_release.core.views import VersionView
from prompt_release.plugin.errors import FAILED, OK
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import versions_in


def _composition_findings(document: dict[str, Any], views: dict[str, VersionView]) -> list[Finding]:
    """Why a version's includes can't be composed, judged on the versions of the files given;
    an include none of them names may exist in the cluster, so it is not judged."""
    view = VersionView.of(document)
    failure = view.with_includes(views.get).include_failure
    if failure is None or failure[0] == composition.INCLUDE_NOT_FOUND:
        return []
    return [Finding(ERROR, f"{failure[0]}: {failure[1]}")]


def cmd_lint(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    found = [(name, document) for name in args.files for document in versions_in(name)]
    views = {view.name: view for view in (VersionView.of(doc) for _, doc in found)}
    for name, document in found:
        spec = document.get("spec")
        which = str((document.get("metadata") or {}).get("name"))
        findings = lint(spec if isinstance(spec, dict) else {})
        if isinstance(spec, dict) and all(f.severity != ERROR for f in findings):
            findings = [*_composition_findings(document, views), *findings]
        for finding in findings or ():
            rows.append({"NAME": which, "FILE": name, **finding.to_json()})
        if not findings:
            rows.append({"NAME": which, "FILE": name, "severity": "ok", "message": ""})
    if args.output == "table":
        for row in rows:
            print(f"{row['NAME']}  {row['FILE']}  {row['severity']}  {row['message']}".rstrip())
    else:
        emit(args.output, [], [], [{k.lower(): v for k, v in row.items()} for row in rows])
    severities = {row["severity"] for row in rows}
    failed = ERROR in severities or (args.strict and WARNING in severities)
    return FAILED if failed else OK
