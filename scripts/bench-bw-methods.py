#!/usr/bin/env python3
"""Compare `rdmabench bw --method fabtests|osu` with the tools whose loops they run, interleaved A/B.

Two comparisons, each over the same libfabric, provider, message sizes, window (64) and message
count:

  fabtests  `rdmabench bw --method fabtests --api tagged` against fabtests' fi_rdm_tagged_bw
            (`-e rdm -W 64 -I N -w W -S size -m`). fi_rdm_tagged_bw is not packaged in Debian:
            give --fabtests-bin DIR (a directory holding an already-built fi_rdm_tagged_bw), or
            --libfabric-src DIR (a libfabric git repository, bare or not, or an unpacked source
            tree) and the script builds it with gcc from that tree's fabtests at the installed
            libfabric's tag (v<fi_info --version>). Without either it says so on stderr and skips
            this comparison.
  osu       `rdmabench bw --method osu --api tagged` against IMB-MPI1 Uniband from Intel's MPI
            runtime (--impi DIR, default target/venv/impi as scripts/test installs it), started
            by mpiexec.hydra with both ranks on 127.0.0.1 (fork bootstrap), I_MPI_FABRICS=ofi,
            FI_PROVIDER=<provider> and I_MPI_OFI_LIBRARY=<the libfabric rdmabench loads>, so MPI
            runs over the same library and provider (the provider Intel MPI reports is checked).
            Uniband's -window_size 64, -iter N/64 (its -iter counts windows), -iter_policy off.

Compared number: messages per second of the timed loop (for one size the same ratio as
bandwidth).
  rdmabench:       results[].iterations * 1e9 / results[].total_ns (= bandwidth.messages_per_sec)
  fi_rdm_tagged_bw: the sender's `-m` line: iterations / time (time printed to the microsecond)
  IMB Uniband:     the Msg/sec column (window * repetitions / time of the repetitions)
Warm-up: rdmabench --warmup W and fi_rdm_tagged_bw -w W (the same W messages, whole windows by
default); IMB has no warm-up option (its kernel times every repetition after its barriers).

Method: every run happens in its own fresh network namespace (`unshare -n`, only `lo` up,
traffic to 127.0.0.1 only, FI_TCP_IFACE/FI_SOCKETS_IFACE=lo, fabtests -s 127.0.0.1) under
`timeout`. Each pair runs both tools once, odd pairs rdmabench first, even pairs the reference
first; the pair loop is outermost, so every cell sees the same drift of the machine. Nothing is
pinned unless --cpus is given (Intel MPI's own pinning is turned off with I_MPI_PIN=0 so that
both sides run the same way). Each (comparison, provider) is probed once first and skipped,
with the reason, when either tool cannot run it (e.g. Intel MPI over libfabric 1.17's net).

Per cell (comparison x provider x size) the table gives the median of the pairs' ratios
rdmabench / reference, a bootstrap 95 % interval of that median (pairs resampled with
replacement, --resamples times, fixed --seed: deterministic for the same data), min..max, the
number of pairs and each side's median rate. Timings on a shared machine are noisy: only the
medians of interleaved pairs mean anything, and a cell whose interval contains 1.00 shows no
difference. This is a benchmark, not a test: it exits 0 whenever it could measure, 1 when no cell
could be measured, 2 for bad input, 130 when interrupted (after printing what it has).
Results go to stdout, progress to stderr.
"""

import argparse
import csv
import datetime
import glob
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IMPI = os.path.join(ROOT, "target", "venv", "impi")
WINDOW = 64
FT_PORT = 47611
PROBE_MESSAGES = 640


def log(text):
    print(text, file=sys.stderr, flush=True)


class RunError(Exception):
    """One run of a tool failed; the text says how (exit status, the end of its output)."""


# ------------------------------------------------------------------ running things, bounded

