#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET...]: builds the libFuzzer targets (clang, address and
# undefined sanitizers, in build-fuzz/) and runs each for SECONDS (default 600), one after
# the other, then prints how many inputs each executed. Exits non-zero when a target
# found something: the input is saved as build-fuzz/artifacts/<target>/crash-... (or
# leak-, timeout-, oom-); replay it with `build-fuzz/fuzz_<target> FILE`.
#
# Each target starts from its seeds in tests/fuzz/corpus/<target>/ and from what earlier
# runs found (build-fuzz/corpus/<target>/, kept between runs; new inputs go there, never
# into the repository). Dictionaries: tests/fuzz/<target>.dict when there is one.
# Targets run one at a time, single-threaded (the machine is shared). FUZZ_FLAGS adds
# libFuzzer flags, e.g. FUZZ_FLAGS=-max_len=65536.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-600}
shift || true
build=build-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DHOTLINE_FUZZ=ON \
    -DHOTLINE_BENCH=OFF >/dev/null
cmake --build "$build" -j2 --target hotline_fuzz >/dev/null

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in tests/fuzz/*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi

failed=0
summary=""
for t in "${targets[@]}"; do
    corpus="$build/corpus/$t"
    artifacts="$build/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    log="$build/fuzz-$t.log"
    echo "fuzz: $t for ${seconds}s (log: $log)"
    # -timeout: one input taking 10 s is a hang; -close_fd_mask=1: the targets' stdout
    # (hotline's own output) is noise, their stderr carries the sanitizer reports.
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -close_fd_mask=1 -artifact_prefix="$artifacts" "${dict[@]}" ${FUZZ_FLAGS:-} \
        "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "fuzz: $t FAILED (exit $rc); the end of its log:"
        grep -E 'ERROR|SUMMARY|property failed|Test unit written|did not close' "$log" | head -20
    fi
    summary+=$(printf '%-10s %12s executions %8s/s  coverage %6s  %s' "$t" "${runs:-?}" \
        "${rate:-?}" "${cov:-?}" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)")$'\n'
done
echo
echo "fuzz: ${seconds}s per target"
printf '%s' "$summary"
exit $failed
