#!/usr/bin/env bash
# Escalation latency of `hotline serve`: time from an urgent webhook to its page at the
# gateway, under a background load of FAQ texts (see bench/README.md).
#
#   bench/escalation.sh
#
# Builds (Release) hotline and the bench tools, then on loopback:
#   - bench_mock_twilio as the Messages API, told the staff phones (--staff) so that it
#     records the arrival time of every page and the texter the page names; it is also
#     the chat webhook (HOTLINE_STAFF_WEBHOOK_URL=.../hooks/chat), so every escalation
#     event is posted as in production;
#   - hotline serve with BENCH_STAFF on-call staff (each urgent text pages all of them),
#     signed webhooks, a re-page interval longer than the run;
#   - background: bench_loadgen, open loop, BENCH_FAQ_RATE FAQ texts/s (texts that
#     escalate nothing, gen_requests.py --kind faq), for the whole run;
#   - foreground: BENCH_URGENT urgent texts (gen_requests.py --kind urgent: each from its
#     own texter, so each opens an escalation and pages) sent by send_timed.py at
#     BENCH_URGENT_RATE/s, which writes the moment each one left;
# then joins sends and pages by texter number and prints p50/p90/p99/max of
# webhook sent -> page arrived (every page, and the first page of each text), audits the
# database and stops hotline (exit 0 expected). Knobs (environment):
#   BENCH_BUILD_DIR    build directory                  (default build-bench)
#   BENCH_DATA_PARENT  where the temp data dir goes, a real disk (default /var/tmp)
#   BENCH_URGENT       urgent texts                     (default 1000)
#   BENCH_URGENT_RATE  urgent texts per second          (default 20)
#   BENCH_FAQ_RATE     background FAQ texts per second  (default 500)
#   BENCH_STAFF        on-call staff, pages per text    (default 2)
#   BENCH_CHAT=0       no chat webhook
#   BENCH_KEEP=1       keep the temp dir (database, logs, send and page times)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BENCH_BUILD_DIR:-$root/build-bench}
parent=${BENCH_DATA_PARENT:-/var/tmp}
n_urgent=${BENCH_URGENT:-1000}
urgent_rate=${BENCH_URGENT_RATE:-20}
faq_rate=${BENCH_FAQ_RATE:-500}
n_staff=${BENCH_STAFF:-2}
chat=${BENCH_CHAT:-1}
t_start=$(date +%s)

say() { printf '%s\n' "$*" >&2; }

say "== build (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHOTLINE_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target hotline bench_mock_twilio bench_loadgen >/dev/null
hotline=$build/hotline

# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
bench_workdir hotline-escalation

read -r port_hot port_mock < <(bench_ports 2)
bench_account
public=http://127.0.0.1:$port_hot
mock=http://127.0.0.1:$port_mock

field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
metric() { curl -fsS "$public/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
wait_http() {
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    say "no answer from $1"
    return 1
}
gen() { # gen N SEED KIND FILE (as many texters as texts: see bench/serve.sh)
    python3 bench/gen_requests.py -n "$1" --seed "$2" --senders "$1" --kind "$3" \
        --public-url "$public" --sid "$sid" --token "$token" -o "$4"
}

# ---- staff: on call, each paged for every urgent text ----
staff_phones=""
for i in $(seq "$n_staff"); do
    phone=$(printf '+1555000%04d' "$((9000 + i))")
    HOTLINE_DATA_DIR=$data HOTLINE_LISTEN=127.0.0.1:0 TWILIO_ACCOUNT_SID= TWILIO_AUTH_TOKEN= \
        "$hotline" staff add "staff$i" --phone "$phone" --on-call >/dev/null
    staff_phones=${staff_phones:+$staff_phones,}$phone
done

say "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, data dir on $fs_type; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench_mock_twilio" "$port_mock" --staff "$staff_phones" 2>"$work/mock.log" &
mock_pid=$!
pids+=("$mock_pid")
wait_http "$mock/count"

chat_env=()
[ "$chat" = 1 ] && chat_env=(HOTLINE_STAFF_WEBHOOK_URL="$mock/hooks/chat")
env HOTLINE_LISTEN=127.0.0.1:$port_hot HOTLINE_PUBLIC_URL=$public \
    TWILIO_ACCOUNT_SID=$sid TWILIO_AUTH_TOKEN=$token HOTLINE_TWILIO_API_BASE=$mock \
    HOTLINE_DATA_DIR=$data HOTLINE_REPLIES=$root/replies HOTLINE_LOG_LEVEL=warn \
    HOTLINE_REPAGE_SECONDS=86400 "${chat_env[@]}" \
    "$hotline" serve >"$work/hotline.out" 2>"$work/hotline.log" &
hot_pid=$!
pids+=("$hot_pid")
wait_http "$public/healthz"

# The FAQ load runs from 2 s before the first urgent text to 3 s after the last.
urgent_secs=$(awk "BEGIN { printf \"%d\", $n_urgent / $urgent_rate + 0.999 }")
faq_secs=$((urgent_secs + 5))
say "== generating $n_urgent urgent and $((faq_rate * faq_secs + 1000)) FAQ webhooks"
gen "$n_urgent" 11 urgent "$work/urgent.txt"
gen $((faq_rate * faq_secs + 1000)) 12 faq "$work/faq.txt"

say "== FAQ load ${faq_rate}/s open loop for ${faq_secs}s; $n_urgent urgent texts at ${urgent_rate}/s from t+2s ($n_staff on-call staff, chat webhook $([ "$chat" = 1 ] && echo on || echo off))"
"$build/bench_loadgen" -u "$public" -f "$work/faq.txt" -c 16 -d "$faq_secs" -r "$faq_rate" \
    --no-wrap >"$work/faq.result" 2>"$work/loadgen.log" &
load_pid=$!
pids+=("$load_pid")
sleep 2
python3 bench/send_timed.py --url "$public" -f "$work/urgent.txt" -r "$urgent_rate" \
    -o "$work/sends.txt"
wait "$load_pid"
faq=$(grep '^RESULT' "$work/faq.result")

# Every page sent (each text pages every staff phone), or 30 s.
want=$((n_urgent * n_staff))
for _ in $(seq 300); do
    got=$(curl -fsS "$mock/count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pages"])')
    [ "$got" -ge "$want" ] && break
    sleep 0.1
