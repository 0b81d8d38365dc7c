#!/usr/bin/env bash
# Test .pre-commit-hooks.yaml with the real pre-commit framework, the way a
# user's repository runs it: a config naming this repository and a revision,
# `pre-commit install`, then `git commit`.
#
#   bash scripts/pre-commit-test.sh
#
# - pre-commit comes from PyPI into a venv under the target folder
#   (target/pre-commit-venv), once.
# - This working tree, uncommitted changes included, is copied into a
#   snapshot repository and committed with a fixed author and date, so the
#   same content always has the same revision and pre-commit's cache
#   (target/pre-commit-test/home) builds each revision once. (`pre-commit
#   try-repo` would also take uncommitted changes, but not new untracked
#   files, and it rebuilds the hook for every call.)
# - `language: rust` makes pre-commit `cargo install` promptrel: a release
#   build, the slow part of a first run; the script prints how long it took.
#
# Exits 0 when every check passes, 1 when one fails, and 77 (skipped) when
# python3 with venv and pip, or git, is not available here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target"
target="$(cd "$target" && pwd)"
work="$target/pre-commit-test"
venv="$target/pre-commit-venv"

skip() {
    echo "skipped: $*" >&2
    exit 77
}
fail() {
    echo "FAILED: $*" >&2
    [[ -n "${log:-}" && -f "$log" ]] && { echo "--- output:" >&2; cat "$log" >&2; }
    exit 1
}
now() { date +%s; }

case "${OSTYPE:-}" in
msys* | cygwin* | win32*) skip "the pre-commit test runs on Linux and macOS" ;;
esac
command -v git >/dev/null 2>&1 || skip "git is not installed"
command -v cargo >/dev/null 2>&1 || skip "cargo is not installed"

# --- pre-commit, from PyPI --------------------------------------------------
if [[ ! -x "$venv/bin/pre-commit" ]]; then
    command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
    echo "installing pre-commit into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || skip "python3 cannot create a venv (Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pre-commit </dev/null ||
        skip "pip could not install pre-commit"
fi
pre_commit="$venv/bin/pre-commit"
echo "using $("$pre_commit" --version)"

# Hermetic git: no user hooks, signing or templates from this machine.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="promptrel test" GIT_AUTHOR_EMAIL="test@example.com"
export GIT_COMMITTER_NAME="promptrel test" GIT_COMMITTER_EMAIL="test@example.com"
export PRE_COMMIT_HOME="$work/home" PRE_COMMIT_COLOR=never
export PROMPTREL_AUTHOR="promptrel test <test@example.com>"
unset PROMPTREL_DIR PROMPTREL_DATE

# --- this working tree as a repository with a stable revision -----------------
hooks_repo="$work/hooks-repo"
rm -rf "$hooks_repo"
mkdir -p "$hooks_repo"
(
    cd "$root"
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [[ -e "$f" ]] && printf '%s\0' "$f"
        done |
        tar --null -T - -cf -
) | tar -C "$hooks_repo" -xf -
(
    cd "$hooks_repo"
    git init -q
    git add -A
    GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
        git commit -q --no-verify -m "snapshot for the pre-commit test"
)
rev="$(git -C "$hooks_repo" rev-parse HEAD)"
# pre-commit keeps a clone and a release build per revision; keep only this one.
if [[ "$(cat "$work/rev" 2>/dev/null)" != "$rev" ]]; then
    rm -rf "$PRE_COMMIT_HOME"
    echo "$rev" >"$work/rev"
fi

# --- what users copy parses: the manifest, README's config snippets, workflows --------
"$pre_commit" validate-manifest "$hooks_repo/.pre-commit-hooks.yaml" ||
    fail ".pre-commit-hooks.yaml is not a valid pre-commit manifest"
mkdir -p "$work/copied"
"$venv/bin/python" - "$root" "$work/copied" "$pre_commit" <<'PY' || fail "README.md or a workflow does not parse or agree (above)"
import pathlib, re, subprocess, sys, textwrap
import yaml

root, out, pre_commit = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
hooks = {h["id"] for h in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())}
assert hooks == {"promptrel-fsck", "promptrel-status"}, hooks

