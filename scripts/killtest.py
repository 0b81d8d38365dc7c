#!/usr/bin/env python3
"""SIGKILL test for promptrel (issue 3: promptrel never loses a release).

In a temp dir with a store (format 2), KILLS times: start a writer
(killtest-writer.sh, a loop of mixed promptrel commands that write, releases
of several prompts and rollbacks of releases included, each logged to an ack
file only after it returned), kill it and everything it started with SIGKILL
after a random few milliseconds, then check the store:

- before anything can repair it, readers see every release whole: for every
  prompt, `promptrel show` of canary and prod gives the value of the pending
  release (`releases/+pending`) for a label it moves, else the ref; so every
  label of a release is at its new value, or (no pending release, no release
  record) every one at its old value, and no label record of that release
  exists;
- `promptrel fsck` exits 0, or finds only crash leftovers (temp-file,
  ref-behind-log, pending-release); anything else is a failure;
- each log is read from its record files (FORMAT.md §6.2: one file per record,
  `<seq:012>-<hash16>`, 256 per shard: the log's folder `<name><stem>` holds
  the first, folders `~NNNNNN` inside it the others): name, shard,
  hash and content agree; packs are not used, but a pack whose digest is that
  of its shard's record file names must hold exactly those records, each once,
  in log order; record and pack FILES are never changed or removed between
  rounds (logs only grow by new files);
- every log is seq 1, 2, 3, … (one history, so no gaps and no equal seqs);
  every record's `from` is the `to` of the record before it (null for seq 1);
  every undo went where the undo walk says; the release log's records name
  moves that each have exactly one label record carrying the release's id,
  and a rollback of a release reverses exactly that release's moves;
- every acknowledged command (exit 0) is in the changelog, exactly once per
  log it writes, with the ids it printed; lost = acknowledged but missing (MUST
  be 0); no failed command left a record, and only the one command in flight
  at the kill may have left records without an acknowledgement (or the
  completion of a pending release, by the next writer or `fsck --repair`);
- with probability REPAIR_PROB `fsck --repair` must fix everything, after which
  `fsck` is clean, no release is pending and every ref equals its log's last
  `to`; otherwise the leftovers are left to the next writer, which must cope
  with them.

Standard library only (BLAKE3, for record names and pack digests, is written
out below; the `blake3` package is used instead when it is installed).
Normally run through scripts/killtest.sh.
"""

import argparse
import collections
import ctypes
import fcntl
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ALLOWED = {"temp-file", "ref-behind-log", "pending-release"}
ACTION = {"add": "add", "promote": "promote", "promote-prod": "promote",
          "rollback": "rollback", "label": "label", "protected": "label"}
SOURCE = {"promote": "staging", "promote-prod": "canary"}
DOCUMENTED_2 = {"nothing to roll back", "unknown label", "unknown prompt", "protected label",
                "release already rolled back", "release moved since",
                "label did not exist before the release"}
PROMPTS = ("shared", "team/a", "team/b")
WRITER = Path(__file__).resolve().with_name("killtest-writer.sh")
SHARD_SIZE = 256
LOG_DIR = re.compile(r"([a-z0-9._-]+)([+@][^~+@]+)")  # <last name part><stem>
SHARD_DIR = re.compile(r"~([0-9]{6})")  # shard k >= 1, inside its log's folder
RECORD_FILE = re.compile(r"([0-9]{12})-([0-9a-f]{16})")
PACK_FILE = re.compile(r"pack-([0-9a-f]{16})")
ID = re.compile(r"[0-9a-f]{64}")
TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


class Failure(Exception):
    pass


# BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), unkeyed, 32 bytes.
_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
       0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_G = ((0, 4, 8, 12, 0), (1, 5, 9, 13, 2), (2, 6, 10, 14, 4), (3, 7, 11, 15, 6),
      (0, 5, 10, 15, 8), (1, 6, 11, 12, 10), (2, 7, 8, 13, 12), (3, 4, 9, 14, 14))
