"""Side-by-side benchmarks of the local runtime against pm2, supervisord and honcho.

    python3 bench/local/bench.py --zeppelin target/debug/zeppelin \
        --pm2 /path/to/node_modules/.bin/pm2 --pythonpath /path/with/supervisor-and-honcho

Measures, on the same tiny HTTP server (server.py):
  * start: seconds from the start command until 50 replicas answer HTTP (Zeppelin: until
    `zeppelin run -d` returns, which is when its HTTP health checks passed);
  * memory: the supervisor's resident memory while it runs 100 processes (`sleep`);
  * status: median latency of the status command (`zeppelin ps`, `pm2 jlist`,
    `supervisorctl status`) with those 100 processes;
  * logs: Zeppelin's log capture throughput against the same writer going straight to a file.
Prints a Markdown table; nothing here asserts, the figures go to BENCHMARKS.md.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# The interpreter itself, not a version-manager shim on PATH, so every tool starts the same thing.
PY = sys.executable
SERVER = os.path.join(HERE, "server.py")
WRITER = os.path.join(HERE, "writer.py")
REPLICAS = 50
PROCESSES = 100
STATUS_RUNS = 30
LOG_LINES = 1_000_000
ROUNDS = 3
DEADLINE = 300


def free_port_block(count):
    """A base port whose next `count` ports are free now."""
    for base in range(20000, 60000, 500):
        try:
            socks = []
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                socks.append(s)
            for s in socks:
                s.close()
            return base
        except OSError:
            for s in socks:
                s.close()
    raise SystemExit("no free block of ports")


def wait_http(ports):
    deadline = time.monotonic() + DEADLINE
    pending = set(ports)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} servers never answered")
        for port in list(pending):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5) as r:
                    if r.status == 200:
                        pending.discard(port)
            except OSError:
                pass
        time.sleep(0.01)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def median_ms(command, env=None, cwd=None):
    times = []
    for _ in range(STATUS_RUNS):
        t0 = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def wait_count(pid_fn, count):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if pid_fn() >= count:
            return
        time.sleep(0.05)
    raise SystemExit("processes never all started")


def children_of(pid):
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    total += 1
            except OSError:
                pass
    return total


# --- Zeppelin ---------------------------------------------------------------------------

def zeppelin_app(dir, body):
    with open(os.path.join(dir, "zeppelin.toml"), "w") as f:
        f.write('name = "bench"\n' + body)


def zeppelin(args, dir):
    zep = [ARGS.zeppelin]
    return subprocess.run(zep + args, cwd=dir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def zeppelin_start(dir):
    port = free_port_block(1)
    zeppelin_app(dir, f'[sub.web]\nrun = "exec {PY} {SERVER}"\nport = {port}\nreplicas = {REPLICAS}\n'
                 'health = { http = "/", interval = "1s" }\n')
    t0 = time.perf_counter()
    zeppelin(["run", "-d", "--timeout", "300s"], dir)
    elapsed = time.perf_counter() - t0
    zeppelin(["stop"], dir)
    return elapsed


def zeppelin_many(dir):
    zeppelin_app(dir, f'[sub.sleeper]\nrun = "exec sleep 3600"\nreplicas = {PROCESSES}\n')
    zeppelin(["run", "-d", "--timeout", "300s"], dir)
    pid = int(open(os.path.join(dir, ".zeppelin/supervisor.pid")).read())
    time.sleep(2)
    rss = rss_kib(pid)
    status = median_ms([ARGS.zeppelin, "ps"], cwd=dir)
    zeppelin(["stop"], dir)
    return rss, status


def zeppelin_logs(dir):
    start_file = os.path.join(dir, "start")
    zeppelin_app(dir, f'[sub.writer]\nrun = "exec {PY} {WRITER}"\nrestart = "never"\n'
                 f'env = {{ LINES = "{LOG_LINES}", START_FILE = "{start_file}" }}\n[logs]\nmax_size = "4Gi"\n')
    zeppelin(["run", "-d"], dir)
    log = os.path.join(dir, "log/writer.log")
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            with open(log, "rb") as f:
                f.seek(max(0, os.path.getsize(log) - 64))
                if f.read().endswith(b" DONE\n"):
                    break
        except OSError:
            pass
        time.sleep(0.005)
    end = time.time()
    start = float(open(start_file).read())
    lines = sum(1 for _ in open(log, "rb"))
    zeppelin(["stop"], dir)
    return LOG_LINES / (end - start), lines == LOG_LINES + 1


def straight_logs(dir):
    start_file = os.path.join(dir, "start-straight")
    out = os.path.join(dir, "straight.log")
    env = dict(os.environ, LINES=str(LOG_LINES), START_FILE=start_file)
    with open(out, "wb") as f:
        subprocess.run([sys.executable, WRITER], stdout=f, env=env, check=True)
    end = time.time()
    return LOG_LINES / (end - float(open(start_file).read()))


# --- pm2 ---------------------------------------------------------------------------------

def pm2_env(dir):
    return dict(os.environ, PM2_HOME=os.path.join(dir, "pm2"))


def pm2_start(dir):
    base = free_port_block(REPLICAS)
    apps = [{"name": f"web-{i}", "script": SERVER, "interpreter": PY, "env": {"PORT": str(base + i)},
             "autorestart": True} for i in range(REPLICAS)]
    eco = os.path.join(dir, "ecosystem.config.json")
    json.dump({"apps": apps}, open(eco, "w"))
    env = pm2_env(dir)
    t0 = time.perf_counter()
    subprocess.run([ARGS.pm2, "start", eco], env=env, check=True, stdout=subprocess.DEVNULL)
    wait_http(range(base, base + REPLICAS))
    elapsed = time.perf_counter() - t0
    subprocess.run([ARGS.pm2, "kill"], env=env, check=True, stdout=subprocess.DEVNULL)
    return elapsed


def pm2_many(dir):
    apps = [{"name": f"s-{i}", "script": "sleep", "args": "3600", "interpreter": "none"} for i in range(PROCESSES)]
    eco = os.path.join(dir, "many.config.json")
    json.dump({"apps": apps}, open(eco, "w"))
    env = pm2_env(dir)
    subprocess.run([ARGS.pm2, "start", eco], env=env, check=True, stdout=subprocess.DEVNULL)
    pid = int(open(os.path.join(dir, "pm2/pm2.pid")).read())
    wait_count(lambda: children_of(pid), PROCESSES)
    time.sleep(2)
    rss = rss_kib(pid)
    status = median_ms([ARGS.pm2, "jlist"], env=env)
    subprocess.run([ARGS.pm2, "kill"], env=env, check=True, stdout=subprocess.DEVNULL)
    return rss, status


# --- supervisord ---------------------------------------------------------------------------

def supervisor_conf(dir, program):
    sock = os.path.join(dir, "supervisor.sock")
    conf = os.path.join(dir, "supervisord.conf")
    open(conf, "w").write(f"""[unix_http_server]
