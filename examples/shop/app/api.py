"""The shop's API: a JSON catalogue of items.

Listens on $PORT. Zeppelin runs several replicas behind one address ($API_ADDR for the
others), so every answer says which replica ($ZEPPELIN_REPLICA) served it.
"""

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLICA = os.environ.get("ZEPPELIN_REPLICA", "0")
CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")
ITEMS = [
    {"id": 1, "name": "Airship model", "price": 4900},
    {"id": 2, "name": "Hydrogen balloon", "price": 1250},
    {"id": 3, "name": "Pilot's goggles", "price": 3100},
]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, {"status": "ok"})
        elif self.path == "/items":
            self.reply(200, {"currency": CURRENCY, "items": ITEMS, "replica": REPLICA})
        elif self.path.startswith("/items/"):
            item = next((i for i in ITEMS if f"/items/{i['id']}" == self.path), None)
            if item is None:
                self.reply(404, {"error": f"no item at {self.path}"})
            else:
                self.reply(200, {"currency": CURRENCY, "item": item, "replica": REPLICA})
        else:
            self.reply(404, {"error": f"no route {self.path}; try /items"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        if os.environ.get("LOG_LEVEL", "info") == "debug" or not self.path == "/healthz":
            print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)


def serve(name, handler):
    """Serves on $PORT until SIGTERM or SIGINT, then lets open requests finish."""
    port = int(os.environ.get("PORT", "8081"))
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), port), handler)
    server.daemon_threads = False
    stop = lambda *_: threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{name} listening on port {port}", flush=True)
    server.serve_forever()
    server.server_close()
    print(f"{name} stopped", flush=True)


if __name__ == "__main__":
    serve("api", Handler)
