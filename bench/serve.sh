#!/usr/bin/env bash
# The service benchmark of `hotline serve`, in one command (see bench/README.md):
#
#   bench/serve.sh
#
# Builds (Release) hotline and the bench tools, then on loopback:
#   0. bench_mock_twilio (the Messages API) and bench_ceiling (bare evhttp, 200 + empty TwiML)
#   a. the ceiling's peak rate, closed loop, for each connection count in BENCH_CONNS
#   b. hotline's peak durable webhooks/s, closed loop, same tool and connection counts,
#      signed webhooks, every one committed (SQLite, synchronous=FULL) before its 200
#   c. latency at half of hotline's peak rate, open loop (from the scheduled send time)
#   d. replies reaching the mock during (b), and mock count vs accepted webhooks
#   e. hotline's peak RSS (VmHWM)
# then a re-check of the ceiling, an audit of the database, and a summary. Every process
# it starts is stopped on exit. Knobs (environment):
#   BENCH_BUILD_DIR   build directory            (default build-bench)
#   BENCH_DATA_PARENT where the temp data dir goes, must be a real disk (default /var/tmp)
#   BENCH_CONNS       connection counts           (default "16 32 64")
#   BENCH_SECS        seconds per peak phase      (default 10)
#   BENCH_CEIL_SECS   seconds per ceiling phase   (default 5)
#   BENCH_HALF_SECS   seconds of the open loop    (default 15)
#   BENCH_KEEP=1      keep the temp dir (database, logs, request files)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BENCH_BUILD_DIR:-$root/build-bench}
conns=${BENCH_CONNS:-"16 32 64"}
secs=${BENCH_SECS:-10}
ceil_secs=${BENCH_CEIL_SECS:-5}
half_secs=${BENCH_HALF_SECS:-15}
parent=${BENCH_DATA_PARENT:-/var/tmp}
t_start=$(date +%s)

say() { printf '%s\n' "$*" >&2; }

# ---- build ----
say "== build (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHOTLINE_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target hotline bench_ceiling bench_mock_twilio bench_loadgen \
    >/dev/null
hotline=$build/hotline
loadgen=$build/bench_loadgen

# ---- the temp dir, on a real disk ----
# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
bench_workdir hotline-bench
fs_src=$(findmnt -n -o SOURCE --target "$work" | head -1)
fs_opts=$(findmnt -n -o OPTIONS --target "$work" | head -1)

read -r port_hot port_mock port_ceil < <(bench_ports 3)
bench_account
public=http://127.0.0.1:$port_hot

