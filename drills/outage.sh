#!/usr/bin/env bash
# Gateway outage drill (issue 7): the mock gateway answers 500 for a minute, then (a second
# run) hangs without answering for a minute, then recovers; every reply and page must be
# delivered exactly once afterwards, pages first (tests/unit/test_drill_outage.c).
#   drills/outage.sh                      # DRILL_OUTAGE_MS=60000 DRILL_HANG_MS=60000
#   DRILL_TEXTS=200 drills/outage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=drills/common.sh
. "$root/drills/common.sh"
export DRILL_OUTAGE_MS=${DRILL_OUTAGE_MS:-60000} DRILL_HANG_MS=${DRILL_HANG_MS:-60000}
export DRILL_TEXTS=${DRILL_TEXTS:-60}
drill_build test_drill_outage
drill_run test_drill_outage