_M = 0xFFFFFFFF


def _compress(cv, words, counter, block_len, flags):
    s = list(cv) + list(_IV[:4]) + [counter & _M, counter >> 32, block_len, flags]
    m = list(words)
    for _ in range(7):
        for a, b, c, d, i in _G:
            x = (s[a] + s[b] + m[i]) & _M
            y = s[d] ^ x
            y = ((y >> 16) | (y << 16)) & _M
            z = (s[c] + y) & _M
            w = s[b] ^ z
            w = ((w >> 12) | (w << 20)) & _M
            x = (x + w + m[i + 1]) & _M
            y ^= x
            y = ((y >> 8) | (y << 24)) & _M
            z = (z + y) & _M
            w ^= z
            s[a], s[b], s[c], s[d] = x, ((w >> 7) | (w << 25)) & _M, z, y
        m = [m[p] for p in _PERM]
    return [s[i] ^ s[i + 8] for i in range(8)] + [s[i + 8] ^ cv[i] for i in range(8)]


def _blake3_hex(data):
    chunks = [data[i:i + 1024] for i in range(0, len(data), 1024)] or [b""]
    stack = []
    for n, chunk in enumerate(chunks):
        last_chunk = n == len(chunks) - 1
        cv = list(_IV)
        blocks = [chunk[i:i + 64] for i in range(0, len(chunk), 64)] or [b""]
        for j, block in enumerate(blocks):
            flags = (1 if j == 0 else 0) | (2 if j == len(blocks) - 1 else 0)  # START, END
            if n == 0 and len(chunks) == 1 and j == len(blocks) - 1:
                flags |= 8  # ROOT
            words = struct.unpack("<16I", block.ljust(64, b"\0"))
            out = _compress(cv, words, n, len(block), flags)
            cv = out[:8]
        if not last_chunk:
            total = n + 1
            while total & 1 == 0:
                cv = _compress(_IV, stack.pop() + cv, 0, 64, 4)[:8]  # PARENT
                total >>= 1
            stack.append(cv)
        while last_chunk and stack:
            out = _compress(_IV, stack.pop() + cv, 0, 64, 4 | (0 if stack else 8))
            cv = out[:8]
    return struct.pack("<8I", *out[:8]).hex()


try:
    from blake3 import blake3 as _blake3

    def blake3_hex(data):
        return _blake3(data).hexdigest()
except ImportError:
    blake3_hex = _blake3_hex
assert _blake3_hex(b"") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
assert _blake3_hex(bytes(range(251)) * 9) == blake3_hex(bytes(range(251)) * 9)


def instant(text, where):
    """An RFC 3339 time as (seconds, nanoseconds): records compare as instants."""
    m = TIME.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise Failure(f"{where}: bad time {text!r}")
    dt = datetime.fromisoformat(m[1] + ("+00:00" if m[3] == "Z" else m[3]))
    return int(dt.timestamp()), int((m[2] or "0").ljust(9, "0"))


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


def same_id(full, short):
    """A record's id (or null) against one printed, maybe shortened ("-": none)."""
    if short is None:
        return full is None
    return isinstance(full, str) and full.startswith(short)


