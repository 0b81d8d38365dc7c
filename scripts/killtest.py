#!/usr/bin/env python3
"""SIGKILL test for promptrel (issue 3: promptrel never loses a release).

In a temp dir with a store, KILLS times: start a writer (killtest-writer.sh, a
loop of mixed promptrel commands that write, each logged to an ack file only
after it returned), kill it and everything it started with SIGKILL after a
random few milliseconds, then check the store:

- `promptrel fsck` exits 0, or finds only crash leftovers (torn-record,
  temp-file, ref-behind-log); anything else is a failure;
- every acknowledged command (exit 0) is in the changelog, once per file it
  writes, with the ids it printed; lost = acknowledged but missing (MUST be 0);
- no failed command left a record, only the one command in flight at the kill
  may have left records without an acknowledgement, complete records are
  never changed or removed (logs are append-only), every log chains, every
  undo went where the undo walk says;
- with probability REPAIR_PROB `fsck --repair` must fix everything, after which
  `fsck` is clean and every ref equals its log's last `to`; otherwise the
  leftovers are left to the next writer, which must cope with them.

Standard library only. Normally run through scripts/killtest.sh.
"""

import argparse
import collections
import ctypes
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ALLOWED = {"torn-record", "temp-file", "ref-behind-log"}
ACTION = {"add": "add", "promote": "promote", "release": "promote",
          "rollback": "rollback", "label": "label", "protected": "label"}
SOURCE = {"promote": "staging", "release": "canary"}
DOCUMENTED_2 = {"nothing to roll back", "unknown label", "unknown prompt", "protected label"}
WRITER = Path(__file__).resolve().with_name("killtest-writer.sh")


class Failure(Exception):
    pass


