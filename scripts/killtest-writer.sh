#!/usr/bin/env bash
# One writer for scripts/killtest.py: mixed promptrel commands that write, one
# after another, until the writer is killed (SIGKILL, with its whole process
# group). Every command has a unique message ("r<ROUND>-op<N>"). A command is
# written to ACKFILE only after it has returned, with its exit code and what
# it printed:
#   MSG KIND PROMPT LABEL CODE EXPECT DETAIL   (tab-separated)
# DETAIL is the first line of standard output on success (the id for add, the
# move for promote/rollback/label; for the multi-prompt kinds, release and
# rollback-release, every line of it joined by " | "), else the first line of
# standard error. For release, PROMPT is the selection ("--all" or the names
# joined by ","); for rollback-release it is the release id undone.
# An op that exited 0 and reached ACKFILE is "acknowledged": it must never be
# missing from the changelog.
#
# usage: killtest-writer.sh PROMPTREL ROUND ACKFILE SEED [RELEASE_ID]
#   RELEASE_ID: the newest release so far, for `rollback --release` until
#   this writer has made a release of its own.
bin=$1 round=$2 ack=$3
RANDOM=$4
last_release=${5:-}
errf=$ack.err
prompts=(shared team/a team/b)
last_id=("" "" "")     # last version this writer added, per prompt
last_canary=("" "" "") # last value of canary this writer saw, per prompt
i=0
while :; do
    msg="r$round-op$i"
    if ((RANDOM % 2)); then p=0; else p=$((1 + RANDOM % 2)); fi
    prompt=${prompts[p]}
    roll=$((RANDOM % 100))
    expect=""
    if ((roll >= 90)) && [[ -z $last_release ]]; then
        roll=80 # nothing to roll back yet: release instead
    fi
    if ((roll < 26)); then
        kind=add label=staging
        out=$(printf 'prompt %s\nYou are writer %s of round %s.\n' "$msg" "$i" "$round" |
            "$bin" add "$prompt" - -m "$msg" --label staging 2>"$errf")
    elif ((roll < 46)); then
        kind=promote label=canary
        if ((roll >= 38)) && [[ -n ${last_canary[p]} ]]; then
            expect=${last_canary[p]}
            out=$("$bin" promote "$prompt" staging canary -m "$msg" --expect "$expect" 2>"$errf")
        else
            out=$("$bin" promote "$prompt" staging canary -m "$msg" 2>"$errf")
        fi
    elif ((roll < 52)); then
        kind=promote-prod label=prod
        out=$("$bin" promote "$prompt" canary prod -m "$msg" 2>"$errf")
    elif ((roll < 60)); then
        kind=rollback label=canary
        out=$("$bin" rollback "$prompt" canary -m "$msg" 2>"$errf")
    elif ((roll < 64)); then
        kind=rollback label=prod
        out=$("$bin" rollback "$prompt" prod -m "$msg" 2>"$errf")
    elif ((roll < 76)); then
        kind=label label=qa
        case $((RANDOM % 4)) in
        0) target=${last_id[p]:-staging} ;;
        1) target=${last_id[p]:0:8} ;;
        2) target=canary ;;
        *) target=staging ;;
        esac
        out=$("$bin" label "$prompt" qa "${target:-staging}" -m "$msg" 2>"$errf")
    elif ((roll < 80)); then
        # Always refused: prod is protected.
        kind=protected label=prod
        out=$("$bin" label "$prompt" prod staging -m "$msg" 2>"$errf")
    elif ((roll < 90)); then
        # One release of several prompts: prod of every prompt, or canary of two.
        kind=release
        if ((roll < 85)); then
            label=prod prompt=--all
            out=$("$bin" release canary prod --all -m "$msg" 2>"$errf")
        else
            label=canary prompt=shared,${prompts[1 + RANDOM % 2]}
            out=$("$bin" release staging canary "${prompt%%,*}" "${prompt#*,}" -m "$msg" 2>"$errf")
        fi
    else
        kind=rollback-release label=- prompt=$last_release
        out=$("$bin" rollback --release "$last_release" -m "$msg" 2>"$errf")
    fi
    code=$?
    if ((code == 0)); then
        detail=${out%%$'\n'*}
        case $kind in
        add) last_id[p]=$detail ;;
        promote | rollback)
            if [[ $label == canary && $detail == *" -> "* ]]; then
                last_canary[p]=${detail##* -> }
            fi
            ;;
        release | rollback-release)
            if [[ $detail == *" as release "* ]]; then
                last_release=${detail##* as release }
                last_release=${last_release%% *}
            fi
            detail=${out//$'\n'/ | }
            ;;
        esac
    else
        detail=$(head -n 1 "$errf")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$msg" "$kind" "$prompt" "$label" "$code" "$expect" "$detail" >>"$ack"
    i=$((i + 1))
done
