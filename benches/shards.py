#!/usr/bin/env python3
"""Sharded fan-out against one process at the same per-identity limits.

A loopback stand-in for GitHub answers `POST /repos/*/*/dispatches` with 204 and keeps a
sliding window per `Authorization` header (GitHub's budgets are per identity), answering 429
with `retry-after` and `x-ratelimit-remaining: 0` past it. The same release is then sent
three ways, each target on one of the token variables in turn:

- one process on all K identities (`run`),
- S processes at once (`plan --shards S`, then `run --shard I/S` each, then `report merge`),
- one process on one identity (every target on one token), for scale,
- two releases at once, one unsharded process each on the same identities (what
  `concurrency: { group: dispatch-<pool> }` prevents): "delivered once" counts the targets
  each release reached once.

Usage: python3 benches/shards.py [--bin target/release/orchestrator] [--targets 400]
       [--identities 8] [--shards 4] [--rate 10/1s]
"""

import argparse
import collections
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time


class Budgets:
    def __init__(self, most, window):
        self.most, self.window = most, window
        self.accepted = collections.defaultdict(collections.deque)
        self.refused = 0
        self.delivered = collections.Counter()
        self.lock = threading.Lock()

    def admit(self, token, path):
        with self.lock:
            now = time.monotonic()
            times = self.accepted[token]
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.most:
                self.refused += 1
                return max(1, int(self.window - (now - times[0]) + 0.999))
            times.append(now)
            self.delivered[path] += 1
            return None


def serve(budgets):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Answers go out at once: with Nagle's algorithm a kept-alive connection waits for
        # the client's delayed ACK before each answer, and the server, not the limits, sets
        # the pace.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            self.rfile.read(length)
            wait = budgets.admit(self.headers.get("authorization", ""), self.path)
            if wait is None:
                self.send_response(204)
                self.send_header("content-length", "0")
            else:
                body = b'{"message":"You have exceeded a secondary rate limit."}'
                self.send_response(429)
                self.send_header("retry-after", str(wait))
                self.send_header("x-ratelimit-remaining", "0")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.end_headers()

    class Server(http.server.ThreadingHTTPServer):
        # The default backlog of 5 drops connections a 64-wide client opens at once.
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def config(targets, identities):
    tokens = ", ".join(f"T{i + 1}" for i in range(identities))
    names = [f"t{i:04}" for i in range(targets)]
    lines = ["version: 1", "sources:", "  app:", "    repository: o/app",
             f"    targets: [{', '.join(names)}]", "targets:"]
    for name in names:
        lines += [f"  {name}:", f"    repository: o/{name}", "    event_type: release",
                  f"    token_env: [{tokens}]"]
    return "\n".join(lines) + "\n"


def env(identities):
    values = {f"T{i + 1}": f"ghp_benchtoken{i:02}" + "0" * 22 for i in range(identities)}
    return {**os.environ, **values}


def timed(commands, cwd, environment, failed=None):
    """Runs `commands` at once; with `failed` (a list), a run that exits 1 adds its failed
    targets to it instead of stopping the benchmark."""
    start = time.monotonic()
    children = [subprocess.Popen(c, cwd=cwd, env=environment, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for c in commands]
    for child in children:
        out, err = child.communicate()
        if child.returncode == 1 and failed is not None:
            failed.append(json.loads(out)["summary"]["failed"])
        elif child.returncode != 0:
            sys.exit(f"{' '.join(commands[0][:3])}... exited {child.returncode}: {err.decode()}")
    return time.monotonic() - start


def scenario(args, name, identities, shards):
    most, per = args.rate.split("/")
    window = float(per.rstrip("s") or 1)
    # The server's window is 0.9 of the client's: a request's start and its arrival differ by
    # the network and the scheduler, and a window enforced to the millisecond on arrival
    # would refuse a client that keeps it to the millisecond on start.
    budgets = Budgets(int(most), window * 0.9)
    server = serve(budgets)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as dir:
        with open(os.path.join(dir, "dispatch.yaml"), "w") as f:
            f.write(config(args.targets, identities))
        release = ["--source", "app", "--version", "1.0.0", "--api-url", url]
        run = [args.bin, "run", *release, "--rate-limit", args.rate, "--concurrency", "64",
               "--output", "json", "--no-progress", "-q"]
        environment = env(identities)
        start = time.monotonic()
        if shards == 1:
            sending = timed([run], dir, environment)
        elif shards == 0:
            # Two releases at once on the same identities, each assuming the whole budget.
            other = [a if a != "1.0.0" else "1.0.1" for a in run]
            failed = []
            sending = timed([run, other], dir, environment, failed)
            name += f" ({sum(failed)} failed)"
        else:
            plan = subprocess.run([args.bin, "plan", *release, "--shards", str(shards),
                                   "--output", "matrix"], cwd=dir, env=environment,
                                  capture_output=True, check=True)
            matrix = json.loads(plan.stdout)["include"]
            sending = timed([run + ["--shard", m["shard"], "--report", f"shard-{i}.json"]
                             for i, m in enumerate(matrix)], dir, environment)
            merged = subprocess.run([args.bin, "report", "merge", "--output", "json",
                                     *[f"shard-{i}.json" for i in range(len(matrix))]],
                                    cwd=dir, capture_output=True)
            assert merged.returncode == 0, merged.stderr
            report = json.loads(merged.stdout)
            assert report["summary"]["delivered"] == args.targets, report["summary"]
        whole = time.monotonic() - start
    server.shutdown()
    once = sum(1 for n in budgets.delivered.values() if n == (2 if shards == 0 else 1))
    processes = 2 if shards == 0 else shards
    print(f"| {name} | {identities} | {processes} | {sending:.2f} s | {whole:.2f} s | "
          f"{budgets.refused} | {once}/{args.targets} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/orchestrator")
    parser.add_argument("--targets", type=int, default=400)
    parser.add_argument("--identities", type=int, default=8)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rate", default="10/1s")
    args = parser.parse_args()
    args.bin = os.path.abspath(args.bin)
    print("| how | identities | processes | sending | whole (plan + runs + merge) "
          "| 403/429 | delivered once |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    scenario(args, "one process", args.identities, 1)
    scenario(args, f"{args.shards} shards", args.identities, args.shards)
    scenario(args, "one process, one identity", 1, 1)
    scenario(args, "two releases at once, one process each", args.identities, 0)


if __name__ == "__main__":
    main()
