#!/usr/bin/env bash
# promptrel and git, side by side, on the same data, in one run.
#
#   bench/run.sh            full run: histories of 10, 1 000, 10 000 and 100 000
#                           versions, 10 000 distinct prompts; writes the table and
#                           the plot into PERFORMANCE.md and bench/cost.svg
#   bench/run.sh --quick    small sizes and few runs, to try the script (writes
#                           nothing outside the work folder)
#   bench/run.sh --data-only  build (or check) the data, time nothing
#
# Environment: BENCH_WORK (default ${TMPDIR:-/tmp}/promptrel-bench) holds the
# generated stores and repositories (about 1.5 GB for the full run; kept and
# reused while benches/gen.rs is unchanged). Needs hyperfine, GNU time, git,
# python3 and cargo; as root with apt-get, missing tools are installed.
#
# How the data is built: `cargo bench --bench gen` (benches/gen.rs) writes each
# store directly with the library's types (no fsync, so 100 000 events take
# seconds, not minutes) together with a `git fast-import` stream of the same
# versions; the git repository gets one commit per version, branches staging
# and prod, and a reflog entry per move, like promptrel's logs. Every store is
# checked with `promptrel fsck` before anything is timed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
COMMAND_LINE="bench/run.sh $*"

QUICK=0
DATA_ONLY=0
for arg in "$@"; do
    case "$arg" in
    --quick) QUICK=1 ;;
    --data-only) DATA_ONLY=1 ;;
    *) echo "usage: bench/run.sh [--quick] [--data-only]" >&2; exit 2 ;;
    esac
done

if ((QUICK)); then
    SIZES=(10 1000)
    PROMPTS=1000
    FAST=(--warmup 2 --min-runs 5 --max-runs 10)
    SLOW=(--warmup 1 --runs 2)
    IMPORT=("${SLOW[@]}")
else
    SIZES=(10 1000 10000 100000)
    PROMPTS=10000
    FAST=(--warmup 5 --min-runs 40 --max-runs 300)
    SLOW=(--warmup 1 --min-runs 5 --max-runs 10)
    # Imports vary most from run to run (the disk): a few more runs.
    IMPORT=(--warmup 1 --runs 8)
fi

WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/promptrel-bench}
OUT=$WORK/results
mkdir -p "$WORK"
rm -rf "$OUT"
mkdir -p "$OUT/json"

step() { printf '\n==> %s\n' "$*" >&2; }

