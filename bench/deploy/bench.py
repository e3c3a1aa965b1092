#!/usr/bin/env python3
"""Deploy benchmark: `zeppelin deploy --no-wait` against `kubectl apply --server-side -f`
of the same rendered objects, on a 20-sub app, against zeppelin-kubefake with a fixed
per-request latency; then a no-op redeploy of each.

Run from the repository root after `cargo build -p zeppelin-cli -p zeppelin-kubefake`:

    python3 bench/deploy/bench.py [--runs 5] [--latency-ms 5] [--subs 20]

Each run deploys into fresh namespaces (one app name per tool and run), so every first
deploy creates every object. Prints a Markdown table of median wall times.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
# `ZEPPELIN_PROFILE=release` measures release builds (`cargo build --release ...`).
PROFILE = os.environ.get("ZEPPELIN_PROFILE", "debug")
ZEPPELIN = os.path.join(TARGET, PROFILE, "zeppelin")
KUBEFAKE = os.path.join(TARGET, PROFILE, "zeppelin-kubefake")


def app_file(name, subs):
    parts = [f'name = "{name}"\n\n[conf]\nLOG_LEVEL = "info"\n']
    for i in range(subs):
        parts.append(
            f"""
[sub.s{i:02}]
run = "python3 app.py"
image = "registry.example/bench/s{i:02}:1.0.0"
port = {9000 + i}
replicas = 2
health = {{ http = "/healthz" }}
resources = {{ cpu = "50m", memory = "64Mi" }}
"""
        )
        if i % 4 == 0:
            parts.append("autoscale = { min = 2, max = 6, cpu_percent = 70 }\n")
    parts.append('\n[[route]]\nhost = "bench.localhost"\npath = "/"\nsub = "s00"\n')
    return "".join(parts)


def timed(cmd, cwd, env):
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--subs", type=int, default=20)
    args = parser.parse_args()
    for binary in (ZEPPELIN, KUBEFAKE):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing; run cargo build -p zeppelin-cli -p zeppelin-kubefake")
    if not shutil.which("kubectl"):
        sys.exit("kubectl is not on PATH")
    work = tempfile.mkdtemp(prefix="zeppelin-bench-deploy-")
    kubeconfig = os.path.join(work, "kubeconfig")
    server = subprocess.Popen(
        [KUBEFAKE, "--port", "0", "--kubeconfig", kubeconfig, "--no-controllers",
         "--latency-ms", str(args.latency_ms)],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in server.stderr:
            if "press Ctrl-C" in line:
                break
        env = dict(os.environ, KUBECONFIG=kubeconfig, NO_COLOR="1")
        env["HOME"] = work  # kubectl's discovery cache starts empty and stays per run
        env.pop("ZEPPELIN_FILE", None)
        results = {"zeppelin first": [], "kubectl first": [], "zeppelin no-op": [], "kubectl no-op": []}
        objects = 0
        for run in range(args.runs):
            for tool in ("zeppelin", "kubectl"):
                name = f"bench-{tool[0]}{run}"
                folder = os.path.join(work, name)
                os.makedirs(folder)
                with open(os.path.join(folder, "zeppelin.toml"), "w") as f:
                    f.write(app_file(name, args.subs))
                if tool == "zeppelin":
                    cmd = [ZEPPELIN, "deploy", "--no-wait"]
                else:
                    rendered = subprocess.run([ZEPPELIN, "render", "--include-secrets"], cwd=folder,
                                              env=env, capture_output=True, text=True, check=True)
                    with open(os.path.join(folder, "objects.yaml"), "w") as f:
                        f.write(rendered.stdout)
                    objects = len(re.findall(r"^kind: ", rendered.stdout, re.M))
                    cmd = ["kubectl", "apply", "--server-side", "--field-manager", "bench", "-f", "objects.yaml"]
                results[f"{tool} first"].append(timed(cmd, folder, env))
                results[f"{tool} no-op"].append(timed(cmd, folder, env))
        print(f"{args.subs} subs, {objects} objects, {args.latency_ms} ms added to every request, "
              f"median of {args.runs} runs\n")
        print("| case | zeppelin deploy --no-wait | kubectl apply --server-side | zeppelin / kubectl |")
        print("|---|---|---|---|")
        for case in ("first", "no-op"):
            z = statistics.median(results[f"zeppelin {case}"])
            k = statistics.median(results[f"kubectl {case}"])
            print(f"| {case} deploy | {z * 1000:.0f} ms | {k * 1000:.0f} ms | {z / k:.2f} |")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