done
sleep 1 # the chat messages of the last escalations
curl -fsS "$mock/pages" >"$work/pages.txt"
counts=$(curl -fsS "$mock/count")

kill -TERM "$hot_pid"
stop_rc=0
wait "$hot_pid" || stop_rc=$?

audit="(sqlite3 not installed: no audit)"
if command -v sqlite3 >/dev/null; then
    audit=$(sqlite3 "$data/hotline.db" "
        SELECT 'escalations ' || (SELECT count(*) FROM escalations)
          || ' (urgent ' || (SELECT count(*) FROM escalations WHERE level = 'urgent') || ')'
          || ', page jobs ' || (SELECT count(*) FROM jobs WHERE kind = 'page')
          || ' (sent ' || (SELECT count(*) FROM jobs WHERE kind = 'page' AND state = 'sent') || ')'
          || ', inbound ' || (SELECT count(*) FROM inbound)
          || ', reply jobs sent ' || (SELECT count(*) FROM jobs WHERE kind = 'reply' AND state = 'sent');")
fi
# An urgent escalation is logged at warn by design (event=escalation): count the others.
log_lines=$(grep -vc 'event=escalation ' "$work/hotline.log" || true)

python3 - "$work/sends.txt" "$work/pages.txt" "$n_staff" <<'PY'
import sys
sends = {}
for line in open(sys.argv[1]):
    t, status, frm, _ = line.split()
    sends[frm] = float(t)
pages = {}
for line in open(sys.argv[2]):
    t, to, texter = line.split()
    if texter in sends:
        pages.setdefault(texter, []).append(float(t))
n_staff = int(sys.argv[3])
every = sorted((t - sends[k]) * 1000 for k, ts in pages.items() for t in ts)
first = sorted((min(ts) - sends[k]) * 1000 for k, ts in pages.items())
last = sorted((max(ts) - sends[k]) * 1000 for k, ts in pages.items())
missing = sum(1 for k in sends if len(pages.get(k, [])) < n_staff)
def pct(v, p):
    return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else float("nan")
def row(name, v):
    print("%-34s n=%-5d p50 %6.1f ms  p90 %6.1f ms  p99 %6.1f ms  max %6.1f ms"
          % (name, len(v), pct(v, 50), pct(v, 90), pct(v, 99), v[-1] if v else float("nan")))
print()
print("webhook sent -> page at the gateway (mock), %d urgent texts, %d pages each:"
      % (len(sends), n_staff))
row("every page", every)
row("first page of each text", first)
row("last page of each text", last)
print("texts with a page missing: %d" % missing)
PY
cat <<EOF
FAQ background: $(field ok_rate "$faq")/s achieved of ${faq_rate}/s, p50 $(field p50_ms "$faq") ms, p99 $(field p99_ms "$faq") ms (webhook -> 200), late $(field late "$faq"), non-2xx $(field non2xx "$faq"), errors $(field errors "$faq")
mock: $counts
database: $audit
hotline exit status after SIGTERM: $stop_rc; warning/error log lines other than event=escalation: $log_lines
total time $(($(date +%s) - t_start)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
