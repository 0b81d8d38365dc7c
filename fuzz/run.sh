#!/usr/bin/env bash
# Run promptrel's fuzz targets one after the other.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 300, all four)
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain,
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass the nightly-only sanitizer flags.
# Corpora grow in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>),
# crashes land in fuzz/artifacts/<target>, logs in fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(rev names changelog config)

export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    args=(-max_total_time="$secs" -print_final_stats=1)
    [[ -f "fuzz/dict/$t.dict" ]] && args+=(-dict="fuzz/dict/$t.dict")
    echo "==> $t for ${secs}s"
    cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- "${args[@]}" \
        >"fuzz/logs/$t.log" 2>&1 || { echo "$t FAILED, see fuzz/logs/$t.log"; continue; }
    grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' "fuzz/logs/$t.log" || true
done
