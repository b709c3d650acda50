"""`kubectl prompt lint FILE...`: the operator's verdicts on PromptVersion manifests, offline.

Errors are what makes the operator mark a version `Invalid`; warnings are what it writes to
`status.warnings`. Both come from `core/lint.py`, so CI and the cluster agree.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from prompt_release.core.lint import ERROR, WARNING, lint
from prompt_release.core.manifests import load_all
from prompt_release.plugin.errors import FAILED, OK, UsageError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import read


def versions_in(name: str) -> list[dict[str, Any]]:
    text = sys.stdin.read() if name == "-" else read(name)
    try:
        documents = list(load_all(text))
    except yaml.YAMLError as error:
        raise UsageError(f"{name}: not valid YAML: {error}") from error
    found = [d for d in documents if isinstance(d, dict) and d.get("kind") == "PromptVersion"]
    if not found:
        raise UsageError(f"{name}: no PromptVersion in it")
    return found


def cmd_lint(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name in args.files:
        for document in versions_in(name):
            spec = document.get("spec")
            which = str((document.get("metadata") or {}).get("name"))
            findings = lint(spec if isinstance(spec, dict) else {})
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
