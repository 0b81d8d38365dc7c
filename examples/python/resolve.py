#!/usr/bin/env python3
"""Print the verified bytes of NAME@LABEL from a promptrel store (format 2).
usage: resolve.py checkout-bot@prod [path/to/.promptrel]

The reader of FORMAT.md section 9: standard library plus `pip install blake3`.
Everything from `import re` to the `__main__` block is that section's code,
byte for byte (tests/cli/python_reader.rs checks it)."""
import json
import re
import sys
from pathlib import Path

from blake3 import blake3

PART = r"(?![.-])[a-z0-9._-]+(?<!\.)"  # enough of the naming rules to stay inside the store


def resolve(store: Path, name: str, label: str) -> bytes:
    fmt = re.search(r"^format:\s*(\d+)\s*(#.*)?$", (store / "config.yaml").read_text("utf-8"), re.M)
    if not fmt or int(fmt[1]) != 2:
        raise ValueError(f"{store}: not a promptrel store of format 2")
    if not re.fullmatch(rf"{PART}(/{PART})*", name) or not re.fullmatch(PART, label):
        raise ValueError(f"invalid name or label: {name}@{label}")
    vid = pending(store, name, label)
    if vid is None:
        vid = read_ref(store, name, label)
    data = (store / "objects" / vid[:2] / vid[2:]).read_bytes()
    if blake3(data).hexdigest() != vid:
        raise ValueError(f"object {vid[:12]} does not match its id; refusing it")
    return data


def pending(store: Path, name: str, label: str):
    """A release being written moves NAME@LABEL: its new id (FORMAT.md §16)."""
    try:
        release = json.loads((store / "releases" / "+pending").read_bytes())
    except FileNotFoundError:
        return None
    if release["label"] != label:
        return None
    return next((m["to"] for m in release["moves"] if m["prompt"] == name), None)


def read_ref(store: Path, name: str, label: str) -> str:
    ref = store / "refs" / name / f"@{label}"
    if ref.is_symlink():
        raise ValueError(f"{ref}: a label file must be a regular file, not a symbolic link")
    if not ref.is_file():
        raise LookupError(f"{name} has no label {label}")
    m = re.fullmatch(rb"([0-9a-f]{64})\r?\n?", ref.read_bytes())
    if not m:  # a git merge conflict, a hand edit, or a later format (traffic split)
        raise ValueError(f"{ref}: does not hold one version id")
    return m[1].decode()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: resolve.py NAME@LABEL [path/to/.promptrel]")
    name, _, label = sys.argv[1].partition("@")
    try:
        data = resolve(Path(sys.argv[2] if len(sys.argv) > 2 else ".promptrel"), name, label)
    except (OSError, ValueError, LookupError) as e:
        sys.exit(f"error: {e}")
    sys.stdout.buffer.write(data)
