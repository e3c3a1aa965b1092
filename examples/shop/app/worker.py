"""The shop's background worker: every $WORK_INTERVAL seconds it values the stock.

It has no port. It proves it is alive by touching a heartbeat file, which its health
check (`python3 app/worker.py --check`) reads.
"""

import hashlib
import json
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPLICA = os.environ.get("ZEPPELIN_REPLICA", "0")
INTERVAL = float(os.environ.get("WORK_INTERVAL", "5"))
API_ADDR = os.environ.get("API_ADDR", "127.0.0.1:8081")
FOLDER = hashlib.sha256(os.getcwd().encode()).hexdigest()[:12]
HEARTBEAT = os.path.join(tempfile.gettempdir(), f"shop-worker-{FOLDER}-{REPLICA}.heartbeat")


def check():
    """Exit 0 when the heartbeat is fresh: the loop ran within three intervals."""
    try:
        age = time.time() - os.path.getmtime(HEARTBEAT)
    except OSError:
        print(f"no heartbeat at {HEARTBEAT}", file=sys.stderr)
        return 1
    return 0 if age < 3 * INTERVAL else 1


def work():
    try:
        with urllib.request.urlopen(f"http://{API_ADDR}/items", timeout=2) as answer:
            catalogue = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as err:
        print(f"api at {API_ADDR} unavailable: {err}", flush=True)
        return
    total = sum(item["price"] for item in catalogue["items"]) / 100
    print(
        f"stock of {len(catalogue['items'])} items is worth "
        f"{total:.2f} {catalogue['currency']} (from api.{catalogue['replica']})",
        flush=True,
    )


def main():
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    print(f"worker started, every {INTERVAL:g}s", flush=True)
    while not stopping:
        work()
        with open(HEARTBEAT, "w") as beat:
            beat.write(str(time.time()))
        deadline = time.monotonic() + INTERVAL
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    try:
        os.unlink(HEARTBEAT)
    except OSError:
        pass
    print("worker stopped", flush=True)


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else main())
