#!/usr/bin/env python3
"""Side-by-side benchmark of the real etcd 3.4 and etcd-rs (driven by bench/compare.sh).

For each server binary in turn (the real one first), and for a single member
and then three members on loopback, it starts the server(s) with the same
flags on the same disk, runs the same bounded workloads with our `benchmark`
tool (which talks plain etcd gRPC to both), and measures start-up time, peak
RSS and (single member) restart time with N revisions in the data dir. It
cross-checks the benchmark's put count against each server's own
`etcd_mvcc_put_total`. It prints one markdown table and writes it to
bench/results-<date>.md.

Every process it starts is stopped by its PID (SIGTERM, then SIGKILL after a
bounded wait) and every temp dir is removed, also on errors and Ctrl-C.
Environment: BENCH_REVISIONS (default 1000000), BENCH_SCALE (multiplies the
workload totals, default 1.0), BENCH_OUT (results file).
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
BENCH_TIMEOUT_S = 900.0
POLL_S = 0.005


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_range_ok(port):
    """One linearizable range through the JSON gateway; True when it succeeds."""
    body = json.dumps({"key": base64.b64encode(b"bench-probe").decode()}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v3/kv/range", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            return r.status == 200 and b"header" in r.read()
    except Exception:
        return False


def gateway_put(port, key, value):
    body = json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v3/kv/put", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def scrape(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise RuntimeError(f"{name} missing from /metrics on port {port}")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Cluster:
    """N members of one binary on loopback, data under `root`."""

    def __init__(self, binary, size, root):
        self.binary, self.size, self.root = binary, size, root
        self.members = []
        for i in range(size):
            self.members.append({"name": f"m{i}", "client": free_port(), "peer": free_port(), "proc": None})
        self.initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in self.members)

    def endpoints(self):
        return ",".join(f"127.0.0.1:{m['client']}" for m in self.members)

    def _spawn(self, m, state):
        data = os.path.join(self.root, m["name"])
        args = [
            self.binary, "--name", m["name"], "--data-dir", data,
            "--listen-client-urls", f"http://127.0.0.1:{m['client']}",
            "--advertise-client-urls", f"http://127.0.0.1:{m['client']}",
            "--listen-peer-urls", f"http://127.0.0.1:{m['peer']}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{m['peer']}",
            "--initial-cluster", self.initial, "--initial-cluster-state", state,
            "--initial-cluster-token", "bench-cluster",
        ]
        log = open(os.path.join(self.root, m["name"] + ".log"), "ab")
        m["proc"] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def start(self, state="new"):
        # A restart reuses the data dirs; etcd then ignores the initial-cluster flags.
        """Starts every member; returns seconds until member 0 served a request."""
        t0 = time.monotonic()
        for m in self.members:
            self._spawn(m, state)
        deadline = t0 + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for m in self.members:
                if m["proc"].poll() is not None:
                    raise RuntimeError(f"{m['name']} exited early; see {self.root}/{m['name']}.log")
            if all(gateway_range_ok(m["client"]) for m in self.members[:1]):
                return time.monotonic() - t0
            time.sleep(POLL_S)
        raise RuntimeError(f"{self.binary} not ready within {READY_TIMEOUT_S}s")

    def peak_rss_mib(self):
        return max(vm_hwm_kib(m["proc"].pid) for m in self.members) / 1024.0

    def stop(self):
        for m in self.members:
            p = m["proc"]
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for m in self.members:
            p = m["proc"]
            if p is None:
                continue
            try:
                p.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            m["proc"] = None


def bench(tool, endpoints, args):
    """Runs one benchmark; returns its JSON line."""
    cmd = [tool, f"--endpoints={endpoints}"] + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=BENCH_TIMEOUT_S, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def workloads(scale):
    def n(x):
        return str(max(1, int(x * scale)))

    small, big = ["--clients=1", "--conns=1"], ["--clients=1000", "--conns=100"]
    return [
        ("put, 1 client", small + ["put", "--total=" + n(2000), "--val-size=256", "--key-space-size=100000"]),
        ("put, 1000 clients/100 conns", big + ["put", "--total=" + n(20000), "--val-size=256", "--key-space-size=100000"]),
        ("range l, 1 client", small + ["range", "bench-key", "--consistency=l", "--total=" + n(5000)]),
        ("range l, 1000 clients/100 conns", big + ["range", "bench-key", "--consistency=l", "--total=" + n(40000)]),
        ("range s, 1 client", small + ["range", "bench-key", "--consistency=s", "--total=" + n(5000)]),
        ("range s, 1000 clients/100 conns", big + ["range", "bench-key", "--consistency=s", "--total=" + n(40000)]),
        ("txn-put, 1000 clients/100 conns", big + ["txn-put", "--total=" + n(20000), "--val-size=256", "--key-space-size=100000"]),
        ("watch fan-out, 100 watchers", ["--clients=100", "--conns=10", "watch-latency", "--total=" + n(200), "--put-rate=0"]),
    ]


def measure(server, tool, size, scale, revisions, root):
    """All numbers for one server binary and cluster size: {row: value}."""
    out = {}
    c = Cluster(server, size, tempfile.mkdtemp(prefix=f"c{size}-", dir=root))
    try:
        out["start-up to first request (ms)"] = c.start() * 1000.0
        eps = c.endpoints()
        port0 = c.members[0]["client"]
        bench(tool, eps, ["put", "--total=1", "--key-size=9", "--sequential-keys"])  # warm-up
        for name, args in workloads(scale):
            if args[2] == "range":
                gateway_put(port0, b"bench-key", b"v" * 256)
            puts_before = scrape(port0, "etcd_mvcc_put_total")
            j = bench(tool, eps, args)
            rep = j["reports"][0]
            unit = "events/s" if name.startswith("watch") else "req/s"
            out[f"{name}: {unit}"] = rep["requests_per_sec"]
            out[f"{name}: p99 ms"] = rep["p99_secs"] * 1000.0
            if rep["errors"]:
                out[f"{name}: errors"] = rep["errors"]
            if name.startswith("put,"):
                # Cross-check: the server counted exactly the puts the tool reports.
                counted = scrape(port0, "etcd_mvcc_put_total") - puts_before
                out[f"{name}: server put_total delta = benchmark ok"] = "yes" if counted == rep["ok"] else f"NO ({counted} vs {rep['ok']})"
        out["peak RSS (MiB)"] = c.peak_rss_mib()
        if size == 1 and revisions > 0:
            bench(tool, eps, ["--clients=200", "--conns=20", "put", f"--total={revisions}", "--val-size=64", "--key-space-size=10000"])
            c.stop()
            out[f"restart with {revisions} revisions (ms)"] = c.start() * 1000.0
            out["peak RSS after restart (MiB)"] = c.peak_rss_mib()
    finally:
        c.stop()
        shutil.rmtree(c.root, ignore_errors=True)
    return out


def better(row):
    if row.endswith("/s"):
        return "higher"
    if row.endswith("= benchmark ok"):
        return "-"
    return "lower"


def fmt(v):
    if isinstance(v, str):
        return v
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def table(results, order):
    lines = [
        "| members | measure | better | etcd 3.4.23 | etcd-rs | ours/etcd |",
        "|---|---|---|---|---|---|",
    ]
    for size in sorted({s for s, _ in order}):
        theirs, ours = results[("etcd", size)], results[("ours", size)]
        rows = [r for s, r in order if s == size]
        for row in rows:
            a, b = theirs.get(row, "n/a"), ours.get(row, "n/a")
            ratio = f"{b / a:.2f}" if isinstance(a, float) and isinstance(b, float) and a > 0 else "-"
            lines.append(f"| {size} | {row} | {better(row)} | {fmt(a)} | {fmt(b)} | {ratio} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcd", default="/usr/bin/etcd")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--tmp", required=True, help="parent dir for data dirs (removed at the end)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--profile", default="release")
    a = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops its servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    revisions = int(os.environ.get("BENCH_REVISIONS", "1000000"))
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1,3").split(",")]
    results, order = {}, []
    started = time.monotonic()
    for size in sizes:
        for label, binary in [("etcd", a.etcd), ("ours", a.ours)]:
            print(f"== {label} ({binary}), {size} member(s)", file=sys.stderr, flush=True)
            results[(label, size)] = measure(binary, a.bench, size, scale, revisions, a.tmp)
            for row in results[(label, size)]:
                if (size, row) not in order:
                    order.append((size, row))
    version = subprocess.run([a.etcd, "--version"], stdout=subprocess.PIPE, text=True).stdout.split("\n")[0]
    head = (
        f"# etcd-rs vs etcd 3.4 — {datetime.date.today().isoformat()}\n\n"
        f"Reference: `{a.etcd}` ({version}); ours: `{a.ours}` ({a.profile} build). Same flags, same disk, "
        f"loopback, {os.cpu_count()} cores shared by client and server(s). Workload totals x{scale}, "
        f"restart measured with {revisions} revisions. Wall time {time.monotonic() - started:.0f} s.\n"
        "Ratio = ours/etcd; `better` says which direction wins. Latency is the benchmark's p99; "
        "start-up/restart = process start to the first successful linearizable range.\n\n"
    )
    text = head + table(results, order) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)
    print(f"written to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
