"""`kubectl prompt`'s command line: flags, verbs, and the one place errors become exit codes.

Installed as the executable `kubectl-prompt` (kubectl finds it on PATH as the `prompt`
plugin) and runnable as `python -m prompt_release`. Exit codes: see `plugin.errors`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from prompt_release.core.templates import FORMATS
from prompt_release.core.validation import API_SERVER_MAX_JSON_DEPTH
from prompt_release.plugin.errors import CliError
from prompt_release.plugin.verbs.authoring import cmd_new_version
from prompt_release.plugin.verbs.canary import ACTIONS, cmd_canary
from prompt_release.plugin.verbs.consumers import cmd_consumer_annotations
from prompt_release.plugin.verbs.deps import cmd_deps
from prompt_release.plugin.verbs.evaluation import ACTIONS as EVAL_ACTIONS
from prompt_release.plugin.verbs.evaluation import cmd_eval
from prompt_release.plugin.verbs.governance import cmd_approve, cmd_reject
from prompt_release.plugin.verbs.inspect import (
    cmd_diff,
    cmd_hash,
    cmd_history,
    cmd_render,
    cmd_status,
    cmd_verify,
)
from prompt_release.plugin.verbs.lint import cmd_lint
from prompt_release.plugin.verbs.releasing import cmd_promote, cmd_release, cmd_rollback
from prompt_release.plugin.verbs.rollout import cmd_rollout_status

EXAMPLES = {
    "hash": "kubectl prompt hash prompts/ticket-summarizer-v3.yaml",
    "lint": "kubectl prompt lint prompts/*.yaml [--strict]",
    "status": "kubectl prompt status -n support",
    "consumer-annotations": "kubectl prompt consumer-annotations ticket-summarizer-v4 "
    "[--supplies ticket,customer] [-f prompts/ticket-summarizer-v4.yaml]",
    "history": "kubectl prompt history ticket-summarizer -l production",
    "verify": "kubectl prompt verify ticket-summarizer -l production",
    "deps": "kubectl prompt deps ticket-summarizer -l production",
    "diff": "kubectl prompt diff ticket-summarizer-v2 ticket-summarizer-v3",
    "release": "kubectl prompt release ticket-summarizer -l staging --version "
    "ticket-summarizer-v3 -m 'Adds a priority line'",
    "promote": "kubectl prompt promote ticket-summarizer --from staging --to production",
    "rollback": "kubectl prompt rollback ticket-summarizer -l production --to-revision 2",
    "render": "kubectl prompt render ticket-summarizer -l production --var ticket='Printer on "
    "fire'",
    "rollout": "kubectl prompt rollout status ticket-summarizer -l production --timeout 5m",
    "canary": "kubectl prompt canary start ticket-summarizer -l production --version "
    "ticket-summarizer-v4 --weight 10",
    "approve": "kubectl prompt approve ticket-summarizer -l production -m 'Reviewed the eval run'",
    "reject": "kubectl prompt reject ticket-summarizer -l production -m 'Drops the priority line'",
    "eval": "kubectl prompt eval record ticket-summarizer-v4 -f result.json --cases cases.jsonl",
    "dashboard": "kubectl prompt dashboard -n support [--port 3100] [--as reviewer@example.com]",
    "new-version": "kubectl prompt new-version ticket-summarizer --from ticket-summarizer-v3 "
    "-f template.txt [--format mustache]",
}


class Verbs:
    """Adds verbs with kubectl's shared flags; `writes` and `waits` are optional flag sets."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.common = argparse.ArgumentParser(add_help=False)
        self.common.add_argument("-n", "--namespace", help="the namespace (default: the context's)")
        self.common.add_argument("--context", help="the kubeconfig context to use")
        self.common.add_argument("--kubeconfig", help="path to the kubeconfig file")
        self.common.add_argument(
            "--as",
            dest="as_user",
            metavar="USER",
            help="act as this user (impersonation; over the kubeconfig's `as`)",
        )
        self.common.add_argument(
            "--as-group",
            dest="as_groups",
            action="append",
            default=[],
            metavar="GROUP",
            help="act with this group, repeatable (over the kubeconfig's `as-groups`)",
        )
        self.common.add_argument(
            "--as-uid", dest="as_uid", metavar="UID", help="act with this UID (impersonation)"
        )
        self.common.add_argument(
            "-o", "--output", choices=["table", "yaml", "json"], default="table"
        )
        self.writes = argparse.ArgumentParser(add_help=False)
        self.writes.add_argument(
            "--dry-run",
            choices=["none", "client"],
            default="none",
            help="client: print the manifest (for Git) instead of applying it",
        )
        self.waits = argparse.ArgumentParser(add_help=False)
        self.waits.add_argument("--no-wait", action="store_true", help="don't wait for Ready")
        self.waits.add_argument(
            "--timeout", type=float, default=60, help="seconds to wait (default 60)"
        )
        self._verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def add(
        self,
        name: str,
        helptext: str,
        func: Callable[[argparse.Namespace], int],
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        sub = self._verbs.add_parser(
            name,
            help=helptext,
            description=helptext,
            parents=[self.common, *parents],
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(func=func)
        return sub


def _reading_verbs(verbs: Verbs) -> None:
    sub = verbs.add("hash", "print the content hash of PromptVersion manifests (offline)", cmd_hash)
    sub.add_argument("files", nargs="+", metavar="FILE", help="YAML files, or - for stdin")
    helptext = "check PromptVersion manifests as the operator does (offline; exit 1 on an error)"
    sub = verbs.add("lint", helptext, cmd_lint)
    sub.add_argument("files", nargs="+", metavar="FILE", help="YAML files, or - for stdin")
    sub.add_argument("--strict", action="store_true", help="exit 1 on a warning too")
    verbs.add("status", "list the releases in the namespace", cmd_status)
    helptext = "print the pod-template annotations a workload using a version should carry"
    sub = verbs.add("consumer-annotations", helptext, cmd_consumer_annotations)
    sub.add_argument("version", nargs="?", help="the PromptVersion (in the cluster, or in -f)")
    sub.add_argument("-f", "--filename", help="read the PromptVersion from this manifest")
    sub.add_argument(
        "--supplies", help="the variables the workload passes, comma separated (default: all)"
    )
    helptext = "show the include tree of a version, or of what a prompt's releases serve"
    sub = verbs.add("deps", helptext, cmd_deps)
    sub.add_argument("target", metavar="VERSION_OR_PROMPT")
    sub.add_argument("-l", "--label", help="only this label (and what it serves of each include)")
    sub = verbs.add("history", "show the release history of a prompt", cmd_history)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", help="only this label")
    sub = verbs.add(
        "verify",
        "check the history chain against its records (exit 1 when rewritten or missing)",
        cmd_verify,
    )
    sub.add_argument("prompt", help="a prompt (every label, or -l), or a PromptRelease's name")
    sub.add_argument("-l", "--label", help="only this label")
    sub = verbs.add("diff", "compare two PromptVersions (exit 1 when they differ)", cmd_diff)
    sub.add_argument("version_a", metavar="VERSION_A")
    sub.add_argument("version_b", metavar="VERSION_B")
    sub.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    sub = verbs.add("render", "render the live prompt of a label with variables", cmd_render)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    sub.add_argument(
        "--vars-file",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML or JSON mapping of variables",
    )


def _releasing_verbs(verbs: Verbs) -> None:
    moves = (verbs.writes, verbs.waits)
    sub = verbs.add("release", "point a label at a version", cmd_release, *moves)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--version", required=True, help="the PromptVersion to release")
    sub.add_argument("-m", "--message", help="the changelog")
    sub.add_argument("--hash", help="pin the version's content hash")
    helptext = "release what one label runs under another, hash-pinned"
    sub = verbs.add("promote", helptext, cmd_promote, *moves)
    sub.add_argument("prompt")
    sub.add_argument("--from", dest="source", required=True, help="e.g. staging")
    sub.add_argument("--to", dest="target", required=True, help="e.g. production")
    sub.add_argument("-m", "--message", help="the changelog (default: the source's)")
    sub.add_argument(
        "--check",
        action="store_true",
        help="only show the target's spec.promotion gates (exit 1 while one is missing)",
    )
    helptext = "bring back an earlier revision as a new one"
    sub = verbs.add("rollback", helptext, cmd_rollback, *moves)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--to-revision", type=int, help="default: the previous revision")
    sub.add_argument("-m", "--message", help="the changelog")


def _governance_verbs(verbs: Verbs) -> None:
    for name, helptext, func in (
        ("approve", "approve the version a protected label awaits (two-person rule)", cmd_approve),
        ("reject", "reject the version a protected label awaits", cmd_reject),
    ):
        sub = verbs.add(name, helptext, func, verbs.writes, verbs.waits)
        sub.add_argument("prompt")
        sub.add_argument("-l", "--label", required=True)
        sub.add_argument("-m", "--message", help="a comment, kept with the decision")
        sub.add_argument(
            "--version",
            help="the PromptVersion decided on (default: the one awaiting approval, as "
            "spec.version or as the canary's candidate; name it when both wait)",
        )


def _duration(text: str) -> float:
    """Seconds from `90`, `90s`, `5m` or `1h` (kubectl's --timeout habit)."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 5m)") from error


def _rollout_verbs(verbs: Verbs) -> None:
    helptext = "wait for the workloads using a release to serve its live revision"
    sub = verbs.add("rollout", helptext, cmd_rollout_status)
    sub.add_argument("action", choices=["status"], help="status: watch the rollout")
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument(
        "-w",
        "--watch",
        type=lambda text: text.lower() not in ("false", "0", "no"),
        default=True,
        nargs="?",
        const=True,
        help="wait until it finishes (default true; --watch=false looks once)",
    )
    sub.add_argument(
        "--timeout",
        type=_duration,
        default=0,
        help="give up after this long, e.g. 5m (default: wait forever)",
    )


def _canary_verbs(verbs: Verbs) -> None:
    helptext = "serve a candidate version to a share of requests, sticky per key"
    sub = verbs.add("canary", helptext, cmd_canary, verbs.writes, verbs.waits)
    sub.add_argument(
        "action",
        choices=ACTIONS,
        help="start a canary, set its weight, promote it (the next revision), abort it, "
        "resume it past a manual pause, or show it",
    )
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--version", help="start: the candidate PromptVersion")
    sub.add_argument("--hash", help="start: pin the candidate's content hash")
    sub.add_argument(
        "--weight", type=float, help="start (default 10), set-weight: percent of requests"
    )
    sub.add_argument(
        "--steps-file",
        metavar="FILE",
        help="start: a YAML list of steps (setWeight, pause, analysis), or steps: and segments:",
    )
    sub.add_argument("-m", "--message", help="promote: the changelog")


def _evaluation_verbs(verbs: Verbs) -> None:
    helptext = (
        "record evaluation results bound to a version's exact hash, list them, start a "
        "release's evaluation Job (run) or show the evidence it needs and has (status)"
    )
    sub = verbs.add("eval", helptext, cmd_eval, verbs.writes)
    sub.add_argument("action", choices=EVAL_ACTIONS)
    sub.add_argument(
        "version",
        nargs="?",
        help="record, list: the PromptVersion evaluated (list: filter); run, status: the "
        "PromptRelease (or its prompt, with -l)",
    )
    sub.add_argument("-l", "--label", help="run, status: the release is <VERSION>-<LABEL>")
    sub.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="run: seconds to wait for the operator to start the run (default 30)",
    )
    sub.add_argument(
        "-f",
        "--file",
        help="record: a result as JSON: score, passed, dataset, evaluator (name, version or "
        "image), optional threshold, scores, baseline {version, score}, comment",
    )
    sub.add_argument(
        "--cases", help="record: the dataset's cases (JSON list or JSON Lines), to hash"
    )
    sub.add_argument(
        "--from-promptfoo",
        dest="promptfoo",
        metavar="RESULTS.json",
        help="record: promptfoo's output (promptfoo eval -o RESULTS.json) instead of -f: the pass "
        "rate as the score, passed when no test failed, its test cases as the dataset",
    )
    sub.add_argument("--name", help="record: the PromptEvaluation's name")


def _authoring_verbs(verbs: Verbs) -> None:
    helptext = "create the next version of a prompt from a file"
    sub = verbs.add("new-version", helptext, cmd_new_version, verbs.writes)
    sub.add_argument("prompt")
    sub.add_argument("--from", dest="source", required=True, help="the version to start from")
    sub.add_argument(
        "-f",
        "--file",
        required=True,
        help="the new template (text prompts) or a YAML list of messages (chat)",
    )
    sub.add_argument("--name", help="default: the next free <prompt>-vN")
    sub.add_argument("-d", "--description")
    sub.add_argument(
        "--format",
        dest="template_format",
        choices=FORMATS,
        help="the new version's templateFormat (default: the source's); mustache is portable "
        "(the Python, TypeScript and Go SDKs render it)",
    )
    sub.add_argument(
        "--tools",
        metavar="FILE",
        help="YAML or JSON list of function definitions ({type: function, function: {name, "
        "parameters}}) replacing the source's tools; an empty list drops them",
    )
    sub.add_argument(
        "--response-format",
        metavar="FILE",
        help="YAML or JSON {name, schema, strict} replacing the source's responseFormat; "
        "a bare JSON Schema is taken as its schema",
    )


def _cmd_dashboard(args: argparse.Namespace) -> int:
    """The web server's modules load only for this verb."""
    from prompt_release.plugin.dashboard.app import cmd_dashboard

    return cmd_dashboard(args)


def _dashboard_verb(verbs: Verbs) -> None:
    helptext = "serve a local web UI: live releases, history, diffs, canaries and approvals"
    sub = verbs.add("dashboard", helptext, _cmd_dashboard)
    sub.add_argument(
        "--address", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"
    )
    sub.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    sub.add_argument("--open", action="store_true", help="open it in the default browser")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl prompt",
        description="Release, promote and roll back prompts managed by Prompt Release Operator.",
        epilog="Exit codes: 0 ok, 1 failed or refused, 2 bad usage or input, 3 not found, "
        "4 cluster unreachable or forbidden.",
    )
    verbs = Verbs(parser)
    _reading_verbs(verbs)
    _releasing_verbs(verbs)
    _authoring_verbs(verbs)
    _evaluation_verbs(verbs)
    _governance_verbs(verbs)
    _rollout_verbs(verbs)
    _canary_verbs(verbs)
    _dashboard_verb(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    # Objects the API server stores may nest 10,000 deep (model.parameters): read them, and
    # let validation say what is wrong, instead of failing in json with a RecursionError.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * API_SERVER_MAX_JSON_DEPTH))
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code  # the one place an error becomes an exit code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
