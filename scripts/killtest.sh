#!/usr/bin/env bash
# SIGKILL test (issue 3: promptrel never loses a release).
#
# Builds the release binary, then in a temp dir starts a writer (a loop of
# mixed promptrel commands that write: add, promote, rollback, label, and
# multi-prompt `release` and `rollback --release`) KILLS times, kills it with
# SIGKILL at a random moment within its first few commands (a few ms), and
# checks after every kill that:
# - before any repair, `promptrel show` sees every release whole (each of
#   its labels at the new value, through releases/+pending, or each at the
#   old one);
# - `fsck` finds only crash leftovers (temp-file, ref-behind-log,
#   pending-release), which `fsck --repair` or the next writer fix;
# - the changelog (format 3: one file per record, in its log's folder, read from
#   the record files; a pack readers would use must hold exactly them) only
#   grew by new files, none changed or removed; every log chains (seq 1, 2,
#   3, …, each `from` the `to` before it), every undo went where the undo
#   walk says, every release's moves are recorded in their labels' logs;
# - no acknowledged command is missing from the changelog, and each is
#   there exactly once.
# Prints kills, kills that left leftovers (and a pending release), repairs
# by kind, ops acknowledged by kind, records checked and ops lost (must be
# 0); exits 1 on any failure, keeping the store for inspection.
#
# usage: scripts/killtest.sh            # 1000 kills, a few minutes
#        KILLS=50 scripts/killtest.sh   # quick
# knobs: KILLS (1000), MIN_WINDOW_MS (30), REPAIR_PROB (0.5), SEED
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/killtest.py --bin target/release/promptrel --kills "${KILLS:-1000}" "$@"
