#!/usr/bin/env bash
# Soak drill of `hotline serve` (issue 7, "Soak"): a steady open-loop load for a long
# time, watching for leaks and drift. See drills/README.md.
#
#   drills/soak.sh                      # one hour at 200 texts/s
#   SOAK_SECONDS=60 SOAK_SAMPLE=10 drills/soak.sh   # the short variant (ctest runs one)
#
# On loopback: bench_mock_twilio as the Messages API (2 on-call staff phones, so urgent
# texts page), hotline serve with signed webhooks, and bench_loadgen sending the dev set's
# texts (FAQ, urgent, standard, STOP and START, gen_requests.py --with-opt-outs, from a
# pool of SOAK_SENDERS numbers) open loop at SOAK_RATE/s, in consecutive runs of SOAK_SAMPLE
# seconds. After each run: hotline's VmRSS, open descriptors, threads, the WAL's size and
# the run's webhook latency (p50/p99/max, from the scheduled send: no coordinated
# omission). Prints a table, then fails (exit 1) when, after the warm-up (the first
# SOAK_WARMUP seconds), RSS grew more than SOAK_RSS_SLACK_KB, descriptors grew more than
# SOAK_FD_SLACK, the p99 of the last three runs is over SOAK_P99_FACTOR times the first
# three's (and over SOAK_P99_FLOOR_MS), any webhook was not answered 2xx, or hotline did
# not exit 0 on SIGTERM. Knobs (environment) and defaults:
#   SOAK_SECONDS 3600  SOAK_RATE 200  SOAK_SENDERS 5000 (each number texts every 25 s or so:
#   hotline runs with HOTLINE_REPLY_BUDGET=1000 to keep answering them, and 5,000 keeps
#   nearly all under the loop guard's 15 texts in 2 minutes, which 2,000 did not: the soak
#   is about the service staying flat, not the conversation's limits. A pool of 100,000
#   numbers instead opens a new urgent escalation for nearly every urgent text, none of
#   them acknowledged, and the re-pages grow without bound: 60,941 open after 47 minutes,
#   more pages than replies, and a p99 that climbed with them)  SOAK_SAMPLE 60  SOAK_WARMUP 600 (or a quarter of the
#   run when shorter)  SOAK_RSS_SLACK_KB 8192  SOAK_FD_SLACK 4  SOAK_P99_FACTOR 2
#   SOAK_P99_FLOOR_MS 10  SOAK_RSS_CHECK 1 (0: report only, e.g. under ASan)
#   BENCH_BUILD_DIR build-bench (Release, built here unless SOAK_NO_BUILD=1)
#   BENCH_DATA_PARENT /var/tmp  BENCH_KEEP=1 keeps the data, logs and samples
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BENCH_BUILD_DIR:-$root/build-bench}
parent=${BENCH_DATA_PARENT:-/var/tmp}
secs=${SOAK_SECONDS:-3600}
rate=${SOAK_RATE:-200}
senders=${SOAK_SENDERS:-5000}
sample=${SOAK_SAMPLE:-60}
warmup=${SOAK_WARMUP:-$((secs / 4 < 600 ? secs / 4 : 600))}
rss_slack=${SOAK_RSS_SLACK_KB:-8192}
fd_slack=${SOAK_FD_SLACK:-4}
p99_factor=${SOAK_P99_FACTOR:-2}
p99_floor=${SOAK_P99_FLOOR_MS:-10}
rss_check=${SOAK_RSS_CHECK:-1}

say() { printf '%s\n' "$*" >&2; }

if [ "${SOAK_NO_BUILD:-0}" != 1 ]; then
    say "== build (Release) in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHOTLINE_BENCH=ON >/dev/null
    cmake --build "$build" -j2 --target hotline bench_mock_twilio bench_loadgen >/dev/null
fi
hotline=$build/hotline

# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
bench_workdir hotline-soak

read -r port_hot port_mock < <(bench_ports 2)
bench_account
public=http://127.0.0.1:$port_hot
mock=http://127.0.0.1:$port_mock
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# No curl CLI needed (ctest runs this script on machines with README's packages only).
http_get() {
    python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}
wait_http() {
    for _ in $(seq 100); do
        http_get "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    say "no answer from $1"
    return 1
}

staff=""
for i in 1 2; do
    phone=$(printf '+1555000%04d' "$((9000 + i))")
    HOTLINE_DATA_DIR=$data HOTLINE_LISTEN=127.0.0.1:0 TWILIO_ACCOUNT_SID= TWILIO_AUTH_TOKEN= \
        "$hotline" staff add "staff$i" --phone "$phone" --on-call >/dev/null
    staff=${staff:+$staff,}$phone
done

n=$((rate * secs + rate * 10))
say "== generating $n signed webhooks (the dev set with STOP/START, $senders texters)"
python3 bench/gen_requests.py -n "$n" --seed 7 --with-opt-outs --senders "$senders" \
    --public-url "$public" \
    --sid "$sid" --token "$token" -o "$work/req.txt"
# One file per run: bench_loadgen reads its whole file at start, and a big file would
# leave a pause in the load (a lull lets the store catch up, which a soak must not).
split -l $((rate * sample)) -d -a 5 "$work/req.txt" "$work/chunk."
rm "$work/req.txt"

"$build/bench_mock_twilio" "$port_mock" --staff "$staff" 2>"$work/mock.log" &
pids+=("$!")
wait_http "$mock/count"
env HOTLINE_LISTEN=127.0.0.1:$port_hot HOTLINE_PUBLIC_URL=$public \
    TWILIO_ACCOUNT_SID=$sid TWILIO_AUTH_TOKEN=$token HOTLINE_TWILIO_API_BASE=$mock \
    HOTLINE_DATA_DIR=$data HOTLINE_REPLIES=$root/replies HOTLINE_LOG_LEVEL=warn \
    HOTLINE_REPAGE_SECONDS=300 HOTLINE_REPLY_BUDGET=1000 "$hotline" serve >"$work/hotline.out" 2>"$work/hotline.log" &
