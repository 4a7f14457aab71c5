#!/usr/bin/env bash
# Crash drill (issue 7): signed webhooks sent steadily, hotline serve SIGKILLed at random
# moments and restarted DRILL_KILLS times (20), the sender retrying every webhook until 2xx;
# then the store and the mock gateway are audited (tests/unit/test_drill_crash.c).
#   drills/crash.sh                       # 20 kills, 100 texts/s, up to 2 s between kills
#   DRILL_KILLS=50 DRILL_RATE=200 drills/crash.sh
# Prints one "DRILL crash ..." line, and one "duplicate:" line per reply or page the
# gateway accepted twice (with how long before the kill the first copy was accepted).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=drills/common.sh
. "$root/drills/common.sh"
export DRILL_KILLS=${DRILL_KILLS:-20} DRILL_RATE=${DRILL_RATE:-100} DRILL_UP_MS=${DRILL_UP_MS:-2000}
export DRILL_VERBOSE=1
drill_build test_drill_crash
drill_run test_drill_crash
