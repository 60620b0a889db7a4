#!/usr/bin/env bash
# Compare `rdmabench pingpong` with libfabric fabtests' `fi_pingpong`,
# interleaved A/B (odd pairs: rdmabench first, even pairs: fi_pingpong first)
# so slow drift of the machine cancels out.
#
# Every run happens inside its own fresh network namespace (`unshare -n`,
# only `lo` up) and talks to 127.0.0.1 only, under `timeout 120`.
#
# Compared number (same definition on both sides):
#   usec/xfer = timed region / (2 * iterations)      (one-way, half a round trip)
#   rdmabench:   results[].total_ns / (2 * iterations) / 1000
#   fi_pingpong: client's "usec/xfer" column (elapsed_us / iterations / 2); when
#                MB/sec has more significant digits it is derived as
#                size / MB/sec, which is the same quantity (see show_perf()).
#
# Same timed region: fi_pingpong (1.17) has no warm-up; its timed region starts
# right after the out-of-band sync and so includes the first round trip (for
# tcp;ofi_rxm the lazy connection setup, ~20 ms here). rdmabench is therefore
# run with --warmup 0, so its timed region includes that round trip too, and
# with --loop-timed (one clock read at each end of the loop, as fi_pingpong);
# `--timing iteration` measures rdmabench's default per-round-trip timestamps
# instead, so the difference between the two runs is the sampling's cost.
# Same provider: each provider is first opened by a short rdmabench run, and
# fi_pingpong gets the provider name rdmabench opened (on libfabric 2.x
# `--provider tcp` may open "tcp" or "tcp;ofi_rxm").
# Per cell: the median ratio of the pairs and a bootstrap 95 % interval of it
# (pairs resampled 4000 times, fixed seed: the output is deterministic for
# given measurements); pooled likewise over every pair.
# Results go to stdout, progress to stderr. Exit status 1 ("GOAL NOT MET") unless every cell's
# upper bound is at most 1.05 and the pooled median ratio rdmabench/fi_pingpong at most 1.00.

set -euo pipefail

PAIRS=15
ITERS=20000
TIMING=loop
BIN=""
PROVIDERS="tcp shm"
SIZES="4 1024 102400"
FI_PORT=47592
CPUS=""
RUN_TIMEOUT=120
MAX_CELL_UPPER=1.05
MAX_POOLED=1.00

usage() {
    cat <<'EOF'
Usage: scripts/bench-vs-fi-pingpong.sh [options]

  --pairs N          A/B pairs per provider and size (default 15, minimum 15)
  --iters N          timed round trips per run, both tools (default 20000)
  --bin PATH         rdmabench binary (default target/release/rdmabench,
                     built with `cargo build --release` if missing)
  --providers "P.."  libfabric providers (default "tcp shm")
  --sizes "S.."      message sizes in bytes (default "4 1024 102400")
  --fi-port N        fi_pingpong out-of-band TCP port (default 47592)
  --timing T         rdmabench's timing: loop (--loop-timed, fi_pingpong's
                     timed region; default) or iteration (a timestamp per
                     round trip, rdmabench's default)
  --cpus A,B         pin server to CPU A and client to CPU B on both sides
                     (rdmabench --cpu A,B; fi_pingpong via taskset -c);
                     default: no pinning
  -h, --help         this text

Prints one line per pair (provider, size, rdmabench usec/xfer, fi_pingpong
usec/xfer, ratio), then per provider+size and pooled: the median ratio with a
bootstrap 95 % interval and min..max, and GOAL MET (every cell's upper bound
<= 1.05 and the pooled median <= 1.00) or GOAL NOT MET (exit code 1).
EOF
}

die() {
    echo "error: $*" >&2
    exit 2
}

log() {
    echo "$*" >&2
}

