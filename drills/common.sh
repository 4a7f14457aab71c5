# shellcheck shell=bash
# Shared by drills/crash.sh, outage.sh and disk.sh (sourced after they set root): build
# the drill's cmocka test in DRILL_BUILD_DIR (default build/, the tree README's test
# command uses) and run it with the full-size knobs the caller exported, printing its
# "DRILL ..." lines. The tests are the ones ctest runs with small numbers
# (tests/unit/test_drill_*.c); see drills/README.md.
build=${DRILL_BUILD_DIR:-$root/build}

drill_build() { # drill_build TARGET
    printf '== build %s in %s\n' "$1" "$build" >&2
    cmake -S "$root" -B "$build" >/dev/null
    cmake --build "$build" -j2 --target hotline "$1" >/dev/null
}

drill_run() { # drill_run TARGET: runs it, prints its DRILL lines, returns its status
    local log rc=0
    log=$(mktemp)
    "$build/$1" >"$log" 2>&1 || rc=$?
    grep -E '^(DRILL|duplicate:)' "$log" || true
    if [ "$rc" != 0 ]; then
        printf '== %s FAILED (exit %d):\n' "$1" "$rc" >&2
        cat "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}