class Checker:
    def __init__(self, store):
        self.store = store
        self.files = {}  # rel path in the store -> (stat key, bytes): record and pack files
        self.logs = {}  # log ("logs/shared/@prod", "releases/+releases") -> [records by seq]
        self.by_msg = {}  # message -> [(log, record)]
        self.releases = {}  # release id -> release record
        self.members = collections.defaultdict(list)  # release id -> [(log, record)]
        self.pending = None  # (id, record) of releases/+pending, as last read
        self.verified_packs = set()
        self.stale_packs = set()
        self.acked = Counter()
        self.failed = Counter()
        self.in_flight = 0
        self.lost = []
        self.records = 0
        self.release_records = 0

    # -- reading the store ------------------------------------------------

    def scan(self, tree, listing, shards):
        """Every record and pack file below `tree` ("logs" or "releases").
        Logs are keyed `logs/<name>/<stem>` and `releases/+releases`."""
        top = self.store / tree

        def read_shard(folder, where, log, number):
            shard = shards.setdefault((log, number), {"records": {}, "packs": {}})
            with os.scandir(folder) as it:
                files = sorted(it, key=lambda e: e.name)
            for f in files:
                if f.name.startswith("."):
                    continue
                frel = f"{where}/{f.name}"
                if number == 0 and f.is_dir(follow_symlinks=False):
                    m = SHARD_DIR.fullmatch(f.name)
                    if not m or int(m[1]) == 0:
                        raise Failure(f"{frel}: unexpected folder in a log's folder")
                    read_shard(f.path, frel, log, int(m[1]))
                    continue
                if not f.is_file(follow_symlinks=False):
                    raise Failure(f"{frel}: not a regular file")
                st = f.stat(follow_symlinks=False)
                listing[frel] = (f.path, (st.st_ino, st.st_size, st.st_mtime_ns))
                r, p = RECORD_FILE.fullmatch(f.name), PACK_FILE.fullmatch(f.name)
                if r:
                    if (int(r[1]) - 1) // SHARD_SIZE != number or int(r[1]) == 0:
                        raise Failure(f"{frel}: seq {int(r[1])} in shard {number}")
                    shard["records"][f.name] = frel
                elif p:
                    shard["packs"][p[1]] = frel
                else:
                    raise Failure(f"{frel}: neither a record nor a pack")

        def walk(folder, rel):
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
            for e in entries:
                if e.name.startswith("."):
                    continue  # .keep, temp files (fsck reports those)
                where = f"{tree}/{rel}{e.name}"
                if tree == "releases" and not rel and e.name == "+pending":
                    continue
                if not e.is_dir(follow_symlinks=False):
                    raise Failure(f"{where}: unexpected file (format 1 leftover?)")
                if tree == "releases":
                    if e.name != "+releases":
                        raise Failure(f"{where}: unexpected folder")
                    read_shard(e.path, where, "releases/+releases", 0)
                    continue
                m = LOG_DIR.fullmatch(e.name)
                if not m:
                    walk(e.path, f"{rel}{e.name}/")  # a namespace
                    continue
                part, stem = m[1], m[2]
                if not (stem == "+versions" or stem.startswith("@")):
                    raise Failure(f"{where}: not a log of this tree")
                read_shard(e.path, where, f"logs/{rel}{part}/{stem}", 0)

        if top.is_dir():
            walk(top, "")

    def read_logs(self, round_no):
        """Read the record files written since the last check; every file
        seen before must still be there, byte for byte."""
        listing, shards = {}, {}
        self.scan("releases", listing, shards)
        self.scan("logs", listing, shards)
        gone = set(self.files) - set(listing)
        if gone:
            raise Failure(f"files removed: {sorted(gone)[:5]} ({len(gone)})")
        new = {}
        for rel, (path, key) in listing.items():
            old = self.files.get(rel)
            if old and old[0] == key:
                continue
            with open(path, "rb") as f:
                data = f.read()
            if old and old[1] != data:
                raise Failure(f"{rel}: changed after it was written")
            self.files[rel] = (key, data)
            if not old:
                new[rel] = data

        # New records, log by log (the release log first), in log order.
        per_log = collections.defaultdict(list)
        for (log, _), shard in shards.items():
            for name, rel in shard["records"].items():
                if rel in new:
                    data = new[rel]
                    if not data.endswith(b"\n") or data.count(b"\n") != 1:
                        raise Failure(f"{rel}: not one line ending in a newline")
                    line = data[:-1]
                    if blake3_hex(line)[:16] != name[13:]:
                        raise Failure(f"{rel}: its name does not match the hash of its line")
                    rec = self.parse_line(line, rel)
                    if rec.get("seq") != int(name[:12]):
                        raise Failure(f"{rel}: seq {rec.get('seq')!r} in a file named {name}")
                    key = (rec["seq"], instant(rec.get("time"), rel), line)
                    per_log[log].append((key, rel, rec))
        previous_pending = self.pending
        allowed_ids = {previous_pending[0]} if previous_pending else set()
        pending_read = False
        new_releases = []
        for log in sorted(per_log, key=lambda lg: (not lg.startswith("releases/"), lg)):
            if not log.startswith("releases/") and not pending_read:
                pending_read = self.read_pending()
            for (_, _, line), rel, rec in sorted(per_log[log], key=lambda x: x[0]):
                records = self.logs.setdefault(log, [])
                if rec["seq"] != len(records) + 1:
                    raise Failure(f"{rel}: seq {rec['seq']} follows seq {len(records)} "
                                  "(a gap or two records with one seq, in a single history)")
                if log.startswith("releases/"):
                    rid = blake3_hex(line)
                    rec["_id"] = rid
                    self.check_release(rid, rec, rel)
                    new_releases.append(rid)
                else:
                    self.check_record(log, records, rec, rel)
                    self.records += 1
                msg = rec.get("message", "")
                own = rec.get("release") or rec.get("_id")
                if not (msg.startswith(f"r{round_no}-op") or own in allowed_ids):
                    raise Failure(f"{rel}: {msg!r} appeared after its writer died")
                if any(f == log for f, _ in self.by_msg.get(msg, [])):
                    raise Failure(f"{rel}: {msg} recorded twice in {log}")
                records.append(rec)
                self.by_msg.setdefault(msg, []).append((log, rec))
        if not pending_read:
            self.read_pending()
        # A release record is written after every label record of it.
        for rid in new_releases:
            self.check_members(rid)

        # Packs: ignored by this reader, but one that readers would use must
        # hold exactly its shard's record files.
        for (log, number), shard in shards.items():
            names = sorted(shard["records"])
            digest = blake3_hex(b"".join(n.encode() + b"\n" for n in names))[:16]
            for d, rel in shard["packs"].items():
                if rel in self.verified_packs:
                    continue
                if d != digest:
                    self.stale_packs.add(rel)
                    continue
                data = self.files[rel][1]
                want = [self.files[shard["records"][n]][1] for n in names]
                want.sort(key=lambda b: (json.loads(b)["seq"], instant(json.loads(b)["time"], rel), b))
                if not data.endswith(b"\n") or data.splitlines(keepends=True) != want:
                    raise Failure(f"{rel}: a pack that readers would use does not hold "
                                  f"exactly the {len(names)} records of its shard, in log order")
                self.verified_packs.add(rel)
                self.stale_packs.discard(rel)

    def read_pending(self):
        """`releases/+pending`: one release record line, read after the
        release log (its seq follows the log's) and before the label logs
        (whose records may belong to it)."""
        pending_path = self.store / "releases" / "+pending"
        self.pending = None
        if pending_path.exists():
            data = pending_path.read_bytes()
            if not data.endswith(b"\n") or data.count(b"\n") != 1:
                raise Failure(f"releases/+pending: not one line: {data!r}")
            rec = self.parse_line(data[:-1], "releases/+pending")
            self.pending = (blake3_hex(data[:-1]), rec)
            self.check_release(self.pending[0], rec, "releases/+pending", pending=True)
        return True

    def parse_line(self, line, where):
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise Failure(f"{where}: damaged record {line!r}: {e}")
        if not isinstance(rec, dict) or not isinstance(rec.get("seq"), int) or rec["seq"] < 1:
            raise Failure(f"{where}: not a record: {line!r}")
        instant(rec.get("time"), where)
        return rec

    def check_record(self, log, records, rec, rel):
        """A label or version record against its log and its release."""
        parts = log.split("/")
        prompt, stem = "/".join(parts[1:-1]), parts[-1]
        if rec.get("prompt") != prompt:
            raise Failure(f"{rel}: prompt {rec.get('prompt')!r} in the log of {prompt}")
        if stem == "+versions":
            if rec.get("action") != "add" or "label" in rec:
                raise Failure(f"{rel}: not an add record in +versions")
        elif rec.get("action") not in ("label", "promote", "rollback") or rec.get("label") != stem[1:]:
            raise Failure(f"{rel}: not a move of {stem[1:]}")
        if not ID.fullmatch(str(rec.get("to"))):
            raise Failure(f"{rel}: bad to {rec.get('to')!r}")
        # Chain: one history, so the record before it by seq.
        prev = records[-1]["to"] if records else None
        if rec.get("from") != prev:
            raise Failure(f"{rel}: breaks the chain (from {rec.get('from')}, before it {prev})")
        if rec.get("undo") and undo_target(records) != rec["to"]:
            raise Failure(f"{rel}: undo did not go to the undo walk's target")
        rid = rec.get("release")
        if rid is None:
            return
        release = self.releases.get(rid)
        if release is None and self.pending and self.pending[0] == rid:
            release = self.pending[1]
        if release is None:
            raise Failure(f"{rel}: a record of release {rid[:12]}, which is neither "
                          "in the release log nor pending")
        if rec["label"] != release["label"] or {"prompt": prompt, "from": rec["from"],
                                                 "to": rec["to"]} not in release["moves"]:
            raise Failure(f"{rel}: not one of release {rid[:12]}'s moves")
        if release["action"] == "release":
            if rec["action"] != "promote" or rec.get("source") != release["source"]:
                raise Failure(f"{rel}: not the promote of release {rid[:12]}")
        else:
            # An undo when it undoes the label's newest record, unless that
            # is an undo itself (then this re-does a move: FORMAT.md §16).
            undo = (bool(records) and records[-1].get("release") == release["undoes"]
                    and not records[-1].get("undo"))
            if rec["action"] != "rollback" or bool(rec.get("undo")) != undo:
                raise Failure(f"{rel}: not the rollback (undo {undo}) of release {rid[:12]}")
        self.members[rid].append((log, rec))

    def check_release(self, rid, rec, rel, pending=False):
        """A release record (in the release log or pending)."""
        log = self.logs.get("releases/+releases", [])
        if pending:
            done = self.releases.get(rid)
            if rec["seq"] != (done["seq"] if done else len(log) + 1):
                raise Failure(f"{rel}: seq {rec['seq']}, the release log has {len(log)}")
        moves = rec.get("moves")
        if (rec.get("action") not in ("release", "rollback") or not moves
                or [m.get("prompt") for m in moves] != sorted({m.get("prompt") for m in moves})):
            raise Failure(f"{rel}: not a release record: {rec}")
        if rec["action"] == "rollback":
            undone = self.releases.get(rec.get("undoes"))
            if undone is None or undone["label"] != rec["label"]:
                raise Failure(f"{rel}: undoes {rec.get('undoes')!r}, not a release of its label")
            back = [{"prompt": m["prompt"], "from": m["to"], "to": m["from"]}
                    for m in undone["moves"]]
            if moves != back:
                raise Failure(f"{rel}: does not reverse release {rec['undoes'][:12]}: {moves}")
            if any(r.get("undoes") == rec["undoes"] and r is not rec and i != rid
                   for i, r in self.releases.items()):
                raise Failure(f"{rel}: release {rec['undoes'][:12]} undone twice")
        if not pending:
            self.releases[rid] = rec
            self.release_records += 1

    def check_members(self, rid):
        release = self.releases[rid]
        got = sorted((log, r["to"]) for log, r in self.members[rid])
        want = sorted((f"logs/{m['prompt']}/@{release['label']}", m["to"]) for m in release["moves"])
        if got != want:
            raise Failure(f"release {rid[:12]} is in the release log, but its label records "
                          f"are {got}, not {want}")

    # -- checks after each kill ---------------------------------------------

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
            self.acked[op["kind"]] += 1
            wants = wanted(op)
            for want in wants:
                n = sum(1 for f, r in found if f == want["log"] and want["match"](r))
                if n == 0:
                    self.lost.append(f"{op['msg']} {op['kind']} {op['prompt']}: "
                                     f"no record {want['what']}")
                elif n > 1:
                    raise Failure(f"{op['msg']} recorded {n} times")
            if len(found) != len(wants):
                raise Failure(f"{op['msg']}: {len(found)} records for {len(wants)} changes: {found}")
        in_flight = f"r{round_no}-op{len(ops)}"
        for msg, found in self.by_msg.items():
            if msg.startswith(f"r{round_no}-op") and msg not in logged:
                if msg != in_flight:
                    raise Failure(f"{msg}: records of a command that never ran")
                self.in_flight += 1
                logs = sorted(f for f, _ in found)
                ids = {r.get("release") or r.get("_id") for _, r in found}
                if ids != {None}:
                    # A release, got as far as some of its records (its
                    # pending record says all of them are coming).
                    if len(ids) != 1 or None in ids or len(set(logs)) != len(logs):
                        raise Failure(f"{msg}: records of more than one release {found}")
                    continue
                # At most one move, or an add: its version and its staging move.
                prompt = logs[0].rsplit("/", 1)[0]
                if len(logs) > 2 or len(logs) == 2 and logs != [
                        f"{prompt}/+versions", f"{prompt}/@staging"]:
                    raise Failure(f"{msg}: records of more than one command {logs}")

    def check_views(self, bin_, work, env):
        """Before any repair: `promptrel show` sees a pending release whole,
        and otherwise the refs. Returns True when the kill left a release
        half-way through its refs."""
        pending = self.pending[1] if self.pending else None
        split = set()
        for prompt in PROMPTS:
            for label in ("canary", "prod"):
                ref = self.store / "refs" / prompt / f"@{label}"
                held = ref.read_bytes().decode().strip() if ref.exists() else None
                want = held
                move = pending and pending["label"] == label and next(
                    (m for m in pending["moves"] if m["prompt"] == prompt), None)
                if move:
                    if held not in (move["from"], move["to"]):
                        raise Failure(f"refs/{prompt}/@{label} holds {held}, pending release "
                                      f"moves it from {move['from']} to {move['to']}")
                    split.add(held == move["to"])
                    want = move["to"]
                run = subprocess.run([bin_, "show", f"{prompt}@{label}"], cwd=work, env=env,
                                     capture_output=True)
                if want is None:
                    if run.returncode == 0:
                        raise Failure(f"show {prompt}@{label} printed a version of no label")
                    continue
                obj = self.store / "objects" / want[:2] / want[2:]
                if run.returncode != 0 or run.stdout != obj.read_bytes():
                    raise Failure(f"show {prompt}@{label} (exit {run.returncode}) did not print "
                                  f"{want[:12]}: {run.stderr!r}")
        return len(split) == 2

    def check_refs(self, settled):
        root = self.store / "refs"
        refs = {}
        for path in root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                refs[path.relative_to(root).as_posix()] = path.read_bytes()
        for rel, data in refs.items():
            records = self.logs.get(f"logs/{rel}", [])
            if not records:
                raise Failure(f"refs/{rel} has no changelog")
            last = records[-1]
            ok = data == f"{last['to']}\n".encode()
            if not settled and last.get("from"):
                ok = ok or data == f"{last['from']}\n".encode()
            if not ok:
                raise Failure(f"refs/{rel} holds {data!r}, its log ends at {last['to']}")
        for log, records in self.logs.items():
            rel = log.split("/", 1)[1]
            if log.startswith("logs/") and rel.rsplit("/", 1)[-1].startswith("@") and rel not in refs:
                if settled or len(records) != 1 or records[0].get("from") is not None:
                    raise Failure(f"{log} has no ref")
        if settled and self.pending:
            raise Failure("a release is still pending")

    def newest_release(self):
        log = self.logs.get("releases/+releases")
        return log[-1]["_id"][:12] if log else ""


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
                      ("locked by another", "lock timeout"),
                      (" was already rolled back by ", "release already rolled back"),
                      (" moved since, so it cannot be undone", "release moved since"),
                      (" did not exist before release ", "label did not exist before the release")]:
        if text in d:
            return why
    return d


