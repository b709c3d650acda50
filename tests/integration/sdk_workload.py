"""A workload as a local process (kwok's pods run no containers): it serves requests from a
mounted prompt through the SDK, `select()`ing stable or canary per request, records each
response's outcome, and serves /metrics for Prometheus to scrape.

    python -m tests.integration.sdk_workload --dir MOUNT --port 9100 \\
        --errors stable=0.01 --errors canary=0.5 --errors summarizer-v3=0.4 --seconds 600

--errors gives the error rate of a variant (stable, canary) or of a version by name (which
wins). Errors are deterministic (every 1/rate-th response fails), so the error rate Prometheus
sees is the one asked for. It stops by itself after --seconds.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

from prompt_release.sdk import MountedPrompt, serve_info


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--errors", action="append", default=[], metavar="WHO=RATE")
    parser.add_argument("--rate", type=float, default=25.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop after this long")
    args = parser.parse_args()
    prompt = MountedPrompt(args.dir, check_interval=0.2)
    server = serve_info(args.port, prompt, address="127.0.0.1")
    rates = {who: float(rate) for who, rate in (item.split("=", 1) for item in args.errors)}
    served: dict[str, int] = {}
    ends = time.monotonic() + args.seconds
    try:
        for n in itertools.count():
            if time.monotonic() > ends:
                break
            chosen = prompt.select(key=f"user-{n}")
            variant = chosen.variant or "stable"
            who = chosen.version if chosen.version in rates else variant
            served[who] = count = served.get(who, 0) + 1
            rate = rates.get(who, 0.0)
            failed = math.floor(count * rate) > math.floor((count - 1) * rate)
            with prompt.track(chosen) as call:
                chosen.render(ticket=f"ticket {n}")
                call.tokens(120, 30)
                call.cost(0.0004)
                if failed:
                    call.fail()
            time.sleep(1 / args.rate)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