def subreaper():
    """Become the parent of orphaned descendants (Linux), so that every
    killed process can be waited for before the store is checked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_all():
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def wait_for_lock(store, timeout=30.0):
    """Once we hold the store lock, no killed writer is still writing."""
    with open(store / "lock", "a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Failure("the store lock is still held after the kill")
                time.sleep(0.001)


def parse_move(detail):
    """`promoted P@L: FROM -> TO` -> (target, from or None, to)."""
    if ": " not in detail or " -> " not in detail:
        return None
    head, arrow = detail.split(": ", 1)
    frm, to = arrow.split(" -> ", 1)
    return head.rsplit(" ", 1)[-1], (None if frm == "-" else frm), to


class Checker:
    def __init__(self, store):
        self.store = store
        self.logs = {}  # rel path -> (bytes of complete records, [records])
        self.by_msg = {}  # message -> [(file, record)]
        self.acked = 0
        self.failed = Counter()
        self.in_flight = 0
        self.lost = []
        self.records = 0

    def read_logs(self, round_no):
        """Parse what was appended since the last check; complete records
        must be exactly as they were (append-only)."""
        root = self.store / "logs"
        seen = set()
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            rel = path.relative_to(root).as_posix()
            seen.add(rel)
            data = path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            old, records = self.logs.get(rel, (b"", []))
            if not complete.startswith(old):
                raise Failure(f"logs/{rel}: complete records were changed or removed")
            for line in complete[len(old):].split(b"\n")[:-1]:
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    raise Failure(f"logs/{rel}: damaged record {line!r}: {e}")
                self.new_record(rel, records, rec, round_no)
            self.logs[rel] = (complete, records)
        gone = set(self.logs) - seen
        if gone:
            raise Failure(f"log files disappeared: {sorted(gone)}")

    def new_record(self, rel, records, rec, round_no):
        prev = records[-1]["to"] if records else None
        line = len(records) + 1
        if rec.get("from") != prev:
            raise Failure(f"logs/{rel} line {line}: breaks the chain")
        if rec.get("undo") and undo_target(records) != rec["to"]:
            raise Failure(f"logs/{rel} line {line}: undo did not go to the undo walk's target")
        msg = rec.get("message", "")
        if any(f == rel for f, _ in self.by_msg.get(msg, [])):
            raise Failure(f"logs/{rel} line {line}: {msg} recorded twice")
        # Only this round's commands can write now: acknowledged or failed
        # ones (checked below) and the one in flight at the kill.
        if not msg.startswith(f"r{round_no}-op"):
            raise Failure(f"logs/{rel} line {line}: {msg!r} appeared after its writer died")
        records.append(rec)
        self.records += 1
        self.by_msg.setdefault(msg, []).append((rel, rec))

    def check_round(self, round_no, ops):
        """`ops`: this round's logged commands, in order."""
        self.read_logs(round_no)
        logged = {op["msg"] for op in ops}
        for op in ops:
            found = self.by_msg.get(op["msg"], [])
            if op["code"] != 0:
                self.failed[f"exit {op['code']}: {reason(op)}"] += 1
                if found:
                    raise Failure(f"{op['msg']} failed but left {found}")
                why = reason(op)
                ok = (op["code"] == 2 and why in DOCUMENTED_2) or (
                    op["code"] == 3 and op["expect"] and why == "--expect mismatch")
                if not ok:
                    raise Failure(f"{op['msg']}: undocumented failure {op}")
                continue
            self.acked += 1
            wants = wanted(op)
            for want in wants:
                n = sum(1 for f, r in found if matches(want, f, r))
                if n == 0:
                    self.lost.append(f"{op['msg']} {op['kind']} {op['prompt']}: no record {want}")
                elif n > 1:
                    raise Failure(f"{op['msg']} recorded {n} times")
            if len(found) != len(wants):
                raise Failure(f"{op['msg']}: {len(found)} records for {len(wants)} changes: {found}")
        in_flight = f"r{round_no}-op{len(ops)}"
        for msg, found in self.by_msg.items():
            if msg.startswith(f"r{round_no}-op") and msg not in logged:
                if msg != in_flight:
                    raise Failure(f"{msg}: records of a command that never ran")
                # At most one move, or an add: its version and its staging move.
                files = sorted(f for f, _ in found)
                prompt = files[0].rsplit("/", 1)[0]
                if len(files) > 2 or len(files) == 2 and files != [
                        f"{prompt}/+versions", f"{prompt}/@staging"]:
                    raise Failure(f"{msg}: records of more than one command {files}")
                self.in_flight += 1

    def check_refs(self, settled):
        root = self.store / "refs"
        refs = {}
        for path in root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                refs[path.relative_to(root).as_posix()] = path.read_bytes()
        for rel, data in refs.items():
            records = self.logs.get(rel, (b"", []))[1]
            if not records:
                raise Failure(f"refs/{rel} has no changelog")
            last = records[-1]
            ok = data == f"{last['to']}\n".encode()
            if not settled and last.get("from"):
                ok = ok or data == f"{last['from']}\n".encode()
            if not ok:
                raise Failure(f"refs/{rel} holds {data!r}, its log ends at {last['to']}")
        for rel, (_, records) in self.logs.items():
            if rel.rsplit("/", 1)[-1].startswith("@") and rel not in refs:
                if settled or len(records) != 1 or records[0].get("from") is not None:
                    raise Failure(f"logs/{rel} has no ref")


def undo_target(prior):
    pending = 0
    for r in reversed(prior):
        if r.get("undo"):
            pending += 1
        elif pending:
            pending -= 1
        else:
            return r.get("from")
    return None


def reason(op):
    d = op["detail"]
    for text, why in [("no earlier value to roll back to", "nothing to roll back"),
                      (" has no label ", "unknown label"),
                      ("no prompt named", "unknown prompt"),
                      ("is protected", "protected label"),
                      (" has moved: expected ", "--expect mismatch"),
                      ("locked by another", "lock timeout")]:
        if text in d:
            return why
    return d