# Every .pre-commit-config.yaml snippet in README.md is a valid config.
readme = (root / "README.md").read_text()
blocks = [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)^\s*```", readme, re.S | re.M)]
configs = [b for b in blocks if b.startswith("repos:")]
assert len(configs) == 2, f"expected 2 pre-commit snippets in README.md, found {len(configs)}"
for i, text in enumerate(configs):
    path = out / f"readme-config-{i}.yaml"
    path.write_text(text)
    subprocess.run([pre_commit, "validate-config", str(path)], check=True)
remote = yaml.safe_load(configs[0])["repos"][0]
assert {h["id"] for h in remote["hooks"]} == hooks, remote

# The example workflow parses, triggers on the store, runs both checks, and
# names the same promptrel repository and tag as the README snippet.
for workflow in [*(root / "examples/github-actions").glob("*.yml"), *(root / ".github/workflows").glob("*.yml")]:
    doc = yaml.safe_load(workflow.read_text())
    assert doc["jobs"], workflow
example = yaml.safe_load((root / "examples/github-actions/promptrel-check.yml").read_text())
on = example[True]  # YAML 1.1 reads the key `on` as true
assert ".promptrel/**" in on["pull_request"]["paths"], on
assert (example["env"]["PROMPTREL_GIT"], example["env"]["PROMPTREL_REV"]) == (remote["repo"], remote["rev"]), (example["env"], remote)
steps = {s.get("name"): s for s in example["jobs"]["check"]["steps"]}
for name in ["promptrel fsck", "promptrel status --check"]:
    (out / f"{name.split()[1]}.sh").write_text(steps[name]["run"])
print("ok: .pre-commit-hooks.yaml, README.md's 2 config snippets and the workflows parse and agree")
PY

# --- the promptrel that creates the test store ------------------------------------
cargo build --quiet --locked --manifest-path "$root/Cargo.toml" --bin promptrel
promptrel="$target/debug/promptrel"

# --- a user's repository: a store, a prompt file, the hooks installed ---------------
repo="$(mktemp -d "${TMPDIR:-/tmp}/promptrel-pre-commit.XXXXXX")"
log="$repo.log"
trap 'rm -rf "$repo" "$log" "$repo.summary"' EXIT
cd "$repo"
git init -q
"$promptrel" init >/dev/null
mkdir prompts
printf 'You are a checkout assistant.\nAnswer in two sentences.\n' >prompts/checkout.md
"$promptrel" add checkout-bot prompts/checkout.md -m "first" --label staging >/dev/null 2>&1
"$promptrel" promote checkout-bot staging prod -m "release" >/dev/null
cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $hooks_repo
    rev: $rev
    hooks:
      - id: promptrel-fsck
      - id: promptrel-status
EOF
echo "readme" >README.md
git add -A
git commit -q --no-verify -m "a store with one released prompt"
"$pre_commit" install >/dev/null

passed=0
# expect CODE DESCRIPTION COMMAND…: run COMMAND, check its exit code.
expect() {
    local code="$1" what="$2" got=0
    shift 2
    "$@" >"$log" 2>&1 || got=$?
    [[ "$got" == "$code" ]] || fail "$what: exit $got, expected $code"
    echo "ok: $what"
    passed=$((passed + 1))
}
# contains TEXT…: the last command's output has every TEXT.
contains() {
    local text
    for text in "$@"; do
        grep -qF -- "$text" "$log" || fail "output lacks: $text"
    done
}

# 1. A clean store: both hooks pass (the first run builds the hooks).
start="$(now)"
expect 0 "both hooks pass on a clean store" "$pre_commit" run --all-files
install_secs=$(($(now) - start))
contains "promptrel fsck" "promptrel status --check" Passed
echo "   first run, including pre-commit's cargo install of promptrel: ${install_secs}s"

# The example workflow's two steps, as GitHub runs them (`shell: bash`).
workflow_step() {
    PATH="$(dirname "$promptrel"):$PATH" GITHUB_STEP_SUMMARY="$repo.summary" \
        bash --noprofile --norc -eo pipefail "$work/copied/$1.sh"
}
expect 0 "the example workflow's fsck step passes" workflow_step fsck
expect 0 "the example workflow's status step passes" workflow_step status
grep -qF '### promptrel status' "$repo.summary" || fail "the status step wrote no summary"

# 2. A damaged object: the fsck hook fails and names it.
object="$(git ls-files .promptrel/objects | grep -v '\.keep$' | head -n 1)"
chmod u+w "$object"
printf 'tampered' >>"$object"
git add "$object"
expect 1 "a commit with a damaged object is refused" git commit -q -m "damage"
contains "promptrel fsck" Failed "[corrupt-object]" "$object"
git reset -q --hard HEAD

# 3. A prompt file edited without `promptrel add`: the status hook fails and
#    says what to run.
printf 'You are a checkout assistant.\nAnswer in one sentence.\n' >prompts/checkout.md
git add prompts/checkout.md
expect 1 "a commit of an edited prompt file without promptrel add is refused" git commit -q -m "shorter"
contains "promptrel status --check" Failed "[source-changed]" \
    'promptrel add checkout-bot prompts/checkout.md -m' "error: 1 finding needs attention"
# The fsck hook ran nothing: no store file was in the commit.
contains "promptrel fsck" "(no files to check)Skipped"
expect 1 "the example workflow's status step fails on it too" workflow_step status
contains "[source-changed]"

# 4. Doing what the hook said: the commit goes through (fsck runs: the store changed).
"$promptrel" add checkout-bot prompts/checkout.md -m "shorter" --label staging >/dev/null 2>&1
git add -A
expect 0 "after promptrel add, the same commit passes" git commit -q -m "shorter"
contains "promptrel fsck" "promptrel status --check" Passed
git log -1 --format=%s | grep -qx shorter || fail "the commit was not made"

# 5. An edit that is not staged is not the commit's business: pre-commit
#    stashes it while the hooks run.
printf 'Unfinished idea.\n' >prompts/checkout.md
echo "more" >>README.md
git add README.md
expect 0 "an unstaged prompt edit does not block another commit" git commit -q -m "readme"
grep -qx 'Unfinished idea.' prompts/checkout.md || fail "pre-commit did not restore the unstaged edit"

echo "done in $(($(now) - start))s; pre-commit's first run, which builds the hooks, took ${install_secs}s"
echo "pre-commit-test: $passed passed, 0 failed"