def wanted(op):
    """The records a command that exited 0 must have written: each a log
    and a test of the record."""
    kind, prompt, label, d = op["kind"], op["prompt"], op["label"], op["detail"]
    if kind in ("release", "rollback-release"):
        return wanted_release(op)
    log = f"logs/{prompt}/@{label}"
    if kind == "protected":
        raise Failure(f"{op['msg']}: protected prod moved through `label`")
    if kind == "add":
        return [dict(log=f"logs/{prompt}/+versions", what=f"add {d}",
                     match=lambda r: r["action"] == "add" and r["to"].startswith(d)),
                dict(log=log, what=f"label -> {d}",
                     match=lambda r: r["action"] == "label" and r["to"].startswith(d))]
    if " already points at " in d:
        return []
    move = parse_move(d)
    if not move or move[0] != f"{prompt}@{label}":
        raise Failure(f"{op['msg']}: unexpected output {d!r}")
    _, frm, to = move
    if op["expect"] and not (frm or "").startswith(op["expect"]):
        raise Failure(f"{op['msg']}: --expect {op['expect']} held, yet it moved from {frm}")
    action, source, undo = ACTION[kind], SOURCE.get(kind), kind == "rollback"
    return [dict(log=log, what=f"{action} {frm} -> {to}",
                 match=lambda r: (r["action"] == action and same_id(r["from"], frm)
                                  and same_id(r["to"], to) and bool(r.get("undo")) == undo
                                  and r.get("release") is None
                                  and (source is None or r.get("source") == source)))]


