"""A tiny service that renders the mounted prompt and tags each response with its version.

    PROMPT_DIR=/etc/prompts/ticket-summarizer python examples/summarizer_service.py

POST /summarize with form field `ticket`; the model call is left out: the response carries the
rendered prompt and the tracing attributes a real service would attach to its span.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prompt_release.sdk import MountedPrompt, RenderError

log = logging.getLogger("summarizer")
PROMPT = MountedPrompt(os.environ.get("PROMPT_DIR", "/etc/prompts/ticket-summarizer"))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        current = PROMPT.current  # one snapshot: what we render is what we tag
        try:
            text = current.render(ticket=form.get("ticket", [""])[0])
        except RenderError as error:
            self._reply(400, {"error": str(error)})
            return
        attributes = current.tracing_attributes()
        log.info("rendered %s %s", current.version, current.hash)
        self._reply(200, {"prompt": text, **attributes})

    def _reply(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    port = int(os.environ.get("PORT", "8080"))
    log.info("serving %s %s on :%d", PROMPT.name, PROMPT.version, port)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
