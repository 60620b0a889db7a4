#!/usr/bin/env python3
"""How closely `--duration D` keeps to D: for each transport/provider and D, one
`rdmabench pingpong --local --duration D` run over a few sizes; per size the timed time the
results record (total_ns) over D, and the run's wall time per size over D (warm-up, connection
setup and reporting included).

Everything runs on 127.0.0.1 (`--local`), each run under a timeout. Load average before and
after is printed: the check is meant for a quiet machine (on a busy one a phase planned from the
rate seen so far can take many times longer, and the overshoot is the host's).

Results go to stdout as a table; progress to stderr. Exit status 1 when a size's timed time is
outside D +-20 % (the issue's bound), 0 otherwise.

    scripts/bench-duration.py [--bin target/release/rdmabench] [--durations 1s,3s]
"""

import argparse
import json
import os
import subprocess
import sys
import time

BOUND = 0.20


def seconds(text):
    units = {"ms": 1e-3, "s": 1.0, "m": 60.0}
    for suffix in ("ms", "s", "m"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    raise ValueError(f"{text}: give a duration such as 1s or 500ms")


def load():
    return os.getloadavg()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release/rdmabench")
    parser.add_argument("--durations", default="1s,3s")
    parser.add_argument("--sizes", default="4,64K,1M")
    parser.add_argument(
        "--paths",
        default="socket,tcp,shm",
        help="socket (kernel TCP) and libfabric providers",
    )
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin}: not an executable; build it (cargo build --release) or pass --bin")

    sizes = args.sizes.split(",")
    print(f"# load average before: {load():.2f} ({os.cpu_count()} CPUs)")
    print(f"{'path':8} {'D':>5} {'size':>8} {'timed/D':>8} {'wall per size/D':>16} {'round trips':>12}")
    worst = 0.0
    for path in args.paths.split(","):
        for duration in args.durations.split(","):
            d = seconds(duration)
            transport = ["--transport", "socket"] if path == "socket" else ["--provider", path]
            command = [args.bin, "pingpong", "--local", *transport, "--sizes", args.sizes,
                       "--duration", duration, "--format", "json"]
            print(f"bench-duration: {' '.join(command)}", file=sys.stderr)
            started = time.monotonic()
            out = subprocess.run(command, capture_output=True, text=True,
                                 timeout=60 + 10 * d * len(sizes))
            wall = time.monotonic() - started
            if out.returncode != 0:
                sys.exit(f"{path} {duration}: exit {out.returncode}: {out.stderr.strip()}")
            rows = json.loads(out.stdout)["results"]
            for row in rows:
                timed = row["total_ns"] / 1e9 / d
                worst = max(worst, abs(timed - 1.0))
                print(f"{path:8} {duration:>5} {row['size_bytes']:>8} {timed:>8.3f} "
                      f"{wall / len(rows) / d:>16.3f} {row['iterations']:>12}")
    print(f"# load average after: {load():.2f}")
    verdict = "within" if worst <= BOUND else "OUTSIDE"
    print(f"# worst timed/D deviation {worst:.1%}: {verdict} +-{BOUND:.0%}")
    return 0 if worst <= BOUND else 1


if __name__ == "__main__":
    sys.exit(main())
