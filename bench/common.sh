# Shared by bench/serve.sh and bench/escalation.sh (sourced, after they define say and
# parent): a work folder on a real disk, and cleanup of every process the script started
# (append their pids to the pids array).

# bench_workdir PREFIX: sets work and data; refuses tmpfs, since durability is the point.
bench_workdir() {
    mkdir -p "$parent"
    work=$(mktemp -d "$parent/$1.XXXXXX")
    data=$work/data
    mkdir -p "$data"
    fs_type=$(findmnt -n -o FSTYPE --target "$work" | head -1)
    case $fs_type in
    tmpfs | ramfs)
        say "refusing: $work is on $fs_type; durability is the point (set BENCH_DATA_PARENT)"
        rm -rf "$work"
        exit 1
        ;;
    esac
}

pids=()
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ -n "${work:-}" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then
            say "kept $work"
        else
            rm -rf "$work"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
