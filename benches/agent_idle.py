#!/usr/bin/env python3
"""What one idle agent costs: CPU and memory of `slascone-sync agent --mode detect` on a tenant of
N customers (2N licenses) with nothing to change.

    cargo build --release
    python3 benches/agent_idle.py target/release/slascone-sync --customers 10000 --rounds 3

Writes the manifests into a temporary directory, starts `slascone-sync sandbox` (a process of its
own, so its work is not counted) and seeds it with one `apply`, then runs the agent with a short
interval and reads its CPU time and memory from /proc (Linux) between and across reconciles.
Reports the CPU of one reconcile, the CPU between reconciles, the resident memory, and from them
the CPU an hour costs at a five-minute interval.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ISV = "2af5fe02-6207-4214-946e-b00ac5309f53"
KEY = "bench-admin-key"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_manifests(root, customers, api_port):
    os.makedirs(os.path.join(root, "customers"))
    with open(os.path.join(root, "slascone.yaml"), "w") as f:
        f.write(
            f"api_url: http://127.0.0.1:{api_port}\nisv_id: {ISV}\n"
            "admin_key_env: BENCH_ADMIN_KEY\nsafety: { max_changes: 1000000 }\n"
        )
    per_file = 100
    for first in range(0, customers, per_file):
        lines = ["customers:"]
        for i in range(first, min(customers, first + per_file)):
            lines.append(
                f"  - customer_number: C{i:06}\n"
                f"    company_name: Customer {i} GmbH\n"
                "    customer_type: SMB\n    country: Germany\n    city: Berlin\n"
                "    licenses:\n"
                f"      - legacy_license_key: L{i:06}-A\n"
                "        product: Argus\n        edition: Professional\n        token_limit: 10\n"
                f"      - legacy_license_key: L{i:06}-B\n"
                "        product: Argus\n        edition: Enterprise\n        token_limit: 50"
            )
        with open(os.path.join(root, "customers", f"c{first:06}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")


def get_json(url):
    while True:
        try:
            with urllib.request.urlopen(url) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="reconciles measured")
    parser.add_argument("--interval", type=int, default=30, help="seconds, while measuring")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    catalog = os.path.join(os.path.dirname(__file__), "..", "examples", "quickstart",
                           "sandbox-catalog.yaml")
    tick = os.sysconf("SC_CLK_TCK")
    env = dict(os.environ, BENCH_ADMIN_KEY=KEY)
    with tempfile.TemporaryDirectory() as work:
        api_port, agent_port = free_port(), free_port()
        manifests = os.path.join(work, "m")
        write_manifests(manifests, args.customers, api_port)
        sandbox = subprocess.Popen(
            [binary, "sandbox", "--listen", f"127.0.0.1:{api_port}", "--isv-id", ISV,
             "--admin-key", KEY, "--catalog", catalog],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        agent = None
        try:
            time.sleep(1)
            print(f"seeding {args.customers} customers...", file=sys.stderr)
            subprocess.run([binary, "apply", "--auto-approve", "--parallelism", "32", manifests],
                           env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            agent = subprocess.Popen(
                [binary, "agent", "--interval", f"{args.interval}s", "--listen",
                 f"127.0.0.1:{agent_port}", manifests],
                env=env, stderr=subprocess.DEVNULL)
            status_url = f"http://127.0.0.1:{agent_port}/status"

            def cpu():
                fields = open(f"/proc/{agent.pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / tick

            def memory(name):
                for line in open(f"/proc/{agent.pid}/status"):
                    if line.startswith(name):
                        return int(line.split()[1])

            def reconciled(n):
                while get_json(status_url)["reconciles"] < n:
                    time.sleep(0.2)

            reconciled(1)
            start = cpu()
            # Right after a reconcile, for a third of the interval: nothing but waiting runs.
            window = args.interval / 3
            time.sleep(window)
            idle = (cpu() - start) / window
            reconciled(1 + args.rounds)
            last = get_json(status_url)["last"]
            assert last["result"] == "in_sync", last
            per_round = (cpu() - start) / args.rounds
            reconcile = per_round - idle * args.interval
            result = {
                "customers": args.customers,
                "licenses": 2 * args.customers,
                "result": last["result"],
                "reconcile_wall_s": round(last["duration_seconds"], 2),
                "reconcile_cpu_s": round(reconcile, 2),
                "idle_cpu_s_per_s": round(idle, 5),
                "rss_mib_between_reconciles": round(memory("VmRSS:") / 1024, 1),
                "rss_mib_peak": round(memory("VmHWM:") / 1024, 1),
                "cpu_s_per_hour_at_5m": round(12 * reconcile + idle * 3600, 1),
            }
            print(json.dumps(result, indent=1))
        finally:
            if agent:
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=60)
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=60)


if __name__ == "__main__":
    main()
