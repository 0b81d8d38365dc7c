#!/usr/bin/env bash
# SIGKILL test (issue 3: promptrel never loses a release).
#
# Builds the release binary, then in a temp dir starts a writer (a loop of
# mixed promptrel commands that write) KILLS times, kills it with SIGKILL
# at a random moment within its first few
# commands (a few ms), and checks after every kill that `fsck` finds only
# crash leftovers (torn record, temp file, ref one move behind its log) that
# `fsck --repair` fixes, and that no acknowledged command is missing from the
# changelog. Prints kills, kills that left leftovers, repairs by kind, ops
# acknowledged and ops lost (must be 0); exits 1 on any failure, keeping the
# store for inspection.
#
# usage: scripts/killtest.sh            # 1000 kills, a few minutes
#        KILLS=50 scripts/killtest.sh   # quick
# knobs: KILLS (1000), MIN_WINDOW_MS (30), REPAIR_PROB (0.5), SEED
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/killtest.py --bin target/release/promptrel --kills "${KILLS:-1000}" "$@"