# ---- helpers ----
field() { # field KEY "RESULT ..." -> value
    sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"
}
calc() { awk "BEGIN { printf \"%.${2:-0}f\", ($1) }"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
metric() { # metric NAME_WITH_LABELS -> value from hotline's /metrics
    curl -fsS "$public/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
wait_http() { # wait_http URL: up to 10 s
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    say "no answer from $1"
    return 1
}
clk=$(getconf CLK_TCK)
proc_cpu() { # CPU seconds (user+system) of a pid or pid/task/tid
    awk -v t="$clk" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"
}
machine_busy() { # busy CPU seconds of the whole machine since boot (steal apart)
    awk -v t="$clk" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / t }' /proc/stat
}
machine_steal() { # CPU seconds the hypervisor gave to others
    awk -v t="$clk" '/^cpu / { print $9 / t }' /proc/stat
}
# CPU use around a phase: snap before, report after ("hotline 95% main 80% ...").
snap() {
    snap_t=$(date +%s.%N)
    snap_machine=$(machine_busy)
    snap_steal=$(machine_steal)
    snap_hot_main=$( [ -n "${hot_pid:-}" ] && proc_cpu "$hot_pid/task/$hot_pid" || echo 0)
    snap_srv=$(proc_cpu "$1")
    snap_mock=$(proc_cpu "$mock_pid")
}
cpu_report() { # cpu_report SERVER_PID LOADGEN_CPU_S -> one line
    local dt machine srv mock others hot_main steal
    dt=$(calc "$(date +%s.%N) - $snap_t" 3)
    machine=$(calc "($(machine_busy) - $snap_machine) / $dt * 100")
    steal=$(calc "($(machine_steal) - $snap_steal) / $dt * 100")
    srv=$(calc "($(proc_cpu "$1") - $snap_srv) / $dt * 100")
    mock=$(calc "($(proc_cpu "$mock_pid") - $snap_mock) / $dt * 100")
    others=$(calc "$machine - $srv - $mock - $2 / $dt * 100")
    if [ "$1" = "${hot_pid:-x}" ]; then
        hot_main=$(calc "($(proc_cpu "$hot_pid/task/$hot_pid") - $snap_hot_main) / $dt * 100")
        printf 'cpu%%: machine %s/200 (+ steal %s), hotline %s (main thread %s, writer and any other threads %s), mock %s, loadgen %s, rest of the machine %s' \
            "$machine" "$steal" "$srv" "$hot_main" "$(calc "$srv - $hot_main")" "$mock" \
            "$(calc "$2 / $dt * 100")" "$others"
    else
        printf 'cpu%%: machine %s/200 (+ steal %s), server %s, loadgen %s, rest of the machine %s' \
            "$machine" "$steal" "$srv" "$(calc "$2 / $dt * 100")" "$(calc "$others + $mock")"
    fi
}
gen() { # gen N SEED FILE
    # As many texters as texts (a few texts each, as people send): a small pool would have
    # each number text hundreds of times a minute, which the conversation's reply budget
    # and loop guard rightly stop answering (src/conversation.c).
    python3 bench/gen_requests.py -n "$1" --seed "$2" --senders "$1" --public-url "$public" \
        --sid "$sid" --token "$token" -o "$3"
}
wait_drain() { # until hotline has no job queued or in flight and no webhook pending
    local t0 q f p
    t0=$(date +%s.%N)
    for _ in $(seq 600); do
        q=$(metric hotline_outbox_queue_depth)
        f=$(metric hotline_outbox_in_flight)
        p=$(metric hotline_webhooks_pending)
        if [ "$q" = 0 ] && [ "$f" = 0 ] && [ "$p" = 0 ]; then
            drain_s=$(calc "$(date +%s.%N) - $t0" 1)
            return 0
        fi
        sleep 0.1
    done
    drain_s=timeout
}

say "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), data dir $data on $fs_type ($fs_src, $fs_opts)"
say "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 0. the mock and the ceiling ----
"$build/bench_mock_twilio" "$port_mock" 2>"$work/mock.log" &
mock_pid=$!
pids+=("$mock_pid")
"$build/bench_ceiling" "$port_ceil" 2>"$work/ceiling.log" &
ceil_pid=$!
pids+=("$ceil_pid")
wait_http "http://127.0.0.1:$port_mock/count"

say "== generating requests"
gen 20000 1 "$work/warm.txt" # the ceiling (wraps: it does not care) and hotline's warm-up

# ---- a. the ceiling ----
declare -A ceil_rate ceil_p99 hot_rate hot_p50 hot_p99 hot_replies_window hot_replies_rate \
    hot_mock hot_ok hot_cpu
say "== a. ceiling (bench_ceiling), closed loop, ${ceil_secs}s per connection count"
for c in $conns; do
    snap "$ceil_pid"
    r=$("$loadgen" -u "http://127.0.0.1:$port_ceil" -f "$work/warm.txt" -c "$c" -d "$ceil_secs" \
        2>>"$work/loadgen.log")
    cpu=$(cpu_report "$ceil_pid" "$(field cpu_s "$r")")
    ceil_rate[$c]=$(field ok_rate "$r")
    ceil_p99[$c]=$(field p99_ms "$r")
    say "   C=$c: $(calc "${ceil_rate[$c]}")/s, p50 $(field p50_ms "$r") ms, p99 ${ceil_p99[$c]} ms, errors $(field errors "$r"); $cpu"
done

# ---- hotline ----
say "== starting hotline serve (signed webhooks, mock gateway, HOTLINE_LOG_LEVEL=warn)"
HOTLINE_LISTEN=127.0.0.1:$port_hot HOTLINE_PUBLIC_URL=$public \
    TWILIO_ACCOUNT_SID=$sid TWILIO_AUTH_TOKEN=$token \
    HOTLINE_TWILIO_API_BASE=http://127.0.0.1:$port_mock \
    HOTLINE_DATA_DIR=$data HOTLINE_REPLIES=$root/replies HOTLINE_LOG_LEVEL=warn \
    "$hotline" serve >"$work/hotline.out" 2>"$work/hotline.log" &
hot_pid=$!
pids+=("$hot_pid")
wait_http "$public/healthz"
mock_total=0

# Warm-up: the database's first pages, the matcher's caches, the mock's connections.
curl -fsS -X POST "http://127.0.0.1:$port_mock/reset" >/dev/null
r=$("$loadgen" -u "$public" -f "$work/warm.txt" -c 32 -d 3 --no-wrap 2>>"$work/loadgen.log")
warm_rate=$(field ok_rate "$r")
say "   warm-up (3 s, C=32): $(calc "$warm_rate")/s, non-2xx $(field non2xx "$r"), errors $(field errors "$r")"
[ "$(field ok "$r")" -gt 0 ] || { say "hotline accepted nothing: see $work/hotline.log"; BENCH_KEEP=1; exit 1; }
wait_drain
mock_total=$((mock_total + $(curl -fsS "http://127.0.0.1:$port_mock/count" | json_field count)))
accepted_total=$(field ok "$r")

# Enough fresh MessageSids for every peak phase (twice the warm-up rate, at least 20000
# a phase); a phase that still runs out ends early and says so.
n_phase=$(calc "($warm_rate * 2 * $secs > 20000) ? $warm_rate * 2 * $secs : 20000")
n_conns=$(wc -w <<<"$conns")
say "== generating $((n_phase * n_conns)) requests for the peak phases"
gen $((n_phase * n_conns)) 2 "$work/peak.txt"

# ---- b + d. hotline's peak ----
say "== b. hotline peak, closed loop, ${secs}s per connection count (replies: d)"
start=0
for c in $conns; do
    curl -fsS -X POST "http://127.0.0.1:$port_mock/reset" >/dev/null
    snap "$hot_pid"
    commits0=$(metric hotline_store_commits_total)
    r=$("$loadgen" -u "$public" -f "$work/peak.txt" -s "$start" -c "$c" -d "$secs" --no-wrap \
        2>>"$work/loadgen.log")
    cpu=$(cpu_report "$hot_pid" "$(field cpu_s "$r")")
    commits=$(($(metric hotline_store_commits_total) - commits0))
    window=$(curl -fsS "http://127.0.0.1:$port_mock/count" | json_field count)
    start=$(field next "$r")
    wait_drain
    m=$(curl -fsS "http://127.0.0.1:$port_mock/count")
    hot_rate[$c]=$(field ok_rate "$r")
    hot_ok[$c]=$(field ok "$r")
    hot_p50[$c]=$(field p50_ms "$r")
    hot_p99[$c]=$(field p99_ms "$r")
    hot_mock[$c]=$(json_field count <<<"$m")
    hot_replies_rate[$c]=$(json_field rate <<<"$m")
    hot_replies_window[$c]=$(calc "$window / $(field secs "$r")")
    hot_cpu[$c]=$cpu
    mock_total=$((mock_total + hot_mock[$c]))
    accepted_total=$((accepted_total + hot_ok[$c]))
    extra=""
    [ "$(field exhausted "$r")" = 1 ] && extra=" (ran out of requests: ended early)"
    say "   C=$c: ${hot_rate[$c]} durable webhooks/s$extra, p50 ${hot_p50[$c]} ms, p99 ${hot_p99[$c]} ms, non-2xx $(field non2xx "$r"), errors $(field errors "$r"), $commits commits (~$(calc "${hot_ok[$c]} / ($commits > 0 ? $commits : 1)" 1) webhooks per commit incl. job updates)"
    say "        replies: ${hot_replies_window[$c]}/s during the load, mock got ${hot_mock[$c]} for ${hot_ok[$c]} accepted (at ${hot_replies_rate[$c]}/s, drained ${drain_s}s after the load)"
    say "        $cpu"
done

best_c=""
for c in $conns; do
    if [ -z "$best_c" ] || [ "$(calc "${hot_rate[$c]} > ${hot_rate[$best_c]}")" = 1 ]; then
        best_c=$c
    fi
done
peak=${hot_rate[$best_c]}

# ---- c. latency at half the peak, open loop ----
half=$(calc "$peak / 2")
say "== c. open loop at half the peak: $half/s for ${half_secs}s, C=$best_c"
n_half=$(calc "$half * $half_secs + 1000")
gen "$n_half" 3 "$work/half.txt"
curl -fsS -X POST "http://127.0.0.1:$port_mock/reset" >/dev/null
snap "$hot_pid"
r=$("$loadgen" -u "$public" -f "$work/half.txt" -c "$best_c" -d "$half_secs" -r "$half" --no-wrap \
    2>>"$work/loadgen.log")
half_cpu=$(cpu_report "$hot_pid" "$(field cpu_s "$r")")
half_r=$r
wait_drain
half_mock=$(curl -fsS "http://127.0.0.1:$port_mock/count" | json_field count)
mock_total=$((mock_total + half_mock))
accepted_total=$((accepted_total + $(field ok "$r")))
say "   achieved $(field ok_rate "$r")/s, p50 $(field p50_ms "$r") ms, p90 $(field p90_ms "$r") ms, p99 $(field p99_ms "$r") ms, max $(field max_ms "$r") ms, late $(field late "$r"), non-2xx $(field non2xx "$r"), errors $(field errors "$r"); mock got $half_mock for $(field ok "$r")"
say "   $half_cpu"

# ---- e. peak RSS, then stop hotline ----
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$hot_pid/status")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$hot_pid/status")
webhook_metrics=$(curl -fsS "$public/metrics" | grep -E '^hotline_(webhooks|replies)_total' |
    awk '$2 != 0' | tr '\n' ' ')