def wanted_release(op):
    """`released canary to prod as release ID (N prompts) | P@L: FROM -> TO | …`
    or `rolled back release OLD as release ID (…) | …`: the release record
    and one label record per move."""
    lines = op["detail"].split(" | ")
    if lines[0].endswith("; nothing changed") and op["kind"] == "release":
        return []
    m = (re.fullmatch(r"released (\S+) to (\S+) as release ([0-9a-f]{12}) \((\d+) prompts?\)",
                      lines[0]) if op["kind"] == "release" else
         re.fullmatch(r"rolled back release ([0-9a-f]{12}) as release ([0-9a-f]{12}) "
                      r"\((\d+) prompts?\)", lines[0]))
    moves = [parse_move(line) for line in lines[1:]]
    if not m or None in moves or int(m[m.lastindex]) != len(moves):
        raise Failure(f"{op['msg']}: unexpected output {op['detail']!r}")
    if op["kind"] == "release":
        source, label, rid, undoes, action = m[1], m[2], m[3], None, "promote"
        if label != op["label"] or op["prompt"] != "--all" and not {
                t.split("@")[0] for t, _, _ in moves} <= set(op["prompt"].split(",")):
            raise Failure(f"{op['msg']}: moved what it was not asked to: {op['detail']!r}")
    else:
        source, undoes, rid, action = None, m[1], m[2], "rollback"
        label = moves[0][0].split("@")[1]
        if not op["prompt"].startswith(undoes):
            raise Failure(f"{op['msg']}: undid {undoes}, not {op['prompt']}")

    def release_matches(r):
        return (r["_id"].startswith(rid) and r["label"] == label
                and r.get("source") == source and same_id(r.get("undoes"), undoes)
                and len(r["moves"]) == len(moves)
                and all(f"{x['prompt']}@{label}" == t and same_id(x["from"], frm)
                        and same_id(x["to"], to) for x, (t, frm, to) in zip(r["moves"], moves)))

    wants = [dict(log="releases/+releases", what=f"release {rid}", match=release_matches)]
    for target, frm, to in moves:
        prompt, lab = target.split("@")
        wants.append(dict(
            log=f"logs/{prompt}/@{lab}", what=f"{action} {frm} -> {to} of release {rid}",
            match=lambda r, frm=frm, to=to: (r["action"] == action and same_id(r["from"], frm)
                                             and same_id(r["to"], to)
                                             and same_id(r.get("release"), rid))))
    return wants


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
    mid_write = pending_kills = split_kills = 0
    known = set()
    start = time.monotonic()
    ok = False
    kill = 0
    recent = collections.deque(maxlen=50)  # (ms the writer ran, commands it finished)
    window = args.min_window_ms
    try:
        # Round 0, not killed: every prompt gets a version on staging and canary.
        ops = []
        for prompt in PROMPTS:
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
                ["bash", str(WRITER), bin_, str(kill), str(ack), str(rng.randrange(32768)),
                 checker.newest_release()],
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

            ops = read_acks(ack)
            checker.check_round(kill, ops)
            if checker.pending:
                pending_kills += 1
            # Before fsck, let alone a repair: readers see releases whole.
            split_kills += checker.check_views(bin_, work, env)
            code, problems = fsck(bin_, work, env)
            bad = [p for p in problems if p[0] not in ALLOWED]
            if bad or code != (1 if problems else 0):
                raise Failure(f"kill {kill}: fsck exit {code}: {problems}")
            if bool(checker.pending) != any(k == "pending-release" for k, _, _ in problems):
                raise Failure(f"kill {kill}: pending release {checker.pending}, fsck: {problems}")
            now = {(k, p) for k, p, _ in problems}
            new = now - known
            if new:
                mid_write += 1
            leftovers.update(k for k, _ in new)
            settled_by_writer.update(k for k, _ in known - now)
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
                print(f"  {kill} kills, {sum(checker.acked.values())} acknowledged, kill window "
                      f"{window:.0f} ms, {time.monotonic() - start:.0f} s", file=sys.stderr)
        ok = True
    except Failure as e:
        print(f"FAILED (seed {args.seed}): {e}\nstore kept in {tmp}", file=sys.stderr)
    finally:
        wall = time.monotonic() - start
        acked = checker.acked
        print(f"killtest: seed {args.seed}, {wall:.1f} s, final kill window {window:.0f} ms")
        print(f"  kills:                          {kill}")
        print(f"  kills that left leftovers:      {mid_write}  (new leftovers: {dict(leftovers)})")
        print(f"  kills with a pending release:   {pending_kills}  "
              f"({split_kills} with its refs half moved; readers saw it whole)")
        print(f"  repaired by fsck --repair:      {dict(repaired)}")
        print(f"  settled by the next writer:     {dict(settled_by_writer)}")
        print(f"  ops acknowledged (exit 0):      {sum(acked.values())}  {dict(acked)}")
        print(f"  ops failed, no trace left:      {sum(checker.failed.values())}  {dict(checker.failed)}")
        print(f"  in flight at the kill, logged:  {checker.in_flight}")
        print(f"  changelog records checked:      {checker.records}  "
              f"(+ {checker.release_records} release records; "
              f"{len(checker.files)} files, none changed or removed)")
        print(f"  packs checked:                  {len(checker.verified_packs)}  "
              f"({len(checker.stale_packs)} not matching their shard, ignored)")
        print(f"  ops lost:                       {len(checker.lost)}")
        if ok and not args.keep:
            shutil.rmtree(tmp)
    sys.exit(0 if ok and not checker.lost else 1)


if __name__ == "__main__":
    main()
