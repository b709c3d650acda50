"""`kubectl prompt`'s command line: flags, verbs, and the one place errors become exit codes.

Installed as the executable `kubectl-prompt` (kubectl finds it on PATH as the `prompt`
plugin) and runnable as `python -m prompt_release`. Exit codes: see `plugin.errors`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from prompt_release.plugin.errors import CliError
from prompt_release.plugin.verbs.authoring import cmd_new_version
from prompt_release.plugin.verbs.inspect import (
    cmd_diff,
    cmd_hash,
    cmd_history,
    cmd_render,
    cmd_status,
)
from prompt_release.plugin.verbs.releasing import cmd_promote, cmd_release, cmd_rollback

EXAMPLES = {
    "hash": "kubectl prompt hash prompts/ticket-summarizer-v3.yaml",
    "status": "kubectl prompt status -n support",
    "history": "kubectl prompt history ticket-summarizer -l production",
    "diff": "kubectl prompt diff ticket-summarizer-v2 ticket-summarizer-v3",
    "release": "kubectl prompt release ticket-summarizer -l staging --version "
    "ticket-summarizer-v3 -m 'Adds a priority line'",
    "promote": "kubectl prompt promote ticket-summarizer --from staging --to production",
    "rollback": "kubectl prompt rollback ticket-summarizer -l production --to-revision 2",
    "render": "kubectl prompt render ticket-summarizer -l production --var ticket='Printer on "
    "fire'",
    "new-version": "kubectl prompt new-version ticket-summarizer --from ticket-summarizer-v3 "
    "-f template.txt",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="the namespace (default: the context's)")
    common.add_argument("--context", help="the kubeconfig context to use")
    common.add_argument("--kubeconfig", help="path to the kubeconfig file")
    common.add_argument("-o", "--output", choices=["table", "yaml", "json"], default="table")
    writes = argparse.ArgumentParser(add_help=False)
    writes.add_argument(
        "--dry-run",
        choices=["none", "client"],
        default="none",
        help="client: print the manifest (for Git) instead of applying it",
    )
    waits = argparse.ArgumentParser(add_help=False)
    waits.add_argument("--no-wait", action="store_true", help="don't wait for Ready")
    waits.add_argument("--timeout", type=float, default=60, help="seconds to wait (default 60)")

    parser = argparse.ArgumentParser(
        prog="kubectl prompt",
        description="Release, promote and roll back prompts managed by Prompt Release Operator.",
        epilog="Exit codes: 0 ok, 1 failed or refused, 2 bad usage or input, 3 not found, "
        "4 cluster unreachable or forbidden.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(
        name: str,
        helptext: str,
        func: Callable[[argparse.Namespace], int],
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        sub = verbs.add_parser(
            name,
            help=helptext,
            description=helptext,
            parents=[common, *parents],
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(func=func)
        return sub

    sub = verb("hash", "print the content hash of PromptVersion manifests (offline)", cmd_hash)
    sub.add_argument("files", nargs="+", metavar="FILE", help="YAML files, or - for stdin")
    verb("status", "list the releases in the namespace", cmd_status)
    sub = verb("history", "show the release history of a prompt", cmd_history)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", help="only this label")
    sub = verb("diff", "compare two PromptVersions (exit 1 when they differ)", cmd_diff)
    sub.add_argument("version_a", metavar="VERSION_A")
    sub.add_argument("version_b", metavar="VERSION_B")
    sub.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    sub = verb("release", "point a label at a version", cmd_release, writes, waits)
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--version", required=True, help="the PromptVersion to release")
    sub.add_argument("-m", "--message", help="the changelog")
    sub.add_argument("--hash", help="pin the version's content hash")
    sub = verb(
        "promote",
        "release what one label runs under another, hash-pinned",
        cmd_promote,
        writes,
        waits,
    )
    sub.add_argument("prompt")
    sub.add_argument("--from", dest="source", required=True, help="e.g. staging")
    sub.add_argument("--to", dest="target", required=True, help="e.g. production")
    sub.add_argument("-m", "--message", help="the changelog (default: the source's)")
    sub = verb(
        "rollback", "bring back an earlier revision as a new one", cmd_rollback, writes, waits
    )
    sub.add_argument("prompt")
    sub.add_argument("-l", "--label", required=True)
    sub.add_argument("--to-revision", type=int, help="default: the previous revision")
    sub.add_argument("-m", "--message", help="the changelog")
    sub = verb("render", "render the live prompt of a label with variables", cmd_render)
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
    sub = verb(
        "new-version", "create the next version of a prompt from a file", cmd_new_version, writes
    )
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code  # the one place an error becomes an exit code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
