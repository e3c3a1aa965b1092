"""The shop's nightly cleanup: asks the api for the catalogue and reports what it would
archive (items priced at zero), then exits.

Zeppelin runs it at its schedule (`0 3 * * *`, UTC) — by the local supervisor's clock
with `zeppelin run`, as a CronJob on Kubernetes — and on demand with
`zeppelin run-job cleanup`. It needs the api ($API_ADDR), so run it while the app runs.
"""

import json
import os
import sys
import urllib.error
import urllib.request

API_ADDR = os.environ.get("API_ADDR", "127.0.0.1:8081")


def main():
    try:
        with urllib.request.urlopen(f"http://{API_ADDR}/items", timeout=5) as answer:
            catalogue = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as err:
        print(f"cleanup: the api at {API_ADDR} is unavailable: {err}", file=sys.stderr, flush=True)
        return 1
    stale = [item for item in catalogue["items"] if item["price"] == 0]
    print(
        f"cleanup: {len(catalogue['items'])} items checked, {len(stale)} to archive",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