class Runner:
    """Runs one command at a time in a fresh network namespace under `timeout`."""

    def __init__(self, run_timeout):
        self.run_timeout = run_timeout
        self.current = None

    def in_namespace(self, script, args, env=None):
        """`script` (sh) run by `sh -c` in a new network namespace with lo up; its stdout."""
        inner = "ip link set lo up || exit 97\n" + script
        command = ["timeout", "--kill-after=5", str(self.run_timeout),
                   "unshare", "-n", "sh", "-c", inner, "sh", *[str(a) for a in args]]
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=full_env, start_new_session=True)
        self.current = proc
        try:
            out, err = proc.communicate(timeout=self.run_timeout + 20)
        except subprocess.TimeoutExpired:
            self.kill()
            out, err = proc.communicate()
            raise RunError(f"no end after {self.run_timeout + 20}s (killed)")
        finally:
            self.current = None
        if proc.returncode != 0:
            why = ("timed out after %ss" % self.run_timeout
                   if proc.returncode in (124, 137) else f"exit status {proc.returncode}")
            tail = (err.strip() or out.strip())[-600:]
            raise RunError(f"{why}: {tail}")
        return out

    def kill(self):
        proc = self.current
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ------------------------------------------------------------------------------ rdmabench

RDMABENCH_SCRIPT = 'exec "$@"\n'


def rdmabench(runner, args, provider, size, method, api):
    command = [args.bin, "bw", "--local", "--provider", provider, "--api", api,
               "--method", method, "--window", str(WINDOW), "--sizes", str(size),
               "--iters", str(args.iters), "--warmup", str(args.warmup),
               "--format", "json", "--timeout", "60s"]
    if args.cpus:
        command += ["--cpu", args.cpus]
    out = runner.in_namespace(RDMABENCH_SCRIPT, command)
    try:
        start = out.index("{")
        doc, _ = json.JSONDecoder().raw_decode(out[start:])
    except ValueError as err:
        raise RunError(f"rdmabench printed no JSON document ({err}): {out[-300:]}")
    rows = [r for r in doc.get("results") or [] if int(r.get("size_bytes", -1)) == size]
    if not rows:
        raise RunError(f"no result for {size} B in rdmabench's JSON")
    row = rows[0]
    iterations, total_ns = int(row["iterations"]), int(row["total_ns"])
    if iterations <= 0 or total_ns <= 0:
        raise RunError(f"bad iterations/total_ns in rdmabench's JSON: {row}")
    if iterations != args.iters:
        raise RunError(f"rdmabench timed {iterations} messages, not {args.iters}")
    fabric = doc.get("fabric") or {}
    return {
        "rate": iterations * 1e9 / total_ns,
        "reported": (row.get("bandwidth") or {}).get("messages_per_sec"),
        "provider": fabric.get("provider"),
        "libfabric": fabric.get("api_version"),
        "commit": (doc.get("tool") or {}).get("git_commit"),
    }


# ------------------------------------------------------------------------ fi_rdm_tagged_bw

# Runs inside the namespace. Args: binary provider size iters warmup window port dir scpu ccpu.
# The server waits (bounded: 400 x 25 ms) until its out-of-band port (-E) listens.
FABTESTS_SCRIPT = r'''
bin="$1"; p="$2"; s="$3"; n="$4"; w="$5"; win="$6"; port="$7"; dir="$8"; scpu="$9"; ccpu="${10}"
export FI_TCP_IFACE=lo FI_SOCKETS_IFACE=lo
${scpu:+taskset -c $scpu} "$bin" -p "$p" -e rdm -m -S "$s" -I "$n" -w "$w" -W "$win" -E="$port" -s 127.0.0.1 >"$dir/ft_srv.out" 2>"$dir/ft_srv.err" &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
hexport=$(printf "%04X" "$port")
i=0
until awk -v p=":$hexport" 'substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp; do
    kill -0 "$srv" 2>/dev/null || { echo "fi_rdm_tagged_bw server exited before listening:" >&2; cat "$dir/ft_srv.out" "$dir/ft_srv.err" >&2; exit 98; }
    i=$((i + 1))
    [ "$i" -le 400 ] || { echo "fi_rdm_tagged_bw server not listening on port $port after 10 s" >&2; exit 99; }
    sleep 0.025
done
${ccpu:+taskset -c $ccpu} "$bin" -p "$p" -e rdm -m -S "$s" -I "$n" -w "$w" -W "$win" -E="$port" -s 127.0.0.1 127.0.0.1
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "fi_rdm_tagged_bw client exit status $rc; server said:" >&2
    cat "$dir/ft_srv.out" "$dir/ft_srv.err" >&2
    exit "$rc"
fi
wait "$srv"
src=$?
trap - EXIT
[ "$src" -eq 0 ] || { echo "fi_rdm_tagged_bw server exit status $src:" >&2; cat "$dir/ft_srv.out" "$dir/ft_srv.err" >&2; }
exit "$src"
'''