hot_pid=$!
pids+=("$hot_pid")
wait_http "$public/healthz"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$hot_pid/status"; }
fds() { find "/proc/$hot_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$hot_pid/status"; }
wal_kb() { echo $(($(stat -c %s "$data/hotline.db-wal" 2>/dev/null || echo 0) / 1024)); }

say "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $fs_type; ${rate}/s for ${secs}s, a sample every ${sample}s, warm-up ${warmup}s"
printf '%8s %8s %9s %4s %4s %8s %8s %8s %8s %7s %6s\n' t_s sent rss_kb fds thr wal_kb \
    p50_ms p99_ms max_ms non2xx late | tee "$work/samples.txt"
printf '%8s %8s %9s %4s %4s %8s %8s %8s %8s %7s %6s\n' 0 0 "$(rss)" "$(fds)" "$(threads)" \
    "$(wal_kb)" - - - - - | tee -a "$work/samples.txt"
run=0 elapsed=0 bad=0 total=0
while [ "$elapsed" -lt "$secs" ]; do
    d=$sample
    [ $((elapsed + d)) -gt "$secs" ] && d=$((secs - elapsed))
    chunk=$(printf '%s/chunk.%05d' "$work" "$run")
    out=$("$build/bench_loadgen" -u "$public" -f "$chunk" -c 8 -d "$d" -r "$rate" --no-wrap \
        2>>"$work/loadgen.log" | grep '^RESULT')
    rm -f "$chunk"
    run=$((run + 1))
    elapsed=$((elapsed + d))
    total=$((total + $(field ok "$out")))
    bad=$((bad + $(field non2xx "$out") + $(field errors "$out")))
    printf '%8s %8s %9s %4s %4s %8s %8s %8s %8s %7s %6s\n' "$elapsed" "$(field sent "$out")" \
        "$(rss)" "$(fds)" "$(threads)" "$(wal_kb)" "$(field p50_ms "$out")" \
        "$(field p99_ms "$out")" "$(field max_ms "$out")" \
        "$(($(field non2xx "$out") + $(field errors "$out")))" "$(field late "$out")" |
        tee -a "$work/samples.txt"
done

sleep 2 # the outbox's last sends
counts=$(http_get "$mock/count")
kill -TERM "$hot_pid"
stop_rc=0
wait "$hot_pid" || stop_rc=$?
audit=$(python3 - "$data/hotline.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
q = lambda s: db.execute(s).fetchone()[0]
states = ", ".join("%s %d" % r for r in db.execute(
    "SELECT state, count(*) FROM jobs GROUP BY state ORDER BY 2 DESC"))
print("inbound %d, escalations %d (urgent %d), jobs: %s" % (
    q("SELECT count(*) FROM inbound"), q("SELECT count(*) FROM escalations"),
    q("SELECT count(*) FROM escalations WHERE level = 'urgent'"), states))
PY
)

rc=0
python3 - "$work/samples.txt" "$warmup" "$rss_slack" "$fd_slack" "$p99_factor" "$p99_floor" \
    "$rss_check" "$bad" "$stop_rc" <<'PY' || rc=$?
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r[0] != "t_s"]
warmup, rss_slack, fd_slack = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
factor, floor, rss_check = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7] == "1"
bad, stop_rc = int(sys.argv[8]), int(sys.argv[9])
steady = [r for r in rows if int(r[0]) >= warmup and r[6] != "-"]
if not steady:
    steady = [r for r in rows if r[6] != "-"]
first, last = steady[0], rows[-1]
med = lambda v: sorted(v)[len(v) // 2]
p99_first = med([float(r[7]) for r in steady[:3]])
p99_last = med([float(r[7]) for r in steady[-3:]])
rss_growth = int(last[2]) - int(first[2])
fd_growth = int(last[3]) - int(first[3])
print("after warm-up (t=%ss) -> end (t=%ss): RSS %s -> %s KiB (%+d), fds %s -> %s (%+d), "
      "p99 %.1f -> %.1f ms (median of the first and last 3 samples), max RSS %d KiB"
      % (first[0], last[0], first[2], last[2], rss_growth, first[3], last[3], fd_growth,
         p99_first, p99_last, max(int(r[2]) for r in rows)))
fail = []
if rss_check and rss_growth > rss_slack:
    fail.append("RSS grew %d KiB (> %d)" % (rss_growth, rss_slack))
if fd_growth > fd_slack:
    fail.append("descriptors grew by %d (> %d)" % (fd_growth, fd_slack))
if p99_last > factor * p99_first and p99_last > floor:
    fail.append("p99 drifted from %.1f to %.1f ms" % (p99_first, p99_last))
if bad:
    fail.append("%d webhooks not answered 2xx" % bad)
if stop_rc:
    fail.append("hotline exited %d on SIGTERM" % stop_rc)
print("SOAK " + ("FAIL: " + "; ".join(fail) if fail else "OK"))
sys.exit(1 if fail else 0)
PY

cat <<EOF
webhooks answered 2xx: $total; mock: $counts
database: $audit
hotline exit status after SIGTERM: $stop_rc; warning/error log lines: $(grep -c 'level=\(warn\|error\)' "$work/hotline.log" || true) (escalation lines $(grep -c 'event=escalation ' "$work/hotline.log" || true), repage lines $(grep -c 'event=repage ' "$work/hotline.log" || true))
EOF
exit $rc