kill -TERM "$hot_pid"
stop_rc=0
wait "$hot_pid" || stop_rc=$?
hot_pid=""

# ---- a'. the ceiling again, at the best connection count (how noisy is the machine?) ----
snap "$ceil_pid"
r=$("$loadgen" -u "http://127.0.0.1:$port_ceil" -f "$work/warm.txt" -c "$best_c" -d "$ceil_secs" \
    2>>"$work/loadgen.log")
ceil_again=$(field ok_rate "$r")
ceil_again_cpu=$(cpu_report "$ceil_pid" "$(field cpu_s "$r")")
say "== a'. ceiling re-check at C=$best_c: $(calc "$ceil_again")/s; $ceil_again_cpu"

# ---- the database ----
audit="(sqlite3 not installed: no audit)"
if command -v sqlite3 >/dev/null; then
    audit=$(sqlite3 "$data/hotline.db" "
        SELECT 'inbound ' || (SELECT count(*) FROM inbound)
          || ', reply jobs ' || (SELECT count(*) FROM jobs WHERE kind = 'reply')
          || ', page jobs ' || (SELECT count(*) FROM jobs WHERE kind = 'page')
          || ', jobs by state: ' || (SELECT group_concat(state || '=' || n, ' ') FROM
               (SELECT state, count(*) n FROM jobs GROUP BY state))
          || ', inbound without a reply job ' || (SELECT count(*) FROM inbound i WHERE NOT
               EXISTS (SELECT 1 FROM jobs j WHERE j.inbound_id = i.id AND j.kind = 'reply'))
          || ', inbound with more than one reply job ' || (SELECT count(*) FROM (SELECT
               inbound_id FROM jobs WHERE kind = 'reply' GROUP BY inbound_id
               HAVING count(*) > 1))
          || ', opted-out senders ' || (SELECT count(*) FROM senders WHERE opted_out = 1);")
fi
warns=$(grep -c . "$work/hotline.log" || true)
db_size=$(du -sh "$data" | cut -f1)

# ---- summary ----
share=$(calc "$peak / ${ceil_rate[$best_c]} * 100")
share_again=$(calc "$peak / $ceil_again * 100")
exact="yes"
[ "$mock_total" = "$accepted_total" ] || exact="NO"
cat <<EOF

hotline serve benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), kernel $(uname -r)
data dir on $fs_type ($fs_src, $fs_opts); loopback; hotline, mock and load tool share the $(nproc) CPUs
load tool: bench_loadgen (1 thread), closed loop ${secs}s per C for the peaks, open loop ${half_secs}s at half the peak