# ----- tools -------------------------------------------------------------
need=()
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if ((${#need[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        step "apt-get install ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" </dev/null ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" </dev/null; }
    else
        echo "error: missing ${need[*]} (install them, or run as root with apt-get)" >&2
        exit 1
    fi
fi

# ----- a reproducible environment -----------------------------------------
# No user or system git config; identities from the environment for both tools.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
export PROMPTREL_AUTHOR="Bench <bench@example.com>"
# No background `git gc --auto` after the 10 000-file commit: it would run
# concurrently with the next timings (promptrel has no background work).
export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0
export GIT_CONFIG_KEY_1=maintenance.auto GIT_CONFIG_VALUE_1=false
unset PROMPTREL_DIR PROMPTREL_DATE PROMPTREL_CRASH_AT PROMPTREL_FAIL_AT || true
export LC_ALL=C

step "cargo build --release"
cargo build --release --locked --quiet
# Timed from a copy, so that a rebuild in the checkout mid-run changes nothing.
mkdir -p "$WORK/bin"
cp "$REPO/target/release/promptrel" "$WORK/bin/promptrel"
P=$WORK/bin/promptrel
# The same code linked statically (glibc), on x86-64 Linux where the static
# libraries are installed: shows what dynamic loading costs a cold `show`.
PS=""
if [[ $(uname -sm) == "Linux x86_64" && -f /usr/lib/x86_64-linux-gnu/libc.a ]] && ((!QUICK)); then
    step "cargo build --release (static variant, target/static)"
    RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=$REPO/target/static \
        cargo build --release --locked --quiet --target x86_64-unknown-linux-gnu
    cp "$REPO/target/static/x86_64-unknown-linux-gnu/release/promptrel" "$WORK/bin/promptrel-static"
    PS=$WORK/bin/promptrel-static
fi
gen() { cargo bench --quiet --locked --bench gen -- "$@"; }
# Regenerated when the generator, the store format or the version changes.
GEN_STAMP=$( (cat benches/gen.rs; grep "FORMAT_VERSION: u32" src/config.rs; "$P" --version) | cksum | cut -d" " -f1)

# ----- data --------------------------------------------------------------
NAME=support/refund-bot
FILE=prompts/support/refund-bot.md

make_history() { # N
    local n=$1 dir=$WORK/h$1
    if [[ -f $dir/.stamp && $(cat "$dir/.stamp") == "$GEN_STAMP" ]]; then return; fi
    step "generate: $n versions of $NAME (promptrel store + git repository)"
    gen history "$n" "$dir"
    git init -q "$dir/git"
    git -C "$dir/git" fast-import --quiet --export-marks="$dir/marks" <"$dir/git.fi"
    gen reflog "$dir/marks" "$dir/git/.git" "$n"
    rm -f "$dir/git.fi"
    "$P" -C "$dir/promptrel" fsck >/dev/null
    git -C "$dir/git" fsck --no-progress 2>/dev/null >/dev/null
    # The benchmarks move prod back and forth; keep what they change.
    mkdir -p "$dir/pristine"
    # prod's log is a folder of record files and shard folders (FORMAT.md
    # §6.2): keep the list of its files, to remove what the runs add.
    (cd "$dir/promptrel/.promptrel/logs/$NAME@prod" && find . -type f | sort) \
        >"$dir/pristine/prod.files"
    cp "$dir/promptrel/.promptrel/refs/$NAME/@prod" "$dir/pristine/prod.ref"
    cp "$dir/git/.git/logs/refs/heads/prod" "$dir/pristine/prod.reflog"
    git -C "$dir/git" rev-parse prod >"$dir/pristine/prod.sha"
    echo "$GEN_STAMP" >"$dir/.stamp"
}

reset_history() { # N: undo the previous run's moves of prod
    local dir=$WORK/h$1
    (
        cd "$dir/promptrel/.promptrel/logs/$NAME@prod"
        find . -type f | sort | comm -13 "$dir/pristine/prod.files" - |
            xargs -r rm -f
        find . -mindepth 1 -type d -empty -delete
    )
    cp "$dir/pristine/prod.ref" "$dir/promptrel/.promptrel/refs/$NAME/@prod"
    git -C "$dir/git" update-ref refs/heads/prod "$(cat "$dir/pristine/prod.sha")"
    cp "$dir/pristine/prod.reflog" "$dir/git/.git/logs/refs/heads/prod"
}

make_prompts() { # N
    local n=$1 dir=$WORK/p$1
    if [[ -f $dir/.stamp && $(cat "$dir/.stamp") == "$GEN_STAMP" ]]; then return; fi
    step "generate: $n distinct prompts (promptrel store + git repository + files to import)"
    gen prompts "$n" "$dir"
    git init -q "$dir/git"
    git -C "$dir/git" fast-import --quiet <"$dir/git.fi"
    rm -f "$dir/git.fi"
    "$P" -C "$dir/promptrel" fsck >/dev/null
    echo "$GEN_STAMP" >"$dir/.stamp"
}

for n in "${SIZES[@]}"; do make_history "$n" && reset_history "$n"; done
make_prompts "$PROMPTS"
if [[ ! -f $WORK/diff/.stamp || $(cat "$WORK/diff/.stamp") != "$GEN_STAMP" ]]; then
    step "generate: two 100 KB prompts"
    rm -rf "$WORK/diff"
    gen diff "$WORK/diff"
    mkdir -p "$WORK/diff/promptrel"
    "$P" -C "$WORK/diff/promptrel" init >/dev/null
    "$P" -C "$WORK/diff/promptrel" add big "$WORK/diff/a.md" --label old 2>/dev/null >/dev/null
    "$P" -C "$WORK/diff/promptrel" add big "$WORK/diff/b.md" --label new 2>/dev/null >/dev/null
    echo "$GEN_STAMP" >"$WORK/diff/.stamp"
fi

if ((DATA_ONLY)); then
    echo "data ready in $WORK" >&2
    exit 0
fi

# ----- timing helpers ------------------------------------------------------
# hf OP N [hyperfine options…] -- NAME=CMD…   (PREP:CMD before a NAME=CMD sets its prepare)
# One hyperfine run per row, exported as results/json/OP@N.json.
hf() {
    local op=$1 n=$2
    shift 2
    local opts=()
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    local args=() prep=()
    for spec in "$@"; do
        if [[ $spec == PREP:* ]]; then
            prep+=(--prepare "${spec#PREP:}")
            continue
        fi
        args+=(-n "${spec%%=*}" "${spec#*=}")
    done
    printf '%s  N=%s\n' "$op" "$n" >&2
    hyperfine --style basic "${opts[@]}" "${prep[@]}" \
        --export-json "$OUT/json/$op@$n.json" "${args[@]}" >"$OUT/json/$op@$n.txt" 2>&1 ||
        { cat "$OUT/json/$op@$n.txt" >&2; exit 1; }
    grep -E '^ +Time|^Benchmark' "$OUT/json/$op@$n.txt" >&2 || true
}

# mem OP N TOOL [PREP] -- CMD…: peak RSS (KiB) of one run, after PREP.
mem() {
    local op=$1 n=$2 tool=$3 prep=$4
    shift 5
    [[ -n $prep ]] && bash -c "$prep" >/dev/null 2>&1
    /usr/bin/time -o "$OUT/time.out" -f '%M' "$@" >/dev/null 2>&1 || true
    local kb
    kb=$(tail -1 "$OUT/time.out")
    printf '%s\t%s\t%s\t%s\n' "$op" "$n" "$tool" "$kb" >>"$OUT/mem.tsv"
}
memsh() { # OP N TOOL PREP SHELL-COMMAND
    local op=$1 n=$2 tool=$3 prep=$4 cmd=$5
    [[ -n $prep ]] && bash -c "$prep" >/dev/null 2>&1
    /usr/bin/time -o "$OUT/time.out" -f '%M' bash -c "$cmd" >/dev/null 2>&1 || true
    local kb
    kb=$(tail -1 "$OUT/time.out")
    printf '%s\t%s\t%s\t%s\n' "$op" "$n" "$tool" "$kb" >>"$OUT/mem.tsv"
}

# Let the builds' and the data's writes reach the disk before timing anything.
sync
sleep 5
# ... and the builds' load pass: the first rows (cold `show` against `cat`)
# are the ones a busy machine skews most. Up to two minutes, while the
# 1-minute load average is at 1.0 or more.
for _ in $(seq 24); do
    awk '{exit !($1 >= 1.0)}' /proc/loadavg || break
    sleep 5
done

# ----- the machine --------------------------------------------------------
step "machine"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "command: $COMMAND_LINE"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "fs: $(df -T "$WORK" | awk 'NR==2 {print $2 " on " $1}') ($(findmnt -n -o OPTIONS --target "$WORK" 2>/dev/null || echo ?))"
    echo "kernel: $(uname -sr)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "promptrel: $("$P" --version) ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ", with local changes"))"
    echo "git: $(git --version)"
    echo "hyperfine: $(hyperfine --version)"
    echo "rustc: $(rustc --version)"
    echo "sizes: ${SIZES[*]}; prompts: $PROMPTS"
} | tee "$OUT/machine.txt" >&2

