"""`prompt-release-operator run`: the operator process."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_release import __version__

if TYPE_CHECKING:
    from prompt_release.core.notify_config import NotifyConfig
    from prompt_release.operator.token_counter import TokenCounter


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="prompt-release-operator",
        description="Reconcile PromptVersions and PromptReleases into ConfigMaps.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub.add_parser("run", help="run the operator until stopped"))
    sub.add_parser("version", help="print the version")
    _add_cleanup(
        sub.add_parser(
            "cleanup",
            help="after uninstalling the operator: remove its finalizer from every prompt object",
            description="Remove the finalizer promptrelease.io/in-use-protection from "
            "PromptVersions and PromptReleases, so that deleting them, their namespace or the "
            "CRDs never waits for an operator that is gone. Stop the operator first: while it "
            "runs it puts the finalizer back on the versions releases hold.",
        )
    )
    return parser.parse_args(argv)


def _add_run(run: argparse.ArgumentParser) -> None:
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable; globs allowed)",
    )
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch every namespace (the default when no --namespace)",
    )
    run.add_argument(
        "--peering",
        default=None,
        metavar="NAME",
        help="coordinate replicas through this kopf peering object (HA); "
        "without it the operator runs standalone, as one replica",
    )
    run.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority of this replica (default: random, so replicas never tie)",
    )
    run.add_argument(
        "--peering-lifetime",
        type=int,
        default=60,
        metavar="SECONDS",
        help="how long a silent replica counts as alive (default 60)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port (/metrics)",
    )
    _add_prometheus(run)
    run.add_argument(
        "--liveness", default=None, help="health endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument(
        "--compact-stores",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep watched prompt objects and ConfigMaps as JSON bytes (less memory; default)",
    )
    run.add_argument(
        "--tokens-in-process",
        action="store_true",
        help="count lint's tokens in the operator's own process, keeping the vocabulary loaded "
        "(default: in a child process that leaves after 30 s without a count)",
    )
    run.add_argument(
        "--notifications-config",
        default=None,
        metavar="FILE",
        help="YAML of the webhook sinks releases may subscribe to (docs/notifications.md); "
        "without it no notifications are delivered",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def _add_prometheus(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--prometheus-url",
        default=None,
        metavar="URL",
        help="the Prometheus canary analyses and verification windows query, "
        "e.g. http://prometheus.monitoring:9090",
    )
    run.add_argument(
        "--prometheus-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long one analysis query may take; slower is inconclusive (default 5)",
    )


def _add_cleanup(cleanup: argparse.ArgumentParser) -> None:
    where = cleanup.add_mutually_exclusive_group(required=True)
    where.add_argument("-n", "--namespace", action="append", default=[], help="repeatable")
    where.add_argument("-A", "--all-namespaces", action="store_true")
    cleanup.add_argument("--kubeconfig", default=None)
    cleanup.add_argument("--context", default=None)


SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def own_namespace() -> str:
    """The operator's namespace (where the sinks' Secrets live unless they name another)."""
    found = os.environ.get("POD_NAMESPACE", "")
    if not found and SERVICE_ACCOUNT_NAMESPACE.exists():
        found = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return found


def load_notifications(path: str | None) -> NotifyConfig | None:
    """The sinks file, checked whole before the operator starts (a typo fails the start)."""
    if path is None:
        return None
    import yaml

    from prompt_release.core.notify_config import parse

    with open(path, encoding="utf-8") as found:
        try:
            loaded = yaml.safe_load(found)
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not YAML: {error}") from error
    return parse(loaded or {}, own_namespace())


def _cleanup(args: argparse.Namespace) -> int:
    from prompt_release.kube import OPERATOR_AGENT, Kube
    from prompt_release.operator.cleanup import cleanup

    kube = Kube.connect(args.kubeconfig, args.context, 30, OPERATOR_AGENT, retries=1)
    cleanup(kube, None if args.all_namespaces else args.namespace)
    return 0


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("kubernetes", "kopf.objects", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "cleanup":
        return _cleanup(args)
    import random

    from prompt_release.connection import ConfigError
    from prompt_release.kube import Kube

    try:
        kube = Kube.in_operator()
    except (ConfigError, OSError, ValueError) as error:
        print(f"prompt-release-operator: cannot load credentials: {error}", file=sys.stderr)
        return 1

    import kopf

    from prompt_release.core.validation import API_SERVER_MAX_JSON_DEPTH
    from prompt_release.operator import metrics
    from prompt_release.operator.manager import Manager
    from prompt_release.operator.options import Options

    _configure_logging(args.log_level)
    # The API server stores objects nested up to 10,000 deep (in free-form model.parameters);
    # reading one must not stop the watch (json's RecursionError), so validation can refuse it.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * API_SERVER_MAX_JSON_DEPTH))
    try:
        notifications = load_notifications(args.notifications_config)
    except (OSError, ValueError) as error:
        print(f"prompt-release-operator: --notifications-config: {error}", file=sys.stderr)
        return 1
    options = Options(
        peering_lifetime=args.peering_lifetime,
        compact_stores=args.compact_stores,
        notifications=notifications,
        prometheus_url=args.prometheus_url,
        prometheus_timeout=args.prometheus_timeout,
    )
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    counter = None if args.tokens_in_process else _count_tokens_apart()
    priority = args.priority if args.priority is not None else random.randint(1, 1_000_000)
    try:
        kopf.run(
            registry=Manager(kube, options, args.namespace).registry(),
            standalone=args.peering is None,
            peering_name=args.peering,
            priority=priority,
            namespaces=args.namespace,
            clusterwide=not args.namespace,
            liveness_endpoint=args.liveness,
        )
    finally:
        if counter is not None:
            counter.close()
    return 0


def _count_tokens_apart() -> TokenCounter:
    """Lint counts tokens in a child process (`operator/token_counter.py`)."""
    from prompt_release.core import tokens
    from prompt_release.operator.token_counter import TokenCounter

    counter = TokenCounter()
    tokens.use(counter)
    return counter


if __name__ == "__main__":
    sys.exit(main())