# show_perf_mr(): "- { xfer_size: 4, iterations: 6400, total: 25600, time: 1.383493, ... }"
FT_ROW = re.compile(r"xfer_size:\s*(\d+),\s*iterations:\s*(\d+),.*?time:\s*([0-9.]+)")


def fabtests(runner, args, provider, size, work, iters=None, warmup=None):
    iters = args.iters if iters is None else iters
    warmup = args.warmup if warmup is None else warmup
    scpu, ccpu = (args.cpus.split(",") if args.cpus else ("", ""))
    out = runner.in_namespace(FABTESTS_SCRIPT, [args.fabtests_exe, provider, size, iters,
                                                warmup, WINDOW, args.ft_port, work, scpu, ccpu])
    rows = [m for m in FT_ROW.finditer(out) if int(m.group(1)) == size]
    if not rows:
        raise RunError(f"no `-m` result row for {size} B in fi_rdm_tagged_bw's output: {out[-300:]}")
    iterations, seconds = int(rows[-1].group(2)), float(rows[-1].group(3))
    if iterations != iters or seconds <= 0:
        raise RunError(f"fi_rdm_tagged_bw timed {iterations} messages in {seconds}s "
                       f"(asked for {iters})")
    return {"rate": iterations / seconds, "provider": provider}


# ---------------------------------------------------------------------------- IMB Uniband

IMB_SCRIPT = 'exec "$@"\n'
IMB_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$")


def imb(runner, args, provider, size, iters=None):
    iters = args.iters if iters is None else iters
    impi = args.impi
    env = {
        "LD_LIBRARY_PATH": os.path.join(impi, "lib"),
        "I_MPI_FABRICS": "ofi",
        "FI_PROVIDER": provider,
        "I_MPI_OFI_LIBRARY": args.ofi_library,
        "FI_TCP_IFACE": "lo",
        "FI_SOCKETS_IFACE": "lo",
        "I_MPI_HYDRA_IFACE": "lo",
        "I_MPI_HYDRA_BOOTSTRAP": "fork",
        "I_MPI_DEBUG": "5",
    }
    if args.cpus:
        env["I_MPI_PIN"] = "1"
        env["I_MPI_PIN_PROCESSOR_LIST"] = args.cpus
    else:
        env["I_MPI_PIN"] = "0"
    command = [os.path.join(impi, "bin", "mpiexec.hydra"), "-n", "2", "-host", "127.0.0.1",
               os.path.join(impi, "bin", "IMB-MPI1"), "Uniband", "-msgsize", size,
               "-iter", iters // WINDOW, "-iter_policy", "off", "-time", "600",
               "-window_size", WINDOW, "-npmin", "2"]
    out = runner.in_namespace(IMB_SCRIPT, command, env)
    said = re.search(r"libfabric provider:\s*(\S+)", out)
    used = said.group(1) if said else None
    wanted = {provider, f"{provider};ofi_rxm"}
    if used is not None and used not in wanted:
        raise RunError(f"Intel MPI used provider {used}, not {provider}")
    version = re.search(r"libfabric version:\s*(\S+)", out)
    rows = [m for line in out.splitlines() if (m := IMB_ROW.match(line))
            and int(m.group(1)) == size]
    if not rows:
        tail = out.strip()[-400:]
        raise RunError(f"no Uniband row for {size} B in IMB-MPI1's output: {tail}")
    reps, msgs = int(rows[-1].group(2)), float(rows[-1].group(4))
    if reps != iters // WINDOW or msgs <= 0:
        raise RunError(f"IMB ran {reps} repetitions (asked for {iters // WINDOW}), Msg/sec {msgs}")
    return {"rate": msgs, "provider": used, "libfabric": version.group(1) if version else None}


# ------------------------------------------------------------------- building fabtests

