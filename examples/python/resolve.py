#!/usr/bin/env python3
"""Print the verified bytes of NAME@LABEL from a promptrel store (format 3).
usage: resolve.py NAME@LABEL [path/to/.promptrel] [--key KEY]

A label split between several versions serves the one KEY chooses (a user
id: the same key always gets the same version), or one drawn at random
without a key.

The reader of FORMAT.md section 9: standard library plus `pip install blake3`.
Everything from `import json` to the `__main__` block is that section's code,
byte for byte (tests/cli/python_reader.rs checks it)."""
import json
import random
import re
import sys
from pathlib import Path
from typing import Optional

from blake3 import blake3

PART = r"(?![.-])[a-z0-9._-]+(?<!\.)"  # enough of the naming rules to stay inside the store
SHARE = rb"[0-9a-f]{64}=[1-9][0-9]?"  # one version of a split and its weight, 1 to 99
REF = rb"([0-9a-f]{64}|" + SHARE + rb"(?: " + SHARE + rb")+)\r?\n?"


def choose(value: bytes, name: str, label: str, key: Optional[str]) -> str:
    """The version a ref's value serves: its one id, or the share of a split
    that KEY's bucket falls in (FORMAT.md section 5.1)."""
    if b"=" not in value:
        return value.decode()
    shares = [(v.decode(), int(w)) for v, w in (p.split(b"=") for p in value.split(b" "))]
    ids = [vid for vid, _ in shares]
    if ids != sorted(set(ids)) or sum(w for _, w in shares) != 100:
        raise ValueError(f"{name}@{label}: a split must list each id once, sorted, weights adding up to 100")
    if key is None:
        bucket = random.randrange(100)
    else:
        digest = blake3(f"{name}@{label}\n{key}".encode("utf-8")).digest()
        bucket = int.from_bytes(digest[:8], "big") % 100
    total = 0
    for vid, weight in shares:
        total += weight
        if total > bucket:
            return vid
    raise AssertionError("unreachable: the weights add up to 100")


def resolve(store: Path, name: str, label: str, key: Optional[str] = None) -> bytes:
    fmt = re.search(r"^format:\s*(\d+)\s*(#.*)?$", (store / "config.yaml").read_text("utf-8"), re.M)
    if not fmt or int(fmt[1]) != 3:
        raise ValueError(f"{store}: not a promptrel store of format 3")
    if not re.fullmatch(rf"{PART}(/{PART})*", name) or not re.fullmatch(PART, label):
        raise ValueError(f"invalid name or label: {name}@{label}")
    value = pending(store, name, label)
    if value is None:
        value = read_ref(store, name, label)
    vid = choose(value, name, label, key)
    data = (store / "objects" / vid[:2] / vid[2:]).read_bytes()
    if blake3(data).hexdigest() != vid:
        raise ValueError(f"object {vid[:12]} does not match its id; refusing it")
    return data


def pending(store: Path, name: str, label: str) -> Optional[bytes]:
    """A release being written moves NAME@LABEL: its new value (FORMAT.md §16),
    as a ref holds it: one id, or a split's line."""
    path = store / "releases" / "+pending"
    try:
        release = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    move = next((m for m in release["moves"] if m["prompt"] == name), None)
    if release["label"] != label or move is None:
        return None
    shares = move.get("split")  # a split travels whole, in ref order
    value = " ".join(f"{s['version']}={s['weight']}" for s in shares) if shares else move["to"]
    m = re.fullmatch(REF, value.encode())
    if not m:
        raise ValueError(f"{path}: a damaged release record")
    return m[1]


def read_ref(store: Path, name: str, label: str) -> bytes:
    ref = store / "refs" / name / f"@{label}"
    if ref.is_symlink():
        raise ValueError(f"{ref}: a label file must be a regular file, not a symbolic link")
    if not ref.is_file():
        raise LookupError(f"{name} has no label {label}")
    m = re.fullmatch(REF, ref.read_bytes())
    if not m:  # a git merge conflict, a hand edit, or a later format
        raise ValueError(f"{ref}: does not hold one version id or a split")
    return m[1]


if __name__ == "__main__":
    args, key = sys.argv[1:], None
    if len(args) >= 2 and args[-2] == "--key":
        args, key = args[:-2], args[-1]
    if len(args) not in (1, 2):
        sys.exit("usage: resolve.py NAME@LABEL [path/to/.promptrel] [--key KEY]")
    name, _, label = args[0].partition("@")
    try:
        data = resolve(Path(args[1] if len(args) > 1 else ".promptrel"), name, label, key)
    except (OSError, ValueError, LookupError) as e:
        sys.exit(f"error: {e}")
    sys.stdout.buffer.write(data)