is_uint() {
    [[ "$1" =~ ^[0-9]+$ ]]
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --pairs) [[ $# -ge 2 ]] || die "--pairs needs a value"; PAIRS="$2"; shift 2 ;;
    --pairs=*) PAIRS="${1#*=}"; shift ;;
    --iters) [[ $# -ge 2 ]] || die "--iters needs a value"; ITERS="$2"; shift 2 ;;
    --iters=*) ITERS="${1#*=}"; shift ;;
    --bin) [[ $# -ge 2 ]] || die "--bin needs a value"; BIN="$2"; shift 2 ;;
    --bin=*) BIN="${1#*=}"; shift ;;
    --providers) [[ $# -ge 2 ]] || die "--providers needs a value"; PROVIDERS="$2"; shift 2 ;;
    --providers=*) PROVIDERS="${1#*=}"; shift ;;
    --sizes) [[ $# -ge 2 ]] || die "--sizes needs a value"; SIZES="$2"; shift 2 ;;
    --sizes=*) SIZES="${1#*=}"; shift ;;
    --fi-port) [[ $# -ge 2 ]] || die "--fi-port needs a value"; FI_PORT="$2"; shift 2 ;;
    --fi-port=*) FI_PORT="${1#*=}"; shift ;;
    --timing) [[ $# -ge 2 ]] || die "--timing needs a value"; TIMING="$2"; shift 2 ;;
    --timing=*) TIMING="${1#*=}"; shift ;;
    --cpus) [[ $# -ge 2 ]] || die "--cpus needs a value"; CPUS="$2"; shift 2 ;;
    --cpus=*) CPUS="${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

is_uint "$PAIRS" || die "--pairs must be a positive integer (got '$PAIRS')"
((PAIRS >= 15)) || die "--pairs must be at least 15 (got $PAIRS): fewer pairs give no useful interval"
case "$TIMING" in
loop) TIMING_FLAGS=(--loop-timed) ;;
iteration) TIMING_FLAGS=() ;;
*) die "--timing must be loop or iteration (got '$TIMING')" ;;
esac
if ! is_uint "$ITERS" || ((ITERS < 1)); then
    die "--iters must be a positive integer (got '$ITERS')"
fi
if ! is_uint "$FI_PORT" || ((FI_PORT < 1 || FI_PORT > 65535)); then
    die "--fi-port must be 1..65535 (got '$FI_PORT')"
fi
SRV_CPU="" CLI_CPU=""
if [[ -n "$CPUS" ]]; then
    [[ "$CPUS" =~ ^([0-9]+),([0-9]+)$ ]] || die "--cpus must look like A,B (got '$CPUS')"
    SRV_CPU="${BASH_REMATCH[1]}" CLI_CPU="${BASH_REMATCH[2]}"
fi
read -r -a PROVIDER_LIST <<<"$PROVIDERS"
read -r -a SIZE_LIST <<<"$SIZES"
((${#PROVIDER_LIST[@]} > 0)) || die "--providers is empty"
((${#SIZE_LIST[@]} > 0)) || die "--sizes is empty"
for p in "${PROVIDER_LIST[@]}"; do
    [[ "$p" =~ ^[A-Za-z0-9_]+$ ]] || die "bad provider name '$p'"
done
for s in "${SIZE_LIST[@]}"; do
    if ! is_uint "$s" || ((s < 1)); then
        die "sizes must be positive integers in bytes (got '$s')"
    fi
done

# ---------------------------------------------------------------- prerequisites
hint() {
    case "$1" in
    fi_pingpong) echo " (Debian/Ubuntu: apt-get install libfabric-bin)" ;;
    unshare) echo " (package util-linux)" ;;
    ip) echo " (package iproute2)" ;;
    *) echo "" ;;
    esac
}
NEEDED="fi_pingpong unshare ip timeout python3 awk"
[[ -z "$CPUS" ]] || NEEDED="$NEEDED taskset"
for cmd in $NEEDED; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found in PATH$(hint "$cmd")"
done
unshare -n true 2>/dev/null ||
    die "'unshare -n' failed: creating a network namespace needs root (or CAP_SYS_ADMIN)"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "$BIN" ]]; then
    BIN="$ROOT/target/release/rdmabench"
    if [[ ! -x "$BIN" ]]; then
        command -v cargo >/dev/null 2>&1 || die "$BIN is missing and cargo is not in PATH"
        log "building rdmabench: cargo build --release (in $ROOT)"
        (cd "$ROOT" && cargo build --release) >&2 || die "cargo build --release failed"
    fi
