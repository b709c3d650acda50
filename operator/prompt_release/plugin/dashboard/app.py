"""`kubectl prompt dashboard`: a local web UI over the user's own kubeconfig.

Server-rendered pages (jinja2) served by aiohttp on 127.0.0.1; htmx (vendored, no CDN) swaps
a page's live region when a watch says something changed (server-sent events). Every read and
write is a request of the user to the API server: the dashboard holds no credentials of its
own and puts none in a page.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import re
import socket
import sys
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from prompt_release.plugin.client import Cluster
from prompt_release.plugin.dashboard import actions, live, pages
from prompt_release.plugin.errors import CliError, NotFoundError, UnreachableError, UsageError
from prompt_release.plugin.verbs.common import cluster as cluster_of

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CLUSTER = web.AppKey("cluster", Cluster)
JINJA = web.AppKey("jinja", jinja2.Environment)
ORIGINS = web.AppKey("origins", frozenset)
HUB = live.HUB
# Scripts and styles from the dashboard alone; never framed (no clickjacking of its buttons).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["q"] = lambda value: quote(str(value), safe="")
    environment.globals["urlencode"] = urlencode
    return environment


def _status_of(error: CliError) -> int:
    """The API server's own status when it refused (403, 409, 422, ...), else the error's."""
    answered = getattr(error.__cause__, "status", None)
    if isinstance(answered, int) and 400 <= answered < 500:
        return answered
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, UsageError):
        return 400
    return 502 if isinstance(error, UnreachableError) else 409


def render(
    request: web.Request, template_name: str, *, http_status: int = 200, **context: Any
) -> web.Response:
    template = request.app[JINJA].get_template(template_name)
    now = datetime.now(UTC).strftime("%H:%M:%S UTC")
    page = template.render(request=request, now=now, **context)
    return web.Response(text=page, status=http_status, content_type="text/html")


async def _off_loop(call: Callable[[], T]) -> T:
    """A blocking read or write of the shared client, on a worker thread."""
    return await asyncio.to_thread(call)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Only this page may ask for a write (no other site, no DNS rebinding); a `CliError`
    becomes a page that shows its message."""
    if request.app[ORIGINS] and request.host not in request.app[ORIGINS]:
        raise web.HTTPMisdirectedRequest(text=f"unexpected Host {request.host}")
    if request.method == "POST":
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site", "same-origin")
        if (origin and origin != f"http://{request.host}") or site not in ("same-origin", "none"):
            raise web.HTTPForbidden(text="cross-site request refused")
    try:
        return await handler(request)
    except CliError as error:
        return render(request, "error.html", http_status=_status_of(error), message=str(error))


NAMESPACE_NAME = live.NAMESPACE_NAME
OBJECT_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def checked_names(match_info: Mapping[str, str]) -> None:
    """A namespace or object name in the address must be one Kubernetes accepts."""
    for key, value in match_info.items():
        pattern = NAMESPACE_NAME if key == "namespace" else OBJECT_NAME
        if not pattern.fullmatch(value) or len(value) > 253:
            raise UsageError(f"{value!r} is not a valid {key} name")


def _on(request: web.Request) -> Cluster:
    checked_names(request.match_info)
    return request.app[CLUSTER].within(request.match_info["namespace"])


