#!/usr/bin/env python3
"""Compare `rdmabench bw` with iperf3, interleaved A/B, and print every ratio.

Both tools move the same number of bytes in messages (iperf3 -l) of the same size over
127.0.0.1, each run in its own fresh network namespace (`unshare -n`, only `lo` up) when root,
else on the machine's loopback, under a timeout. Odd pairs run rdmabench first, even pairs
iperf3 first, so slow drift of the machine cancels out.

Compared number (same definition on both sides): bytes received per second over the run.
  rdmabench: results[0].bandwidth.average_bytes_per_sec (bytes over the timed loop, after a
             warm-up of 10 windows)
  iperf3:    end.sum_received.bits_per_second / 8 (the receiver's count, from the first byte)

Transports: `socket` (rdmabench's kernel-TCP path: the goal is a median >= 1.00, the must is
>= 0.95) and `tcp` (libfabric's tcp provider, whose ceiling is kernel TCP plus its own protocol
and copies, so it is expected below 1.00). Exit status 1 when the socket median is below 0.95.
Results go to stdout, progress to stderr.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

RUN_TIMEOUT = 120
DEFAULT_BYTES = 2 << 30


def log(text):
    print(text, file=sys.stderr, flush=True)


def in_namespace(command):
    """The command in a new network namespace with lo up (root), else as it is."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        script = "ip link set lo up && exec " + " ".join(f"'{c}'" for c in command)
        return ["unshare", "-n", "sh", "-c", script]
    return command


def run_json(command):
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def rdmabench(binary, transport, size, messages):
    how = ["--transport", "socket"] if transport == "socket" else ["--provider", transport]
    command = [binary, "bw", "--local", *how, "--sizes", str(size), "--iters",
               str(messages), "--format", "json", "--timeout", "60s"]
    doc = run_json(in_namespace(command))
    return doc["results"][0]["bandwidth"]["average_bytes_per_sec"]


def iperf3(size, total, port):
    # The server and the client share one namespace: one shell starts both.
    server = f"iperf3 -s -1 -B 127.0.0.1 -p {port} >/dev/null 2>&1 & sleep 0.5; "
    client = f"iperf3 -c 127.0.0.1 -p {port} -l {size} -n {total} -J"
    script = server + client
    if os.geteuid() == 0 and shutil.which("unshare"):
        command = ["unshare", "-n", "sh", "-c", "ip link set lo up && " + script]
    else:
        command = ["sh", "-c", script]
    doc = run_json(command)
    return doc["end"]["sum_received"]["bits_per_second"] / 8


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=7, help="A/B pairs (minimum 7)")
    parser.add_argument("--sizes", default="65536,1048576", help="message sizes in bytes")
    parser.add_argument("--transports", default="socket,tcp", help="socket and/or providers")
    parser.add_argument("--bytes", type=int, default=DEFAULT_BYTES, help="bytes per run")
    parser.add_argument("--bin", default="target/release/rdmabench", help="rdmabench binary")
    parser.add_argument("--port", type=int, default=47593, help="iperf3 port")
    args = parser.parse_args()
    if args.pairs < 7:
        parser.error("--pairs must be at least 7")
    for tool in ("iperf3",):
        if not shutil.which(tool):
            parser.error(f"{tool} not found (Debian/Ubuntu: apt-get install iperf3)")
    if not os.access(args.bin, os.X_OK):
        parser.error(f"{args.bin} is not executable: run `cargo build --release` first")
    sizes = [int(s) for s in args.sizes.split(",")]
    transports = args.transports.split(",")

    print("transport size pair rdmabench_MB/s iperf3_MB/s ratio")
    medians = {}
    for transport in transports:
        for size in sizes:
            messages = max(1, args.bytes // size)
            total = messages * size
            ratios = []
            for pair in range(1, args.pairs + 1):
                log(f"{transport} {size} B: pair {pair} of {args.pairs}")
                order = ["rdmabench", "iperf3"] if pair % 2 else ["iperf3", "rdmabench"]
                rates = {}
                for tool in order:
                    if tool == "rdmabench":
                        rates[tool] = rdmabench(args.bin, transport, size, messages)
                    else:
                        rates[tool] = iperf3(size, total, args.port)
                ratio = rates["rdmabench"] / rates["iperf3"]
                ratios.append(ratio)
                print(f"{transport} {size} {pair} {rates['rdmabench'] / 1e6:.1f} "
                      f"{rates['iperf3'] / 1e6:.1f} {ratio:.3f}", flush=True)
            median = statistics.median(ratios)
            medians[(transport, size)] = median
            print(f"{transport} {size} median {median:.3f} min..max "
                  f"{min(ratios):.3f}..{max(ratios):.3f}", flush=True)
    socket = [m for (t, _), m in medians.items() if t == "socket"]
    if socket and min(socket) < 0.95:
        print("FAIL: the socket transport's median ratio is below 0.95")
        return 1
    print("PASS" if socket else "no socket comparison made")
    return 0


if __name__ == "__main__":
    sys.exit(main())