fi
[[ "$BIN" == */* ]] || BIN="$(command -v "$BIN" || true)"
[[ -n "$BIN" && -x "$BIN" ]] || die "rdmabench binary not found or not executable: ${BIN:-?}"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

# ---------------------------------------------------------------- housekeeping
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-fi-pingpong.XXXXXX")"
CUR_PID=""

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    # `timeout` makes itself a process-group leader: killing the group takes
    # down the namespace's shell, fi_pingpong server and client, or rdmabench.
    if [[ -n "$CUR_PID" ]]; then
        kill -TERM -- "-$CUR_PID" 2>/dev/null || kill -TERM "$CUR_PID" 2>/dev/null || true
        wait "$CUR_PID" 2>/dev/null || true
        CUR_PID=""
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run "$@" under `timeout $RUN_TIMEOUT` in the background (so the traps above
# can clean it up), stdout to $1, stderr to $2. Returns the command's status.
run_bounded() {
    local out="$1" err="$2" rc=0
    shift 2
    timeout --kill-after=5 "$RUN_TIMEOUT" "$@" >"$out" 2>"$err" &
    CUR_PID=$!
    wait "$CUR_PID" || rc=$?
    CUR_PID=""
    return "$rc"
}

show_failure() {
    local what="$1" rc="$2" out="$3" err="$4"
    if [[ "$rc" == 124 || "$rc" == 137 ]]; then
        log "error: $what timed out after ${RUN_TIMEOUT}s (exit status $rc)"
    else
        log "error: $what failed (exit status $rc)"
    fi
    log "--- stdout:"
    tail -n 40 "$out" >&2 || true
    log "--- stderr:"
    tail -n 40 "$err" >&2 || true
}

# ------------------------------------------------------------------- rdmabench
# Prints "usec clock_overhead_ns warmup_iterations".
parse_rdmabench() {
    python3 - "$1" "$2" <<'PY'
import json, sys

path, size = sys.argv[1], int(sys.argv[2])
text = open(path, encoding="utf-8", errors="replace").read()
try:
    doc = json.loads(text)
except ValueError:
    # Tolerate stray text around the document: decode from the first '{'.
    start = text.find("{")
    if start < 0:
        sys.exit("no JSON document in rdmabench output")
    doc, _ = json.JSONDecoder().raw_decode(text[start:])

res = [r for r in doc.get("results") or [] if int(r.get("size_bytes", -1)) == size]
if not res:
    sys.exit("no result for size %d in rdmabench output" % size)
r = res[0]
iters, total = int(r["iterations"]), float(r["total_ns"])
if iters <= 0 or total <= 0:
    sys.exit("bad iterations/total_ns in rdmabench output: %r" % r)
usec = total / (2 * iters) / 1000.0

def find(o, key):
    if isinstance(o, dict):
        if key in o:
            return o[key]
        for v in o.values():
            x = find(v, key)
            if x is not None:
                return x
    elif isinstance(o, list):
        for v in o:
            x = find(v, key)
            if x is not None:
                return x
    return None

clock = None
try:
    clock = doc["endpoints"]["local"]["clock_overhead_ns"]
except (KeyError, TypeError):
    clock = find(doc, "clock_overhead_ns")
warm = r.get("warmup_iterations")
opened = (doc.get("fabric") or {}).get("provider") or "NA"
print("%.6f %s %s %s" % (usec, "NA" if clock is None else clock, "NA" if warm is None else warm,
                         opened.replace(" ", "_")))
PY
}

RB_USEC="" RB_CLOCK="" RB_WARMUP="" RB_OPENED=""
run_rdmabench() {
    local p="$1" s="$2" n="${3:-$ITERS}" out="$WORK/rb.out" err="$WORK/rb.err" rc=0 parsed
    local -a extra=("${TIMING_FLAGS[@]}")
    [[ -z "$CPUS" ]] || extra+=(--cpu "$CPUS")
    # shellcheck disable=SC2016  # expanded by the inner shell
    run_bounded "$out" "$err" unshare -n sh -c \
        'ip link set lo up || exit 97; p="$1" s="$2" n="$3"; shift 3; exec "$0" pingpong --local --provider "$p" --sizes "$s" --iters "$n" --warmup 0 --format json "$@"' \
        "$BIN" "$p" "$s" "$n" "${extra[@]}" || rc=$?
    if ((rc != 0)); then
        show_failure "rdmabench pingpong --local --provider $p --sizes $s --iters $n --warmup 0 ${extra[*]}" "$rc" "$out" "$err"
        exit 1
    fi
    if ! parsed="$(parse_rdmabench "$out" "$s" 2>"$WORK/parse.err")"; then
        show_failure "parsing rdmabench JSON ($(cat "$WORK/parse.err"))" 0 "$out" "$err"
        exit 1
    fi
    read -r RB_USEC RB_CLOCK RB_WARMUP RB_OPENED <<<"$parsed"
}

# ----------------------------------------------------------------- fi_pingpong
# Inner script, run by sh inside the namespace.
# Args: provider size iters port dir [server_cpu client_cpu].
# The server's OOB socket binds INADDR_ANY (hard-coded in fi_pingpong); inside
# the fresh namespace only lo exists, so it is reachable via 127.0.0.1 only.
# shellcheck disable=SC2016  # expanded by the inner shell
FI_INNER='
p="$1"; s="$2"; n="$3"; port="$4"; dir="$5"; scpu="${6:-}"; ccpu="${7:-}"
ip link set lo up || exit 97
${scpu:+taskset -c $scpu} fi_pingpong -p "$p" -e rdm -S "$s" -I "$n" -B "$port" >"$dir/fi_srv.out" 2>"$dir/fi_srv.err" &
srv=$!
trap "kill $srv 2>/dev/null" EXIT
hexport=$(printf "%04X" "$port")
i=0
# Wait (bounded: 400 x 25 ms) until the server listens on its OOB port.
until awk -v p=":$hexport" "substr(\$2, length(\$2) - 4) == p && \$4 == \"0A\" { f = 1 } END { exit !f }" /proc/net/tcp; do
    kill -0 "$srv" 2>/dev/null || { echo "fi_pingpong server exited before listening:" >&2; cat "$dir/fi_srv.out" "$dir/fi_srv.err" >&2; exit 98; }
    i=$((i + 1))
    [ "$i" -le 400 ] || { echo "fi_pingpong server not listening on port $port after 10 s" >&2; exit 99; }
    sleep 0.025
done
${ccpu:+taskset -c $ccpu} fi_pingpong -p "$p" -e rdm -S "$s" -I "$n" -P "$port" 127.0.0.1
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "fi_pingpong client exit status $rc; server output:" >&2
    cat "$dir/fi_srv.out" "$dir/fi_srv.err" >&2
    exit "$rc"
fi
wait "$srv"
src=$?
trap - EXIT
[ "$src" -eq 0 ] || { echo "fi_pingpong server exit status $src:" >&2; cat "$dir/fi_srv.out" "$dir/fi_srv.err" >&2; }
exit "$src"
'

# Prints usec/xfer from fi_pingpong's client output.
parse_fi_pingpong() {
    python3 - "$1" "$2" <<'PY'
import re, sys

path, size = sys.argv[1], int(sys.argv[2])
# Row format (util/pingpong.c show_perf):
#   "%-8s%-8s%-9s%-8s" size, #sent, [=+-]#ack, total; then
#   "%8.2fs%10.2f%11.2f%11.2f" time, MB/sec, usec/xfer, Mxfers/sec
row = re.compile(r"^\s*(\S+)\s+(\S+)\s+([=+-]\S*)\s+(\S+)\s+([0-9.]+)s\s*"
                 r"([0-9.]+|inf|nan)\s+([0-9.]+|inf|nan)\s+([0-9.]+|inf|nan)\s*$")
rows = []
for line in open(path, encoding="utf-8", errors="replace"):
    m = row.match(line)
    if m:
        rows.append(m)
if not rows:
    sys.exit("no result row in fi_pingpong output")
m = rows[-1]
if not m.group(3).startswith("="):
    sys.exit("fi_pingpong sent/acked mismatch: %s %s" % (m.group(2), m.group(3)))
mbps, usec = float(m.group(6)), float(m.group(7))
# usec/xfer = elapsed/sent/2 and MB/sec = sent*size*2/elapsed, so
# usec/xfer == size / MB/sec exactly; MB/sec (%.2f) carries more significant
# digits than usec/xfer (%.2f) once it is >= 100.
if mbps >= 100 and mbps == mbps and mbps != float("inf"):
    usec = size / mbps
if not (usec > 0):
    sys.exit("bad usec/xfer in fi_pingpong output: %r" % m.group(0))
print("%.6f" % usec)
PY
}

FI_USEC=""
run_fi_pingpong() {
    local p="${OPENED[$1]}" s="$2" out="$WORK/fi.out" err="$WORK/fi.err" rc=0
    rm -f "$WORK/fi_srv.out" "$WORK/fi_srv.err"
    run_bounded "$out" "$err" unshare -n sh -c "$FI_INNER" sh \
        "$p" "$s" "$ITERS" "$FI_PORT" "$WORK" "$SRV_CPU" "$CLI_CPU" || rc=$?
    if ((rc != 0)); then
        show_failure "fi_pingpong -p $p -e rdm -S $s -I $ITERS (server + client 127.0.0.1)" "$rc" "$out" "$err"
        exit 1
    fi
    if ! FI_USEC="$(parse_fi_pingpong "$out" "$s" 2>"$WORK/parse.err")"; then
        show_failure "parsing fi_pingpong output ($(cat "$WORK/parse.err"))" 0 "$out" "$err"
        exit 1
    fi
}

# ------------------------------------------------------------------------ main
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

echo "# rdmabench vs fi_pingpong: pairs=$PAIRS iters=$ITERS providers=\"$PROVIDERS\" sizes=\"$SIZES\""
echo "# rdmabench: $BIN ($("$BIN" --version 2>/dev/null | head -n 1 || echo "version unknown"))"
echo "# fi_pingpong: $(command -v fi_pingpong) (libfabric $(fi_info --version 2>/dev/null | awk '/libfabric:/ { print $2 }' || true))"
echo "# cpus: ${CPUS:-not pinned}; nproc $(nproc 2>/dev/null || echo '?'); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "# usec = one-way usec/xfer = timed region / (2 * iterations); ratio = rdmabench / fi_pingpong"
echo "# warm-up: none on either side (fi_pingpong has no option for it; rdmabench runs with --warmup 0), so both timed regions include the first round trip"
if awk -v n="$(nproc 2>/dev/null || echo 1)" '{ exit !($1 > n / 2) }' /proc/loadavg 2>/dev/null; then
    log "warning: 1-minute load average $(cut -d' ' -f1 /proc/loadavg) is high for $(nproc) CPUs;" \
        "busy-polling ping-pongs are very sensitive to CPU contention (expect outliers)"
fi
# Which provider rdmabench opens for each name; fi_pingpong is given the same.
declare -A OPENED
for p in "${PROVIDER_LIST[@]}"; do
    run_rdmabench "$p" "${SIZE_LIST[0]}" 100
    [[ "$RB_OPENED" != NA ]] || die "rdmabench --provider $p opened no libfabric provider"
    OPENED[$p]="$RB_OPENED"
    echo "# --provider $p: rdmabench opened $RB_OPENED; fi_pingpong -p $RB_OPENED"
done
echo "# rdmabench timing: $TIMING${TIMING_FLAGS[*]:+ (${TIMING_FLAGS[*]})}"
printf '%-5s %-8s %-9s %10s %10s %8s  %s\n' "pair" "provider" "size" "rdmabench" "fi_pp" "ratio" "order"

total_runs=$((PAIRS * ${#PROVIDER_LIST[@]} * ${#SIZE_LIST[@]}))
run_no=0
for ((pair = 1; pair <= PAIRS; pair++)); do
    for p in "${PROVIDER_LIST[@]}"; do
        for s in "${SIZE_LIST[@]}"; do
            run_no=$((run_no + 1))
            if ((pair % 2 == 1)); then order="A/B"; else order="B/A"; fi
            log "[$run_no/$total_runs] pair $pair provider $p size $s ($order)"
            if [[ "$order" == "A/B" ]]; then
                run_rdmabench "$p" "$s"
                run_fi_pingpong "$p" "$s"
            else
                run_fi_pingpong "$p" "$s"
                run_rdmabench "$p" "$s"
            fi
            ratio="$(python3 -c 'import sys; print("%.4f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$RB_USEC" "$FI_USEC")"
            printf '%-5s %-8s %-9s %10.3f %10.3f %8.4f  %s\n' "$pair" "$p" "$s" "$RB_USEC" "$FI_USEC" "$ratio" "$order"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pair" "$p" "$s" "$RB_USEC" "$FI_USEC" "$ratio" "$RB_CLOCK" "$RB_WARMUP" >>"$RESULTS"
        done
    done
done

set +e
python3 - "$RESULTS" "$MAX_CELL_UPPER" "$MAX_POOLED" <<'PY'
import random, statistics, sys

path, cell_limit, pooled_limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rng = random.Random(19)


def interval(values, resamples=4000):
    """Bootstrap 95 % interval of the median: resample the pairs with replacement."""
    medians = sorted(statistics.median(rng.choices(values, k=len(values)))
                     for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]

groups, order, allr = {}, [], []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8:
        continue
    key = (f[1], int(f[2]))
    if key not in groups:
        groups[key] = {"rb": [], "fi": [], "ratio": [], "clock": [], "warm": set()}
        order.append(key)
    g = groups[key]
    g["rb"].append(float(f[3]))
    g["fi"].append(float(f[4]))
    g["ratio"].append(float(f[5]))
    allr.append(float(f[5]))
    if f[6] != "NA":
        g["clock"].append(float(f[6]))
    g["warm"].add(f[7])

def clk(vals):
    return "%.0f" % statistics.median(vals) if vals else "NA"

print()
print("# summary: medians over pairs; ratio = rdmabench / fi_pingpong usec/xfer; 95 % = bootstrap")
print("%-8s %-9s %5s %10s %10s %8s %17s %17s %9s %8s"
      % ("provider", "size", "pairs", "rdmabench", "fi_pp", "ratio", "95 % interval",
         "ratio min..max", "clock_ns", "warmup"))
clocks, uppers = [], []
for key in order:
    g = groups[key]
    clocks += g["clock"]
    low, high = interval(g["ratio"])
    uppers.append((high, key))
    print("%-8s %-9d %5d %10.3f %10.3f %8.4f %8.4f..%-8.4f %8.4f..%-8.4f %9s %8s"
          % (key[0], key[1], len(g["ratio"]), statistics.median(g["rb"]),
             statistics.median(g["fi"]), statistics.median(g["ratio"]), low, high,
             min(g["ratio"]), max(g["ratio"]), clk(g["clock"]),
             ",".join(sorted(g["warm"]))))
if not allr:
    print("GOAL NOT MET (no results)")
    sys.exit(1)
med = statistics.median(allr)
low, high = interval(allr)
print("%-8s %-9s %5d %10s %10s %8.4f %8.4f..%-8.4f %8.4f..%-8.4f %9s"
      % ("pooled", "-", len(allr), "-", "-", med, low, high, min(allr), max(allr), clk(clocks)))
print("# clock_ns = rdmabench endpoints.local.clock_overhead_ns (one timestamp's cost, median)")
worst = max(uppers)
if worst[0] <= cell_limit and med <= pooled_limit:
    print("GOAL MET (every cell's upper bound <= %.2f, worst %.4f at %s %d B; pooled median %.4f <= %.2f)"
          % (cell_limit, worst[0], worst[1][0], worst[1][1], med, pooled_limit))
    sys.exit(0)
print("GOAL NOT MET (worst cell upper bound %.4f at %s %d B, limit %.2f; pooled median %.4f, limit %.2f)"
      % (worst[0], worst[1][0], worst[1][1], cell_limit, med, pooled_limit))
sys.exit(1)
PY
status=$?
set -e
exit "$status"
