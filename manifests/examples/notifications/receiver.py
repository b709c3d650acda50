"""A minimal receiver for the operator's webhook sink: it checks the signature and keeps each
CloudEvent id once (deliveries are at least once; the id is the same for the same transition).

    WEBHOOK_KEY=<the Secret's key> python receiver.py 8080
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

KEY = os.environ["WEBHOOK_KEY"].encode()
SEEN: set[str] = set()  # a real receiver keeps this in its database (a unique key on id)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        expected = "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers.get("X-Prompt-Release-Signature", "")):
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in SEEN:  # a repeat is acknowledged, and not acted on twice
            SEEN.add(event["id"])
            data = event["data"]
            print(event["type"], event["subject"], data.get("revision"), flush=True)
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("", int(sys.argv[1])), Handler).serve_forever()
