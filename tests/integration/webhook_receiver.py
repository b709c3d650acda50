"""A webhook receiver run as its own process by the notification tests.

`python webhook_receiver.py LOG BEHAVIOUR` listens on a free loopback port and prints it. Each
request is appended to LOG as one JSON line (when it arrived, its headers, its body) the moment
it arrives, before any answer. BEHAVIOUR is a JSON file read at each request:
`{"status": 200, "delay": 0}` answers `status` after `delay` seconds (a long delay is a receiver
that hangs). It keeps no state and dedupes nothing: the tests count what arrived.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOCK = threading.Lock()


def serve(log: Path, behaviour: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            record = {
                "at": time.time(),
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8"),
            }
            with LOCK, log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            try:
                found = json.loads(behaviour.read_text())
            except (OSError, ValueError):
                found = {}
            time.sleep(float(found.get("delay", 0)))
            status = int(found.get("status", 200))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]))