file={sock}
[supervisord]
nodaemon=true
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{sock}
{program}
""")
    return conf


def py_env():
    return dict(os.environ, PYTHONPATH=ARGS.pythonpath)


def supervisord_start(dir):
    base = free_port_block(REPLICAS)
    conf = supervisor_conf(dir, f"""[program:web]
command=sh -c 'PORT=$((%(process_num)d + {base})) exec {PY} {SERVER}'
process_name=%(program_name)s_%(process_num)02d
numprocs={REPLICAS}
startsecs=0
""")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", conf], env=py_env())
    wait_http(range(base, base + REPLICAS))
    elapsed = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return elapsed


def supervisord_many(dir):
    conf = supervisor_conf(dir, f"""[program:sleeper]
command=sleep 3600
process_name=%(program_name)s_%(process_num)02d
numprocs={PROCESSES}
startsecs=0
""")
    proc = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", conf], env=py_env())
    wait_count(lambda: children_of(proc.pid), PROCESSES)
    time.sleep(2)
    rss = rss_kib(proc.pid)
    status = median_ms([sys.executable, "-m", "supervisor.supervisorctl", "-c", conf, "status"], env=py_env())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return rss, status


# --- honcho --------------------------------------------------------------------------------

def honcho_start(dir):
    base = free_port_block(REPLICAS)
    open(os.path.join(dir, "Procfile"), "w").write(f"web: exec {PY} {SERVER}\n")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-c", f"web={REPLICAS}", "-p", str(base)],
                            cwd=dir, env=py_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(range(base, base + REPLICAS))
    elapsed = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return elapsed


def honcho_many(dir):
    open(os.path.join(dir, "Procfile"), "w").write("sleeper: exec sleep 3600\n")
    proc = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-c", f"sleeper={PROCESSES}"],
                            cwd=dir, env=py_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_count(lambda: children_of(proc.pid), PROCESSES)
    time.sleep(2)
    rss = rss_kib(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return rss, None


def fresh(name):
    path = tempfile.mkdtemp(prefix=f"zbench-{name}-")
    return path


def main():
    tools = [
        ("zeppelin", zeppelin_start, zeppelin_many),
        ("pm2", pm2_start, pm2_many),
        ("supervisord", supervisord_start, supervisord_many),
        ("honcho", honcho_start, honcho_many),
    ]
    # Rounds interleave the tools, and medians are reported, so a busy moment on the machine
    # does not favour one tool.
    starts = {name: [] for name, _, _ in tools}
    for _ in range(ROUNDS):
        for name, start, _ in tools:
            starts[name].append(start(fresh(name)))
            print(f"{name}: {starts[name][-1]:.2f}s to {REPLICAS} healthy", file=sys.stderr)
    rows = []
    for name, _, many in tools:
        rss, status = many(fresh(name))
        rows.append((name, statistics.median(starts[name]), rss, status))
    captured, straight, complete = [], [], True
    for _ in range(ROUNDS):
        rate, kept = zeppelin_logs(fresh("logs"))
        captured.append(rate)
        complete &= kept
        straight.append(straight_logs(fresh("straight")))
    captured, straight = statistics.median(captured), statistics.median(straight)
    print(f"| tool | start to {REPLICAS} healthy (median of {ROUNDS}) | supervisor RSS at {PROCESSES} processes | status command (median of {STATUS_RUNS}) |")
    print("|---|---|---|---|")
    for name, elapsed, rss, status in rows:
        shown = "n/a" if status is None else f"{status:.1f} ms"
        print(f"| {name} | {elapsed:.2f} s | {rss / 1024:.1f} MiB | {shown} |")
    print()
    print(f"Log capture (median of {ROUNDS}): {captured:,.0f} lines/s through Zeppelin ({'all' if complete else 'NOT all'} "
          f"{LOG_LINES:,} lines kept) against {straight:,.0f} lines/s straight to a file "
          f"({100 * captured / straight:.0f}%).")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--zeppelin", required=True)
    parser.add_argument("--pm2", required=True)
    parser.add_argument("--pythonpath", required=True)
    ARGS = parser.parse_args()
    ARGS.zeppelin = os.path.abspath(ARGS.zeppelin)
    main()
