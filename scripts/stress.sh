#!/usr/bin/env bash
# Concurrency stress run (issue 3: promptrel never loses a release).
#
# Runs the suite's concurrency test at full size with the release build:
# PROCS real promptrel processes at once, OPS mixed commands each (add
# --label, promote, promote --expect, rollback, label, a refused protected
# move, show) on one shared prompt and three namespaced ones. The test checks
# that every command that exited 0 is in the changelog exactly once with the
# ids it printed, that failures have documented exit codes and leave no
# trace, that every log chains and every ref equals its log's end, and that
# `fsck` exits 0. It prints processes, ops attempted, succeeded, failed by
# reason, records checked and wall time.
#
# usage: scripts/stress.sh                    # 16 x 500
#        PROCS=32 OPS=1000 scripts/stress.sh
#        SEED=123 scripts/stress.sh           # replay a run's choice of commands
set -euo pipefail
cd "$(dirname "$0")/.."
export PROMPTREL_STRESS_PROCS="${PROCS:-16}" PROMPTREL_STRESS_OPS="${OPS:-500}"
if [[ -n ${SEED:-} ]]; then export PROMPTREL_STRESS_SEED=$SEED; fi
exec cargo test --release --test cli -- --exact concurrency::concurrent_writers_lose_nothing --nocapture
