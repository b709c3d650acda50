"""The pod-template annotations that declare what a workload supplies and parses, for the
operator's consumer contract gate (docs/consumers.md):

    from prompt_release.sdk.consumer import consumer_annotations

    consumer_annotations("/etc/prompts/ticket-summarizer", supplies=["ticket"])
    # {"promptrelease.io/supplies-variables": "ticket",
    #  "promptrelease.io/accepts-response-format": "sha256:…"}

or from a shell, against a mounted (or downloaded) prompt:

    python -m prompt_release.sdk.consumer /etc/prompts/ticket-summarizer [--supplies a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence

from prompt_release.core import consumers
from prompt_release.core.payload import Payload, PayloadError
from prompt_release.sdk import load_payload

__all__ = ["consumer_annotations", "main"]


def consumer_annotations(
    prompt: Payload | str | os.PathLike[str], supplies: Iterable[str] | None = None
) -> dict[str, str]:
    """The annotations a workload using `prompt` (a loaded prompt, or the directory it is
    mounted at) should carry: the variables it supplies (every declared one unless `supplies`
    names them) and the hash of the response format it parses, if the prompt has one."""
    if not isinstance(prompt, Payload):
        prompt = load_payload(prompt)
    return consumers.annotations_for(prompt.payload, supplies)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m prompt_release.sdk.consumer",
        description="print the pod-template annotations a workload using a prompt should carry",
    )
    parser.add_argument("directory", help="where the prompt's ConfigMap is mounted")
    parser.add_argument("--supplies", help="the variables the workload passes (comma separated)")
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    args = parser.parse_args(argv)
    supplies = None if args.supplies is None else consumers.parse_list(args.supplies)
    try:
        found = consumer_annotations(args.directory, supplies)
    except PayloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps(found, indent=2, sort_keys=True))
    else:
        for key in sorted(found):
            print(f"{key}: {json.dumps(found[key])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