def wanted(op):
    """The records a command that exited 0 must have written."""
    kind, prompt, label, d = op["kind"], op["prompt"], op["label"], op["detail"]
    log = f"{prompt}/@{label}"
    if kind == "protected":
        raise Failure(f"{op['msg']}: protected prod moved through `label`")
    if kind == "add":
        return [dict(file=f"{prompt}/+versions", action="add", frm=..., to=d),
                dict(file=log, action="label", frm=..., to=d)]
    if " already points at " in d:
        return []
    move = parse_move(d)
    if not move or move[0] != f"{prompt}@{label}":
        raise Failure(f"{op['msg']}: unexpected output {d!r}")
    _, frm, to = move
    if op["expect"] and not (frm or "").startswith(op["expect"]):
        raise Failure(f"{op['msg']}: --expect {op['expect']} held, yet it moved from {frm}")
    return [dict(file=log, action=ACTION[kind], frm=frm, to=to,
                 undo=kind == "rollback", source=SOURCE.get(kind))]


def matches(want, rel, rec):
    if rel != want["file"] or rec.get("action") != want["action"]:
        return False
    if not rec.get("to", "").startswith(want["to"]):
        return False
    if want["frm"] is not ...:
        if want["frm"] is None and rec.get("from") is not None:
            return False
        if want["frm"] is not None and not (rec.get("from") or "").startswith(want["frm"]):
            return False
    if bool(rec.get("undo")) != want.get("undo", False):
        return False
    return want.get("source") is None or rec.get("source") == want["source"]


def read_acks(path):
    ops = []
    if not path.exists():
        return ops
    data = path.read_bytes()
    for line in data[: data.rfind(b"\n") + 1].decode().splitlines():
        msg, kind, prompt, label, code, expect, detail = line.split("\t", 6)
        ops.append(dict(msg=msg, kind=kind, prompt=prompt, label=label,
                        code=int(code), expect=expect, detail=detail))
    return ops


