#!/usr/bin/env bash
# Throughput of `hotline match`: the dev set repeated to 100,000 lines, classified in
# one run, best of five. Usage: bench/match.sh [path/to/hotline] [lines]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/hotline}
lines=${2:-100000}
dev=tests/data/eval-dev.jsonl
input=$(mktemp /tmp/hotline-bench-XXXXXX.jsonl)
trap 'rm -f "$input"' EXIT

python3 - "$dev" "$lines" >"$input" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
for i in range(n):
    r = rows[i % len(rows)]
    print(json.dumps({"id": "b%06d" % i, "body": r["body"]}))
PY

best=""
for run in 1 2 3 4 5; do
    start=$(date +%s.%N)
    "$bin" match <"$input" >/dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
startup_start=$(date +%s.%N)
echo '{"id":"x","body":"hi"}' | "$bin" match >/dev/null
startup=$(echo "$(date +%s.%N) - $startup_start" | bc -l)
printf 'hotline match: %d texts in %.3f s (best of 5) = %.0f texts/s, start-up %.3f s, %d CPUs\n' \
    "$lines" "$best" "$(echo "$lines / $best" | bc -l)" "$startup" "$(nproc)"
