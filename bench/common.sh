# Shared by bench/serve.sh, bench/escalation.sh and drills/soak.sh (sourced, after they
# define say and parent): a work folder on a real disk, free loopback ports, a made-up
# Twilio account, and cleanup of every process the script started (append their pids to
# the pids array).

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

# bench_ports N: N free loopback ports, on one line.
bench_ports() {
    python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])' "$1"
}

# bench_account: sets sid and token, a random account for the mock Messages API.
bench_account() {
    sid=AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
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