# ----- history stores: N versions of one prompt -----------------------------
for n in "${SIZES[@]}"; do
    S=$WORK/h$n/promptrel
    G=$WORK/h$n/git
    OBJ=$(cat "$WORK/h$n/prod-object")
    TIP=$(git -C "$G" rev-parse prod)
    PREV=$(git -C "$G" rev-parse prod~1)
    step "history N=$n"
    # The previous N's resets and moves reach the disk before this N's rows
    # (in two runs the first row after them, show at N=10 000, ran slow).
    sync

    static_row=()
    [[ -n $PS ]] && static_row=("promptrel-static=$PS -C $S show $NAME@prod")
    hf show "$n" -N "${FAST[@]}" -- \
        "promptrel=$P -C $S show $NAME@prod" \
        "git=git -C $G cat-file -p prod:$FILE" \
        "floor=cat $OBJ" \
        "${static_row[@]}"
    # A second round in the opposite order (not in the table): the floor
    # target is judged from both, as flatness is, because a slow stretch of
    # the machine can fall on one command's block of runs.
    hf show-r2 "$n" -N "${FAST[@]}" -- \
        "${static_row[@]}" \
        "floor=cat $OBJ" \
        "git=git -C $G cat-file -p prod:$FILE" \
        "promptrel=$P -C $S show $NAME@prod"
    mem show "$n" promptrel "" -- "$P" -C "$S" show "$NAME@prod"
    mem show "$n" git "" -- git -C "$G" cat-file -p "prod:$FILE"

    hf show~3 "$n" -N "${FAST[@]}" -- \
        "promptrel=$P -C $S show $NAME@prod~3" \
        "git=git -C $G cat-file -p prod@{3}:$FILE"

    # Each timed move is a real move: the prepare step moves the label back.
    hf promote "$n" -N "${FAST[@]}" -- \
        "PREP:$P -C $S rollback $NAME prod -m bench" \
        "promptrel=$P -C $S promote $NAME staging prod -m bench" \
        "PREP:git -C $G update-ref refs/heads/prod $PREV" \
        "git=git -C $G update-ref -m bench refs/heads/prod $TIP" \
        "PREP:git -C $G update-ref refs/heads/prod $PREV" \
        "git-fsync=git -c core.fsync=all -C $G update-ref -m bench refs/heads/prod $TIP"
    mem promote "$n" promptrel "$P -C $S rollback $NAME prod -m bench" -- "$P" -C "$S" promote "$NAME" staging prod -m bench
    mem promote "$n" git "git -C $G update-ref refs/heads/prod $PREV" -- git -C "$G" update-ref -m bench refs/heads/prod "$TIP"

    hf rollback "$n" -N "${FAST[@]}" -- \
        "PREP:$P -C $S promote $NAME staging prod -m bench" \
        "promptrel=$P -C $S rollback $NAME prod -m bench" \
        "PREP:git -C $G update-ref -m bench refs/heads/prod $TIP" \
        "git=git -C $G update-ref -m rollback refs/heads/prod prod@{1}" \
        "PREP:git -C $G update-ref -m bench refs/heads/prod $TIP" \
        "git-fsync=git -c core.fsync=all -C $G update-ref -m rollback refs/heads/prod prod@{1}"
    # Back to the generated state: the moves above added hundreds of records
    # (and reflog entries) that the log and fsck rows must not count.
    reset_history "$n"

    hf log-20 "$n" -N "${FAST[@]}" -- \
        "promptrel=$P -C $S log -n 20" \
        "git=git -C $G log --oneline -n 20 prod" \
        "git-reflog=git -C $G reflog -n 20 prod"

    if ((n >= 10000)); then opts=("${SLOW[@]}"); else opts=("${FAST[@]}"); fi
    hf log-prod "$n" -N "${opts[@]}" -- \
        "promptrel=$P -C $S log $NAME --label prod" \
        "git=git -C $G reflog prod"
    mem log-prod "$n" promptrel "" -- "$P" -C "$S" log "$NAME" --label prod
    mem log-prod "$n" git "" -- git -C "$G" reflog prod

    hf log-all "$n" -N "${opts[@]}" -- \
        "promptrel=$P -C $S log" \
        "git=git -C $G log --oneline prod"
    mem log-all "$n" promptrel "" -- "$P" -C "$S" log
    mem log-all "$n" git "" -- git -C "$G" log --oneline prod

    hf fsck "$n" -N "${opts[@]}" -- \
        "promptrel=$P -C $S fsck" \
        "git=git -C $G fsck --no-progress"
    mem fsck "$n" promptrel "" -- "$P" -C "$S" fsck
    mem fsck "$n" git "" -- git -C "$G" fsck --no-progress