def installed_libfabric():
    """The installed libfabric's version, e.g. "1.17.0" (fi_info --version), or None."""
    if shutil.which("fi_info"):
        done = subprocess.run(["timeout", "20", "fi_info", "--version"], capture_output=True,
                              text=True, check=False)
        m = re.search(r"^libfabric:\s*(\S+)", done.stdout, re.M)
        if m:
            return m.group(1)
    if shutil.which("pkg-config"):
        done = subprocess.run(["pkg-config", "--modversion", "libfabric"], capture_output=True,
                              text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def fabtests_sources(tree):
    """The C files of fi_rdm_tagged_bw and libfabtests, read from fabtests/Makefile.am."""
    text = open(os.path.join(tree, "Makefile.am"), encoding="utf-8").read()

    def block(name):
        m = re.search(r"^" + re.escape(name) + r"\s*=\s*((?:.*\\\n)*.*)$", text, re.M)
        return re.findall(r"[\w/.-]+\.c\b", m.group(1)) if m else []

    files = block("libfabtests_la_SOURCES") + block("benchmarks_srcs")
    files += block("benchmarks_fi_rdm_tagged_bw_SOURCES") or ["benchmarks/rdm_tagged_bw.c"]
    files = [f for f in dict.fromkeys(files) if "/osx/" not in f and "/windows/" not in f]
    missing = [f for f in files if not os.path.exists(os.path.join(tree, f))]
    if not files or missing:
        raise RunError(f"fabtests/Makefile.am lists missing sources {missing}" if missing
                       else "no fi_rdm_tagged_bw sources found in fabtests/Makefile.am")
    return files


# What fabtests' configure would define on Linux without CUDA/ROCm/ZE/Neuron/SynapseAI.
CONFIG_H = """\
/* written by scripts/bench-bw-methods.py: fabtests' configure results on plain Linux */
#define HAVE_CLOCK_GETTIME 1
#define HAVE_EPOLL 1
#define HAVE___INT128 1
#define ENABLE_DEBUG 0
#define HAVE_LIBZE 0
"""


def build_fabtests(src, version, build_dir):
    """fi_rdm_tagged_bw built from `src` at tag v<version>; returns its path (cached)."""
    tag = f"v{version}"
    out_dir = os.path.join(build_dir, tag)
    exe = os.path.join(out_dir, "fi_rdm_tagged_bw")
    if os.access(exe, os.X_OK):
        log(f"fabtests: using {exe} (built earlier from {tag}; delete {out_dir} to rebuild)")
        return exe, f"cached build of {tag} in {out_dir}"
    for tool in ("gcc", "tar"):
        if not shutil.which(tool):
            raise RunError(f"building fabtests needs {tool} (apt-get install build-essential)")
    if not os.path.exists("/usr/include/rdma/fabric.h"):
        raise RunError("building fabtests needs libfabric's headers (apt-get install libfabric-dev)")
    tree_root = os.path.join(out_dir, "src")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(tree_root)
    how = []
    is_git = subprocess.run(["git", "-C", src, "rev-parse", "--git-dir"], capture_output=True,
                            text=True, check=False).returncode == 0 if shutil.which("git") else False
    if is_git:
        has = subprocess.run(["git", "-C", src, "rev-parse", "--verify", "-q", tag + "^{commit}"],
                             capture_output=True, text=True, check=False)
        if has.returncode != 0:
            raise RunError(f"{src} has no tag {tag} (the installed libfabric's version)")
        log(f"fabtests: git -C {src} archive {tag} fabtests | tar -x -C {tree_root}")
        archive = subprocess.run(["timeout", "120", "git", "-C", src, "archive", tag, "fabtests"],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise RunError(f"git archive {tag} failed: {archive.stderr.decode()[-300:]}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tree_root, filter="data")
            else:
                tar.extractall(tree_root)
        how.append(f"git -C {src} archive {tag} fabtests | tar -x -C {tree_root}")
        tree = os.path.join(tree_root, "fabtests")
    else:
        tree = os.path.join(src, "fabtests")
        if not os.path.isdir(tree):
            raise RunError(f"{src} is neither a git repository nor a libfabric tree with fabtests/")
        conf = os.path.join(tree, "configure.ac")
        m = re.search(r"AC_INIT\(\[fabtests\],\s*\[([^\]]+)\]",
                      open(conf, encoding="utf-8").read()) if os.path.exists(conf) else None
        if not m or m.group(1).split("a")[0] != version:
            raise RunError(f"{tree} is fabtests {m.group(1) if m else '?'}, the installed "
                           f"libfabric is {version}: give a tree at {tag} (or a git repository)")
        how.append(f"source tree {tree} (fabtests {m.group(1)})")
    with open(os.path.join(out_dir, "config.h"), "w", encoding="utf-8") as f:
        f.write(CONFIG_H)
    files = fabtests_sources(tree)
    command = ["gcc", "-O2", "-g", "-Wall", "-D_GNU_SOURCE", "-DHAVE_CONFIG_H", "-I", out_dir,
               "-I", os.path.join(tree, "include"), "-I", os.path.join(tree, "include", "unix"),
               "-I", os.path.join(tree, "benchmarks"), "-o", exe,
               *[os.path.join(tree, f) for f in files], "-lfabric", "-lpthread", "-ldl", "-lm",
               "-lrt"]
    log("fabtests: " + " ".join(command))
    done = subprocess.run(["timeout", "300", *command], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RunError(f"gcc failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    how.append("config.h: " + "; ".join(CONFIG_H.splitlines()[1:]))
    how.append(" ".join(command))
    return exe, "\n".join(how)


# ----------------------------------------------------------------------------- statistics

def bootstrap_median(values, resamples, seed):
    """(low, high): the 2.5 and 97.5 percentiles of the median of resampled `values`."""
    rng = random.Random(seed)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    low = medians[int(0.025 * (resamples - 1))]
    high = medians[int(round(0.975 * (resamples - 1)))]
    return low, high


def table(cells, order, skipped, args):
    lines = []
    head = ("compare", "provider", "size_B", "pairs", "median_ratio", "95%_interval",
            "min..max", "rdmabench_msg/s", "reference_msg/s")
    rows = [head]
    for key in order:
        compare, provider, size = key
        pairs = cells.get(key, [])
        if key in skipped:
            rows.append((compare, provider, str(size), str(len(pairs)), "skipped", "-", "-",
                         "-", "-"))
            continue
        if not pairs:
            rows.append((compare, provider, str(size), "0", "-", "-", "-", "-", "-"))
            continue
        ratios = [p["ratio"] for p in pairs]
        low, high = bootstrap_median(ratios, args.resamples, args.seed)
        rows.append((compare, provider, str(size), str(len(pairs)),
                     f"{statistics.median(ratios):.3f}", f"{low:.3f}..{high:.3f}",
                     f"{min(ratios):.3f}..{max(ratios):.3f}",
                     f"{statistics.median(p['rb'] for p in pairs):.0f}",
                     f"{statistics.median(p['ref'] for p in pairs):.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i >= 2 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return lines


def loadavg():
    try:
        return " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    except OSError:
        return "?"


# ----------------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Example: scripts/bench-bw-methods.py --bin /tmp/rdmabench-bench/rdmabench "
               "--libfabric-src /work/.mirror/ofiwg+libfabric/repo")
    parser.add_argument("--pairs", type=int, default=15, help="A/B pairs per cell (default 15)")
    parser.add_argument("--sizes", default="4,1024,65536", help="message sizes in bytes")
    parser.add_argument("--providers", default="tcp,shm,net",
                        help="libfabric providers (default tcp,shm,net; a provider one tool "
                             "cannot run is skipped for that comparison, with the reason)")
    parser.add_argument("--compare", default="fabtests,osu",
                        help="comparisons to run: fabtests and/or osu (default both)")
    parser.add_argument("--iters", type=int, default=3200,
                        help="timed messages per run, a multiple of 64 (default 3200 = 50 "
                             "windows): rdmabench --iters, fabtests -I, IMB -iter iters/64")
    parser.add_argument("--warmup", type=int, default=640,
                        help="untimed messages first: rdmabench --warmup, fabtests -w "
                             "(default 640 = 10 windows; IMB has no such option)")
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "rdmabench"),
                        help="rdmabench binary (default target/release/rdmabench)")
    parser.add_argument("--osu-api", choices=("tagged", "msg"), default="tagged",
                        help="rdmabench's API in the osu comparison (default tagged, as MPI)")
    parser.add_argument("--libfabric-src", metavar="DIR",
                        help="libfabric git repository or source tree: build fi_rdm_tagged_bw "
                             "from its fabtests at the installed libfabric's tag")
    parser.add_argument("--fabtests-bin", metavar="DIR",
                        help="directory with an already-built fi_rdm_tagged_bw")
    parser.add_argument("--build-dir", default="/tmp/bench-bw-methods-fabtests",
                        help="where fabtests is unpacked and built (default %(default)s)")
    parser.add_argument("--impi", default=DEFAULT_IMPI,
                        help="Intel MPI runtime with bin/IMB-MPI1, bin/mpiexec.hydra, lib/ "
                             "(default target/venv/impi)")
    parser.add_argument("--ofi-library",
                        help="the libfabric Intel MPI loads (default $RDMABENCH_LIBFABRIC, else "
                             "the system's libfabric.so.1, which rdmabench loads too)")
    parser.add_argument("--cpus", help="A,B: pin server/receiver to A and client/sender to B "
                                       "(default: nothing pinned)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per run (default 120)")
    parser.add_argument("--resamples", type=int, default=2000,
                        help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=20261202, help="bootstrap seed")
    parser.add_argument("--raw", metavar="FILE", help="also write every pair as CSV to FILE")
    parser.add_argument("--ft-port", type=int, default=FT_PORT,
                        help="fi_rdm_tagged_bw out-of-band port inside the namespace")
    args = parser.parse_args()

    # ----------------------------------------------------------------------- validation
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated byte counts (got {args.sizes!r})")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes must be positive byte counts")
    providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    if not providers or any(not re.fullmatch(r"[A-Za-z0-9_]+", p) for p in providers):
        parser.error(f"bad --providers {args.providers!r}")
    compares = [c.strip() for c in args.compare.split(",") if c.strip()]
    if not compares or any(c not in ("fabtests", "osu") for c in compares):
        parser.error("--compare takes fabtests and/or osu")
    if args.iters < WINDOW or args.iters % WINDOW:
        parser.error(f"--iters must be a positive multiple of the window ({WINDOW})")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.cpus and not re.fullmatch(r"\d+,\d+", args.cpus):
        parser.error("--cpus must look like A,B")
    if args.timeout < 10 or args.resamples < 100:
        parser.error("--timeout must be >= 10 and --resamples >= 100")
    if not 1 <= args.ft_port <= 65535:
        parser.error("--ft-port must be 1..65535")
    if not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
        parser.error(f"{args.bin} is not an executable rdmabench (build it with "
                     "`cargo build --release`, or give --bin)")
    args.bin = os.path.abspath(args.bin)
    for tool in ("timeout", "unshare", "ip", "awk", "sh"):
        if not shutil.which(tool):
            parser.error(f"{tool} not found in PATH (util-linux, iproute2, coreutils, gawk)")
    if args.cpus and not shutil.which("taskset"):
        parser.error("--cpus needs taskset (util-linux)")
    if subprocess.run(["unshare", "-n", "true"], capture_output=True,
                      check=False).returncode != 0:
        parser.error("`unshare -n` failed: every run needs its own network namespace (root)")
    version = installed_libfabric()

    # ------------------------------------------------------------------- the references
    skipped = {}  # (compare, provider) -> reason
    ft_how = "not used"
    if "fabtests" in compares:
        args.fabtests_exe = None
        if args.fabtests_bin:
            exe = os.path.join(args.fabtests_bin, "fi_rdm_tagged_bw")
            if not os.access(exe, os.X_OK):
                exe = os.path.join(args.fabtests_bin, "bin", "fi_rdm_tagged_bw")
            if not os.access(exe, os.X_OK):
                parser.error(f"no executable fi_rdm_tagged_bw in {args.fabtests_bin}")
            args.fabtests_exe, ft_how = os.path.abspath(exe), f"given: {exe}"
        elif args.libfabric_src:
            if not os.path.isdir(args.libfabric_src):
                parser.error(f"--libfabric-src {args.libfabric_src} is not a directory")
            if version is None:
                parser.error("cannot tell the installed libfabric's version (no fi_info, no "
                             "pkg-config libfabric): give --fabtests-bin instead")
            try:
                args.fabtests_exe, ft_how = build_fabtests(os.path.abspath(args.libfabric_src),
                                                           version, args.build_dir)
            except RunError as err:
                log(f"SKIP fabtests comparison: could not build fi_rdm_tagged_bw: {err}")
                ft_how = f"build failed: {err}"
        else:
            log("SKIP fabtests comparison: fi_rdm_tagged_bw is not packaged in Debian; give "
                "--fabtests-bin DIR (an already-built fabtests) or --libfabric-src DIR (a "
                "libfabric git repository or source tree) to compare with it")
            ft_how = "no --fabtests-bin or --libfabric-src given"
        if args.fabtests_exe is None:
            for p in providers:
                skipped[("fabtests", p)] = ft_how
    if "osu" in compares:
        args.impi = os.path.abspath(args.impi)
        missing = [f for f in ("bin/IMB-MPI1", "bin/mpiexec.hydra", "lib")
                   if not os.path.exists(os.path.join(args.impi, f))]
        if args.ofi_library is None:
            args.ofi_library = os.environ.get("RDMABENCH_LIBFABRIC") or next(
                iter(sorted(glob.glob("/usr/lib/*/libfabric.so.1"))), None)
        if missing:
            why = (f"Intel MPI runtime not found in {args.impi} (missing {', '.join(missing)}; "
                   "scripts/test installs it, or give --impi)")
            log(f"SKIP osu comparison: {why}")
            for p in providers:
                skipped[("osu", p)] = why
        elif not args.ofi_library or not os.path.exists(args.ofi_library):
            parser.error("no libfabric.so.1 found for Intel MPI: give --ofi-library")

    # ------------------------------------------------------------------------- header
    runner = Runner(args.timeout)
    work = os.path.join("/tmp", f"bench-bw-methods.{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    start_load = loadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    header = [
        f"# rdmabench bw --method fabtests|osu against fi_rdm_tagged_bw|IMB-MPI1 Uniband",
        f"# date {started.strftime('%Y-%m-%d %H:%M:%S UTC')}; host {socket.gethostname()}; "
        f"nproc {os.cpu_count()}; kernel {os.uname().release}",
        f"# libfabric {version or '?'} (fi_info --version); Intel MPI loads "
        f"{args.ofi_library or '-'}",
        f"# rdmabench {args.bin}",
        f"# fi_rdm_tagged_bw: {getattr(args, 'fabtests_exe', None) or '-'}",
        f"# IMB-MPI1: {os.path.join(args.impi, 'bin', 'IMB-MPI1') if 'osu' in compares else '-'}",
        f"# pairs {args.pairs}; sizes {','.join(map(str, sizes))}; providers "
        f"{','.join(providers)}; messages {args.iters} (+{args.warmup} warm-up; IMB none); "
        f"window {WINDOW}; pinned {args.cpus or 'no'}",
        f"# ratio = rdmabench msg/s / reference msg/s; interval = bootstrap 95 % of the median "
        f"({args.resamples} resamples, seed {args.seed})",
        f"# load average at start: {start_load}",
    ]

    # ------------------------------------------------------------------------- probes
    ref_name = {"fabtests": "fi_rdm_tagged_bw", "osu": "IMB-MPI1 Uniband"}
    rb_versions = set()
    for compare in compares:
        for provider in providers:
            if (compare, provider) in skipped:
                continue
            log(f"probe: {compare} over {provider}")
            method, api = ("fabtests", "tagged") if compare == "fabtests" else ("osu", args.osu_api)
            saved = (args.iters, args.warmup)
            args.iters, args.warmup = PROBE_MESSAGES, WINDOW
            who = "rdmabench"
            try:
                got = rdmabench(runner, args, provider, min(sizes), method, api)
                rb_versions.add((got["provider"], got["libfabric"], got["commit"]))
                who = ref_name[compare]
                if compare == "fabtests":
                    fabtests(runner, args, provider, min(sizes), work)
                else:
                    imb(runner, args, provider, min(sizes))
            except RunError as err:
                reason = f"{who} failed in the probe: {err}"
                log(f"SKIP {compare} over {provider}: {reason}")
                skipped[(compare, provider)] = reason
            finally:
                args.iters, args.warmup = saved
    for provider_name, api_version, commit in sorted(rb_versions, key=str):
        header.append(f"# rdmabench: provider {provider_name}, libfabric API {api_version}, "
                      f"git {commit}")

    # --------------------------------------------------------------------------- pairs
    order = [(c, p, s) for c in compares for p in providers for s in sizes]
    active = [k for k in order if (k[0], k[1]) not in skipped]
    cells = {k: [] for k in order}
    failures = {k: [] for k in order}
    cell_skipped = {}
    raw_rows = []
    interrupted = False
    total = len(active) * args.pairs
    done_runs = 0
    try:
        for pair in range(1, args.pairs + 1):
            for key in active:
                if key in cell_skipped:
                    continue
                compare, provider, size = key
                done_runs += 1
                first = "rdmabench" if pair % 2 else "reference"
                log(f"[{done_runs}/{total}] pair {pair}: {compare} {provider} {size} B "
                    f"({first} first; load {loadavg()})")
                try:
                    rates = {}
                    for tool in (("rb", "ref") if pair % 2 else ("ref", "rb")):
                        if tool == "rb":
                            method = "fabtests" if compare == "fabtests" else "osu"
                            api = "tagged" if compare == "fabtests" else args.osu_api
                            rates["rb"] = rdmabench(runner, args, provider, size, method,
                                                    api)["rate"]
                        elif compare == "fabtests":
                            rates["ref"] = fabtests(runner, args, provider, size, work)["rate"]
                        else:
                            rates["ref"] = imb(runner, args, provider, size)["rate"]
                except RunError as err:
                    failures[key].append(str(err))
                    log(f"  pair {pair} failed (dropped): {err}")
                    if len(failures[key]) >= 3:
                        cell_skipped[key] = f"{len(failures[key])} failed runs; last: {err}"
                        log(f"  giving up on {compare} {provider} {size} B")
                    continue
                ratio = rates["rb"] / rates["ref"]
                cells[key].append({"rb": rates["rb"], "ref": rates["ref"], "ratio": ratio})
                raw_rows.append([compare, provider, size, pair, first, f"{rates['rb']:.1f}",
                                 f"{rates['ref']:.1f}", f"{ratio:.4f}"])
                log(f"  rdmabench {rates['rb']:.0f} msg/s, {ref_name[compare]} "
                    f"{rates['ref']:.0f} msg/s, ratio {ratio:.3f}")
    except KeyboardInterrupt:
        runner.kill()
        interrupted = True
        log("interrupted: printing what was measured")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # ---------------------------------------------------------------------------- output
    ended = datetime.datetime.now(datetime.timezone.utc)
    header.append(f"# load average at end: {loadavg()}; took "
                  f"{(ended - started).total_seconds() / 60:.1f} min"
                  + ("; INTERRUPTED" if interrupted else ""))
    all_skipped = {k for k in order if (k[0], k[1]) in skipped or k in cell_skipped}
    print("\n".join(header))
    print("\n".join(table(cells, order, all_skipped, args)))
    notes = []
    for (compare, provider), reason in skipped.items():
        reason = " ".join(reason.split())
        if len(reason) > 300:
            reason = reason[:100] + " ... " + reason[-200:]
        notes.append(f"# skipped {compare} over {provider}: {reason}")
    for (compare, provider, size), reason in cell_skipped.items():
        notes.append(f"# skipped {compare} {provider} {size} B: {reason}")
    for key, errs in failures.items():
        if errs and key not in cell_skipped:
            notes.append(f"# {key[0]} {key[1]} {key[2]} B: {len(errs)} pair(s) dropped "
                         f"(failed run); first: {errs[0][:200]}")
    if notes:
        print("\n".join(n.replace("\n", " ") for n in notes))
    if args.raw:
        with open(args.raw, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["compare", "provider", "size", "pair", "first", "rdmabench_msg_s",
                             "reference_msg_s", "ratio"])
            writer.writerows(raw_rows)
        log(f"every pair written to {args.raw}")
    if interrupted:
        return 130
    return 0 if any(cells.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
