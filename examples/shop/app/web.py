"""The shop's storefront: an HTML page built from the api's catalogue.

Listens on $PORT and finds the api at $API_ADDR (`127.0.0.1:8081` under `zeppelin run`,
`api:8081` on Kubernetes), so the same code runs in both places.
"""

import html
import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

from api import REPLICA, serve

API_ADDR = os.environ.get("API_ADDR", "127.0.0.1:8081")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, "text/plain", "ok\n")
        elif self.path == "/":
            self.storefront()
        else:
            self.reply(404, "text/plain", f"no page at {self.path}\n")

    def storefront(self):
        try:
            with urllib.request.urlopen(f"http://{API_ADDR}/items", timeout=2) as answer:
                catalogue = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError) as err:
            self.reply(502, "text/plain", f"the api at {API_ADDR} did not answer: {err}\n")
            return
        rows = "".join(
            f"<li>{html.escape(i['name'])}: {i['price'] / 100:.2f} {catalogue['currency']}</li>"
            for i in catalogue["items"]
        )
        page = (
            "<!doctype html><title>Shop</title><h1>Shop</h1>"
            f"<ul>{rows}</ul><p>web.{REPLICA}, api.{catalogue['replica']}</p>\n"
        )
        self.reply(200, "text/html; charset=utf-8", page)

    def reply(self, status, content_type, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        if self.path != "/healthz":
            print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)


if __name__ == "__main__":
    serve("web", Handler)