connections   ceiling/s   hotline durable/s   share   hotline p50/p99 ms   replies/s during load
EOF
for c in $conns; do
    printf '%11s %11s %19s %6s%% %20s %23s\n' "$c" "$(calc "${ceil_rate[$c]}")" \
        "$(calc "${hot_rate[$c]}")" "$(calc "${hot_rate[$c]} / ${ceil_rate[$c]} * 100")" \
        "${hot_p50[$c]}/${hot_p99[$c]}" "${hot_replies_window[$c]}"
done
cat <<EOF

(b) peak: $(calc "$peak") durable webhooks/s at C=$best_c = $share% of the ceiling at C=$best_c ($(calc "${ceil_rate[$best_c]}")/s); ceiling re-checked after the run: $(calc "$ceil_again")/s ($share_again%)
(c) open loop at $half/s (half the peak), C=$best_c: p50 $(field p50_ms "$half_r") ms, p90 $(field p90_ms "$half_r") ms, p99 $(field p99_ms "$half_r") ms, max $(field max_ms "$half_r") ms, late $(field late "$half_r"), achieved $(field ok_rate "$half_r")/s
(d) replies during the peak phase (C=$best_c): ${hot_replies_window[$best_c]}/s while loaded, mock count ${hot_mock[$best_c]} vs ${hot_ok[$best_c]} accepted; all phases: mock $mock_total vs accepted $accepted_total -> exactly one reply each: $exact
(e) peak RSS (VmHWM) $(calc "$hwm / 1024" 1) MiB (VmRSS at the end $(calc "$rss / 1024" 1) MiB); database dir $db_size
CPU at the peak (C=$best_c): ${hot_cpu[$best_c]}
CPU at half the peak: $half_cpu
hotline metrics: $webhook_metrics
database: $audit
hotline exit status after SIGTERM: $stop_rc; warning/error log lines: $warns
total time $(($(date +%s) - t_start)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
if [ "$warns" -gt 0 ]; then
    say "first log lines:"
    head -5 "$work/hotline.log" >&2
fi