async def no_icon(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


async def index(request: web.Request) -> web.StreamResponse:
    on = request.app[CLUSTER]
    found = await _off_loop(on.namespaces)
    if found is None:  # may not list namespaces: the kubeconfig's own
        raise web.HTTPFound(f"/ns/{quote(on.namespace)}")
    return render(request, "index.html", namespaces=found, current=on.namespace)


def _since(request: web.Request) -> int:
    """The namespace's count of changes before a live page reads (starts its watches)."""
    return request.app[HUB].feed(request.match_info["namespace"]).changes


async def namespace(request: web.Request) -> web.StreamResponse:
    on, since = _on(request), _since(request)
    context = await _off_loop(lambda: pages.namespace_page(on))
    return render(request, "namespace.html", since=since, **context)


async def release(request: web.Request) -> web.StreamResponse:
    on, name, since = _on(request), request.match_info["name"], _since(request)
    context = await _off_loop(lambda: pages.release_page(on, name))
    done = request.query.get("done")
    return render(request, "release.html", since=since, done=done, **context)


async def version(request: web.Request) -> web.StreamResponse:
    on, name = _on(request), request.match_info["name"]
    values = {key[4:]: value for key, value in request.query.items() if key.startswith("var.")}
    context = await _off_loop(lambda: pages.version_page(on, name, values))
    return render(request, "version.html", **context)


async def diff(request: web.Request) -> web.StreamResponse:
    on = _on(request)
    a, b = request.query.get("a", ""), request.query.get("b", "")
    if not a or not b:
        raise UsageError("name two versions to compare: ?a=VERSION&b=VERSION")
    context = await _off_loop(lambda: pages.diff_page(on, a, b))
    return render(request, "diff.html", release=request.query.get("release"), **context)


async def confirm(request: web.Request) -> web.StreamResponse:
    on, name = _on(request), request.match_info["name"]
    action = request.query.get("action", "")
    params = dict(request.query)
    found = await _off_loop(lambda: actions.plan(on, name, action, params))
    return render(request, "confirm.html", namespace=on.namespace, name=name, plan=found)


async def act(request: web.Request) -> web.StreamResponse:
    """Carry out a confirmed action; a refusal shows on the confirmation, with its message."""
    on, name = _on(request), request.match_info["name"]
    form: Mapping[str, Any] = await request.post()
    params = {key: str(value) for key, value in form.items()}
    action = params.pop("action", "")
    try:
        said = await _off_loop(lambda: actions.carry_out(on, name, action, params))
    except CliError as error:
        found = await _off_loop(lambda: actions.plan(on, name, action, params))
        context = {"namespace": on.namespace, "name": name, "plan": found}
        status = _status_of(error)
        return render(request, "confirm.html", http_status=status, refused=str(error), **context)
    where = f"/ns/{quote(on.namespace)}/releases/{quote(name)}?{urlencode({'done': said})}"
    raise web.HTTPSeeOther(where)


def build_app(cluster: Cluster, origins: frozenset[str] = frozenset()) -> web.Application:
    """The dashboard; `origins`: the Host headers it answers (empty: any, behind a proxy)."""
    app = web.Application(middlewares=[guard])
    app[CLUSTER] = cluster
    app[JINJA] = _environment()
    app[ORIGINS] = origins
    app[HUB] = live.Hub(cluster)
    app.add_routes(
        [
            web.get("/", index),
            web.get("/favicon.ico", no_icon),
            web.get("/ns/{namespace}", namespace),
            web.get("/ns/{namespace}/events", live.events),
            web.get("/ns/{namespace}/diff", diff),
            web.get("/ns/{namespace}/releases/{name}", release),
            web.get("/ns/{namespace}/releases/{name}/confirm", confirm),
            web.post("/ns/{namespace}/releases/{name}/confirm", act),
            web.get("/ns/{namespace}/versions/{name}", version),
            web.static("/static", HERE / "static"),
        ]
    )

    async def stop_feeds(app: web.Application) -> None:
        app[HUB].stop()

    async def secure(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(SECURITY_HEADERS)

    app.on_response_prepare.append(secure)
    app.on_shutdown.append(stop_feeds)
    return app


def answered_hosts(address: str, port: int) -> frozenset[str]:
    """The Host headers a loopback dashboard answers; any when bound elsewhere."""
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = address == "localhost"
    if not loopback:
        return frozenset()
    host = f"[{address}]" if ":" in address else address
    return frozenset({f"{host}:{port}", f"localhost:{port}"})


async def serve(args: argparse.Namespace, cluster: Cluster) -> None:
    """Serve until interrupted; print the URL once bound (the port may be chosen for us)."""
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.address, args.port))
    except OSError as error:
        sock.close()
        raise UsageError(f"cannot listen on {args.address}:{args.port}: {error}") from error
    port = int(sock.getsockname()[1])
    app = build_app(cluster, answered_hosts(args.address, port))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    host = f"[{args.address}]" if family == socket.AF_INET6 else args.address
    url = f"http://{host}:{port}/ns/{quote(cluster.namespace)}"
    print(f"Dashboard at {url} (Ctrl-C to stop)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def cmd_dashboard(args: argparse.Namespace) -> int:
    cluster = cluster_of(args)
    try:
        asyncio.run(serve(args, cluster))
    except KeyboardInterrupt:
        print("Dashboard stopped.", file=sys.stderr)
    return 0