def fsck(bin_, work, env, repair=False):
    args = [bin_, "fsck", "--json"] + (["--repair"] if repair else [])
    run = subprocess.run(args, cwd=work, env=env, capture_output=True)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        raise Failure(f"fsck exited {run.returncode} without a report: {run.stderr!r}")
    return run.returncode, [(p["kind"], p["path"], p["repaired"]) for p in report["problems"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the promptrel binary (release build)")
    ap.add_argument("--kills", type=int, default=int(os.environ.get("KILLS", 1000)))
    ap.add_argument("--min-window-ms", type=float,
                    default=float(os.environ.get("MIN_WINDOW_MS", 30)),
                    help="the writer is killed after uniform(0, window) ms; the window "
                         "is at least this, and at least 4 commands long (measured)")
    ap.add_argument("--repair-prob", type=float,
                    default=float(os.environ.get("REPAIR_PROB", 0.5)),
                    help="chance that fsck --repair runs after a kill (else the next writer copes)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", time.time_ns() % 2**31)))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bin_ = str(Path(args.bin).resolve())
    reaper = subreaper()

    tmp = Path(tempfile.mkdtemp(prefix="promptrel-killtest-"))
    work, acks = tmp / "repo", tmp / "acks"
    work.mkdir()
    acks.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp),
           "PROMPTREL_AUTHOR": "Kill Test <kill@example.com>", "NO_COLOR": "1",
           "PROMPTREL_LOCK_TIMEOUT": "60", "LC_ALL": "C"}
    subprocess.run([bin_, "init"], cwd=work, env=env, check=True, capture_output=True)
    store = work / ".promptrel"
    checker = Checker(store)
    leftovers, repaired, settled_by_writer = Counter(), Counter(), Counter()
    mid_write = 0
    known = set()
    start = time.monotonic()
    ok = False
    kill = 0
    recent = collections.deque(maxlen=50)  # (ms the writer ran, commands it finished)
    window = args.min_window_ms
    try:
        # Round 0, not killed: every prompt gets a version on staging and canary.
        ops = []
        for prompt in ("shared", "team/a", "team/b"):
            for kind, label, argv, stdin in [
                    ("add", "staging", ["add", prompt, "-", "--label", "staging"], "first\n"),
                    ("promote", "canary", ["promote", prompt, "staging", "canary"], None)]:
                msg = f"r0-op{len(ops)}"
                run = subprocess.run([bin_, *argv, "-m", msg], cwd=work, env=env,
                                     input=(stdin or "").encode(), capture_output=True)
                if run.returncode != 0:
                    raise Failure(f"seeding: {argv}: {run.stderr!r}")
                ops.append(dict(msg=msg, kind=kind, prompt=prompt, label=label, code=0,
                                expect="", detail=run.stdout.decode().split("\n")[0]))
        checker.check_round(0, ops)
        for kill in range(1, args.kills + 1):
            ack = acks / f"r{kill}.tsv"
            writer = subprocess.Popen(
                ["bash", str(WRITER), bin_, str(kill), str(ack), str(rng.randrange(32768))],
                cwd=work, env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            ran = time.monotonic()
            time.sleep(rng.uniform(0, window) / 1000)
            os.killpg(writer.pid, signal.SIGKILL)
            ran = (time.monotonic() - ran) * 1000
            writer.wait()
            if reaper:
                reap_all()
            wait_for_lock(store)

            code, problems = fsck(bin_, work, env)
            bad = [p for p in problems if p[0] not in ALLOWED]
            if bad or code != (1 if problems else 0):
                raise Failure(f"kill {kill}: fsck exit {code}: {problems}")
            now = {(k, p) for k, p, _ in problems}
            new = now - known
            if new:
                mid_write += 1
            leftovers.update(k for k, _ in new)
            settled_by_writer.update(k for k, _ in known - now)
            ops = read_acks(ack)
            checker.check_round(kill, ops)
            # Keep the kill landing within the first few commands, however
            # fast or loaded the machine is.
            recent.append((ran, len(ops)))
            per_command = sum(r for r, _ in recent) / (sum(n for _, n in recent) + 1)
            window = max(args.min_window_ms, 4 * per_command)
            checker.check_refs(settled=False)
            if checker.lost:
                raise Failure(f"kill {kill}: lost {checker.lost}")
            if kill == args.kills or rng.random() < args.repair_prob:
                code, problems = fsck(bin_, work, env, repair=True)
                if code != 0 or not all(r for _, _, r in problems):
                    raise Failure(f"kill {kill}: fsck --repair left {problems}")
                repaired.update(k for k, _, _ in problems)
                code, problems = fsck(bin_, work, env)
                if code != 0 or problems:
                    raise Failure(f"kill {kill}: fsck after --repair: exit {code} {problems}")
                checker.read_logs(kill)
                checker.check_refs(settled=True)
                known = set()
            else:
                known = now
            if kill % 100 == 0:
                print(f"  {kill} kills, {checker.acked} acknowledged, kill window "
                      f"{window:.0f} ms, {time.monotonic() - start:.0f} s", file=sys.stderr)
        ok = True
    except Failure as e:
        print(f"FAILED (seed {args.seed}): {e}\nstore kept in {tmp}", file=sys.stderr)
    finally:
        wall = time.monotonic() - start
        print(f"killtest: seed {args.seed}, {wall:.1f} s, final kill window {window:.0f} ms")
        print(f"  kills:                          {kill}")
        print(f"  kills that left leftovers:      {mid_write}  (new leftovers: {dict(leftovers)})")
        print(f"  repaired by fsck --repair:      {dict(repaired)}")
        print(f"  settled by the next writer:     {dict(settled_by_writer)}")
        print(f"  ops acknowledged (exit 0):      {checker.acked}")
        print(f"  ops failed, no trace left:      {sum(checker.failed.values())}  {dict(checker.failed)}")
        print(f"  in flight at the kill, logged:  {checker.in_flight}")
        print(f"  changelog records checked:      {checker.records}")
        print(f"  ops lost:                       {len(checker.lost)}")
        if ok and not args.keep:
            shutil.rmtree(tmp)
    sys.exit(0 if ok and not checker.lost else 1)


if __name__ == "__main__":
    main()
