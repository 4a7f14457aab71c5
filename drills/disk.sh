#!/usr/bin/env bash
# Disk trouble drill (issue 7): the data folder's file system fills up (tmpfs) or turns
# read-only (ext4 on a loop device, remount,abort) under the running service; webhooks
# must get 5xx (never a 2xx for a text not stored), /healthz 503, and the service must
# recover with the disk (tests/unit/test_drill_disk.c). Needs root.
#   drills/disk.sh                        # DRILL_FAULT_MS=30000 of failing disk
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=drills/common.sh
. "$root/drills/common.sh"
export DRILL_FAULT_MS=${DRILL_FAULT_MS:-30000} DRILL_DISK_MB=${DRILL_DISK_MB:-64}
drill_build test_drill_disk
drill_run test_drill_disk