done

# ----- flatness: the smallest and the largest history back to back ----------
# The rows above time each N a few minutes apart, and on a shared machine the
# background changes in between (the `cat` floor itself has moved by a third
# within one run). For "cost independent of history", each operation is timed
# at the smallest and the largest N in one hyperfine run, seconds apart;
# bench/report.py judges flatness from these rows.
lo=${SIZES[0]} hi=${SIZES[-1]}
SL=$WORK/h$lo/promptrel SH=$WORK/h$hi/promptrel
step "flatness: N=$lo and N=$hi back to back"
# Two rounds, the second in the opposite order (whatever runs second may meet
# the writeback of what ran before it), each after a sync.
flat() { # OP ROUND [PREP-LO] CMD-LO [PREP-HI] CMD-HI, as "lo=…"/"hi=…" specs
    local op=$1 round=$2
    shift 2
    local specs=("$@")
    if ((round == 2)); then
        local half=$((${#specs[@]} / 2))
        specs=("${specs[@]:half}" "${specs[@]:0:half}")
    fi
    sync
    hf "flat-$op" "$lo-$hi-$round" -N "${FAST[@]}" -- "${specs[@]}"
}
for round in 1 2; do
    flat show "$round" "lo=$P -C $SL show $NAME@prod" "hi=$P -C $SH show $NAME@prod"
    flat show~3 "$round" "lo=$P -C $SL show $NAME@prod~3" "hi=$P -C $SH show $NAME@prod~3"
    flat log-20 "$round" "lo=$P -C $SL log -n 20" "hi=$P -C $SH log -n 20"
    flat promote "$round" \
        "PREP:$P -C $SL rollback $NAME prod -m bench" \
        "lo=$P -C $SL promote $NAME staging prod -m bench" \
        "PREP:$P -C $SH rollback $NAME prod -m bench" \
        "hi=$P -C $SH promote $NAME staging prod -m bench"
    flat rollback "$round" \
        "PREP:$P -C $SL promote $NAME staging prod -m bench" \
        "lo=$P -C $SL rollback $NAME prod -m bench" \
        "PREP:$P -C $SH promote $NAME staging prod -m bench" \
        "hi=$P -C $SH rollback $NAME prod -m bench"
    reset_history "$lo"
    reset_history "$hi"
done

# ----- many prompts --------------------------------------------------------
n=$PROMPTS
S=$WORK/p$n/promptrel
G=$WORK/p$n/git
F=$WORK/p$n/files
ONE=team-00/prompt-00000
step "$n distinct prompts"
static_row=()
[[ -n $PS ]] && static_row=("promptrel-static=$PS -C $S show $ONE@prod")
hf prompts-show "$n" -N "${FAST[@]}" -- \
    "promptrel=$P -C $S show $ONE@prod" \
    "git=git -C $G cat-file -p prod:prompts/$ONE.md" \
    "floor=cat $(cat "$WORK/p$n/prod-object")" \
    "${static_row[@]}"
hf prompts-log-20 "$n" -N "${FAST[@]}" -- \
    "promptrel=$P -C $S log -n 20" \
    "git=git -C $G log --oneline -n 20 prod"
hf prompts-list "$n" -N "${SLOW[@]}" -- \
    "promptrel=$P -C $S list" \
    "git=git -C $G ls-tree -r --name-only prod"
hf prompts-fsck "$n" -N "${SLOW[@]}" -- \
    "promptrel=$P -C $S fsck" \
    "git=git -C $G fsck --no-progress"
mem prompts-fsck "$n" promptrel "" -- "$P" -C "$S" fsck
mem prompts-fsck "$n" git "" -- git -C "$G" fsck --no-progress

# Bulk import of the same files, each tool into a fresh store / repository.
# Every run gets a new folder and nothing is deleted until the end. Right
# after many files are deleted (by anything on the machine: test suites do
# it all the time), ext4 allocates inodes slowly, scanning past recently
# freed ones, and an import creates 30 000 of them; so the import is timed
# twice: on the work folder's file system, and (as root, with a loop device)
# on a fresh ext4 file system that nothing else touches.
GIT_FSYNC="-c core.fsync=all -c core.fsyncMethod=batch"
import_bench() { # OP FOLDER
    local op=$1 imp=$2
    rm -rf "$imp"
    mkdir -p "$imp"
    local pr_prep="d=\$(mktemp -d $imp/p.XXXXXX) && ln -sfn \$d $imp/p && $P -C \$d init >/dev/null"
    local git_prep="d=\$(mktemp -d $imp/g.XXXXXX) && ln -sfn \$d $imp/g && git init -q \$d"
    local git_import="git -C $imp/g --work-tree=$F add -A && git -C $imp/g --work-tree=$F commit -q -m import"
    hf "$op" "$n" "${IMPORT[@]}" -- \
        "PREP:$pr_prep" \
        "promptrel=$P -C $imp/p add --dir $F -m import" \
        "PREP:$git_prep" \
        "git=$git_import" \
        "PREP:$git_prep" \
        "git-fsync=git $GIT_FSYNC -C $imp/g --work-tree=$F add -A && git $GIT_FSYNC -C $imp/g --work-tree=$F commit -q -m import"
    memsh "$op" "$n" promptrel "$pr_prep" "$P -C $imp/p add --dir $F -m import"
    memsh "$op" "$n" git "$git_prep" "$git_import"
    "$P" -C "$imp/p" fsck >/dev/null
}
import_bench import "$WORK/import-runs"
# On a fresh ext4 file system: a new one for every run (made in the run's
# prepare step, which is not timed), so that no run imports into a file
# system that earlier runs have filled. Inode tables and journal are
# written by mkfs, not lazily by the kernel during the runs.
FRESH=$WORK/freshfs
if [[ $(id -u) == 0 ]] && command -v mkfs.ext4 >/dev/null 2>&1 && ((!QUICK)); then
    step "fresh ext4 file system for the import ($FRESH)"
    umount "$FRESH" 2>/dev/null || true
    rm -f "$WORK/freshfs.img"
    truncate -s 2G "$WORK/freshfs.img"
    mkdir -p "$FRESH"
    # The store and the repository in a folder, as in a checkout, not at
    # the file system's root (ext4 spreads the root's sub-folders over the
    # disk: measured 5-10 % slower for promptrel's import, not for git's).
    R=$FRESH/repo
    newfs="umount $FRESH 2>/dev/null; mkfs.ext4 -q -F -N 100000 -E lazy_itable_init=0,lazy_journal_init=0 $WORK/freshfs.img && mount -o loop $WORK/freshfs.img $FRESH"
    if bash -c "$newfs"; then
        echo "fresh fs: $(findmnt -n -o FSTYPE,OPTIONS --target "$FRESH"), 2 GiB, a new one per run (loop file on the work folder's fs)" >>"$OUT/machine.txt"
        hf import-freshfs "$n" "${IMPORT[@]}" -- \
            "PREP:$newfs && mkdir $R && $P -C $R init >/dev/null && sync" \
            "promptrel=$P -C $R add --dir $F -m import" \
            "PREP:$newfs && git init -q $R && sync" \
            "git=git -C $R --work-tree=$F add -A && git -C $R --work-tree=$F commit -q -m import" \
            "PREP:$newfs && git init -q $R && sync" \
            "git-fsync=git $GIT_FSYNC -C $R --work-tree=$F add -A && git $GIT_FSYNC -C $R --work-tree=$F commit -q -m import"
        memsh import-freshfs "$n" promptrel "$newfs && mkdir $R && $P -C $R init" "$P -C $R add --dir $F -m import"
        "$P" -C "$R" fsck >/dev/null
        memsh import-freshfs "$n" git "$newfs && git init -q $R" "git -C $R --work-tree=$F add -A && git -C $R --work-tree=$F commit -q -m import"
        umount "$FRESH"
    fi
    rm -f "$WORK/freshfs.img"
fi
rm -rf "$WORK/import-runs"

# ----- diff of two 100 KB prompts --------------------------------------------
D=$WORK/diff
hf diff 100KB -N -i "${FAST[@]}" -- \
    "promptrel=$P -C $D/promptrel diff big@old big@new" \
    "git=git diff --no-index $D/a.md $D/b.md"
mem diff 100KB promptrel "" -- "$P" -C "$D/promptrel" diff big@old big@new
mem diff 100KB git "" -- git diff --no-index "$D/a.md" "$D/b.md"

# ----- in-process resolve ----------------------------------------------------
step "in-process resolve (cargo bench --bench resolve)"
cargo bench --quiet --locked --bench resolve -- --json "$OUT/resolve.json" >&2

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt" >&2

# ----- report ------------------------------------------------------------------
step "report"
if ((QUICK)); then
    python3 bench/report.py "$OUT" --svg "$OUT/cost.svg"
    echo "(quick run: PERFORMANCE.md not updated; results in $OUT)" >&2
else
    python3 bench/report.py "$OUT" --svg bench/cost.svg --update PERFORMANCE.md
fi
