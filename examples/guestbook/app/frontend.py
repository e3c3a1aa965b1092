"""The guestbook's page: lists the entries kept in Redis and adds one per form post.

Listens on $PORT and finds Redis at $REDIS_ADDR (`127.0.0.1:6379` under `zeppelin run`,
`redis:6379` on Kubernetes), so the same code runs in both places. It speaks Redis's
protocol (RESP) itself, with Python's standard library only:

    GET  /          the entries as an HTML page, with a form to add one
    GET  /entries   the entries as a JSON list of strings
    POST /entries   form field `entry`: appended (RPUSH), then a 303 back to /
    GET  /healthz   200 while Redis answers PING, 503 otherwise

When Redis cannot be reached (it is restarting, scaled to 0), pages answer 503 saying
so; the frontend itself keeps running.
"""

import html
import json
import os
import signal
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_ADDR = os.environ.get("REDIS_ADDR", "127.0.0.1:6379")
REPLICA = os.environ.get("ZEPPELIN_REPLICA", "0")
KEY = b"guestbook"
# A form post larger than this is refused (413) before it is read.
MAX_BODY = 64 * 1024


class RedisError(Exception):
    """Redis could not be reached, broke the protocol, or answered with an error."""


def redis(*args, timeout=2.0):
    """Sends one command to $REDIS_ADDR on a new connection and returns its reply.

    A new connection per command keeps the frontend right across Redis restarts, at a
    cost that does not matter for a guestbook.
    """
    host, _, port = REDIS_ADDR.rpartition(":")
    if not host or not port.isdigit():
        raise RedisError(f"REDIS_ADDR={REDIS_ADDR!r} is not HOST:PORT")
    try:
        # An IPv6 address comes as `[::1]:6379`.
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            conn.sendall(encode(args))
            with conn.makefile("rb") as reader:
                return decode(reader)
    except OSError as err:
        raise RedisError(f"Redis at {REDIS_ADDR} did not answer: {err}") from err
    except ValueError as err:
        raise RedisError(f"Redis at {REDIS_ADDR} sent a malformed reply: {err}") from err


def encode(args):
    """A command as RESP: an array of bulk strings, each prefixed by its length in bytes."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def decode(reader):
    """Reads one RESP2 reply: bytes, int, None, a list of replies, or raises RedisError."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError(f"Redis at {REDIS_ADDR} closed the connection mid-reply")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(f"Redis at {REDIS_ADDR} refused: {rest.decode(errors='replace')}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = reader.read(length + 2)  # the bytes as they are, then CRLF
        if len(data) != length + 2 or not data.endswith(b"\r\n"):
            raise RedisError(f"Redis at {REDIS_ADDR} cut a reply short")
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [decode(reader) for _ in range(count)]
    raise RedisError(f"Redis at {REDIS_ADDR} sent an unknown reply type {kind!r}")


def entries():
    """Every entry, oldest first, as text (bytes that are not UTF-8 shown as U+FFFD)."""
    return [e.decode("utf-8", errors="replace") for e in redis(b"LRANGE", KEY, 0, -1)]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/healthz":
                redis(b"PING", timeout=1.0)
                self.reply(200, "text/plain", "ok\n")
            elif path == "/":
                self.reply(200, "text/html; charset=utf-8", page(entries()))
            elif path == "/entries":
                listing = json.dumps(entries(), ensure_ascii=False)
                self.reply(200, "application/json; charset=utf-8", listing + "\n")
            else:
                self.reply(404, "text/plain", f"no page at {self.path}; try /\n")
        except RedisError as err:
            self.reply(503, "text/plain", f"{err}\n")

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/entries":
            self.reply(404, "text/plain", f"nothing to post at {self.path}; try /entries\n")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.reply(400, "text/plain", "the Content-Length header is not a byte count\n")
            return
        if length > MAX_BODY:
            self.reply(413, "text/plain", f"a form post may have at most {MAX_BODY} bytes\n")
            return
        body = self.rfile.read(length)
        try:
            form = urllib.parse.parse_qs(
                body.decode("ascii"), keep_blank_values=True, errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            self.reply(400, "text/plain", "the form is not URL-encoded UTF-8\n")
            return
        entry = form.get("entry", [""])[0]
        if not entry.strip():
            self.reply(400, "text/plain", "the form field `entry` is missing or empty\n")
            return
        try:
            redis(b"RPUSH", KEY, entry.encode())
        except RedisError as err:
            self.reply(503, "text/plain", f"{err}; the entry was not saved\n")
            return
        # Acknowledged: Redis has the entry (on disk, with `--appendfsync always`).
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()

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


def page(items):
    """The HTML page: every entry escaped, its line breaks kept."""
    rows = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return (
        "<!doctype html><meta charset=utf-8><title>Guestbook</title>"
        "<style>li { white-space: pre-wrap }</style><h1>Guestbook</h1>"
        f"<ul>{rows}</ul>"
        '<form method=post action="/entries"><textarea name=entry required></textarea>'
        "<button>Sign</button></form>"
        f"<p>frontend.{REPLICA}, {len(items)} entries</p>\n"
    )


def serve():
    """Serves on $PORT until SIGTERM or SIGINT, then lets open requests finish."""
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), port), Handler)
    server.daemon_threads = False
    stop = lambda *_: threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"frontend listening on port {port}, Redis at {REDIS_ADDR}", flush=True)
    server.serve_forever()
    server.server_close()
    print("frontend stopped", flush=True)


if __name__ == "__main__":
    serve()
