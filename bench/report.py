#!/usr/bin/env python3
"""Turn a bench/run.sh results folder into the PERFORMANCE.md table and an SVG plot.

usage: bench/report.py RESULTS [--svg FILE] [--update PERFORMANCE.md]

RESULTS holds json/OP@N.json (hyperfine exports), mem.tsv (peak RSS per
command), machine.txt and resolve.json (benches/resolve.rs). Without
--update the markdown is printed; with it, the text between the markers
<!-- bench:begin --> and <!-- bench:end --> of that file is replaced.
Standard library only.
"""
import json
import math
import os
import re
import sys
from pathlib import Path

# operation: (promptrel command, git command, variant column meaning, floor meaning)
OPS = {
    "show": ("`show NAME@prod`", "`git cat-file -p prod:FILE`", None, "`cat` of the object file"),
    "show~3": ("`show NAME@prod~3`", "`git cat-file -p prod@{3}:FILE`", None, None),
    "promote": ("`promote NAME staging prod -m …`", "`git update-ref -m … refs/heads/prod SHA`",
                "`git -c core.fsync=all update-ref …`", None),
    "rollback": ("`rollback NAME prod -m …`", "`git update-ref -m … refs/heads/prod prod@{1}`",
                 "`git -c core.fsync=all update-ref …`", None),
    "log-20": ("`log -n 20`", "`git log --oneline -n 20 prod`", "`git reflog -n 20 prod`", None),
    "log-prod": ("`log NAME --label prod` (N moves)", "`git reflog prod` (N entries)", None, None),
    "log-all": ("`log` (all 3N records)", "`git log --oneline prod` (N commits)", None, None),
    "fsck": ("`fsck` (N objects, 3N records)", "`git fsck` (N commits, N blobs, 3N trees)", None, None),
    "prompts-show": ("`show team-00/prompt-00000@prod`", "`git cat-file -p prod:FILE`", None,
                     "`cat` of the object file"),
    "prompts-log-20": ("`log -n 20`", "`git log --oneline -n 20 prod`", None, None),
    "prompts-list": ("`list`", "`git ls-tree -r --name-only prod`", None, None),
    "prompts-fsck": ("`fsck`", "`git fsck`", None, None),
    "import": ("`add --dir DIR -m …`", "`git add -A && git commit`",
               "the same with `-c core.fsync=all -c core.fsyncMethod=batch`", None),
    "import-freshfs": ("`add --dir DIR -m …`, fresh ext4", "`git add -A && git commit`, fresh ext4",
                       "the same with `-c core.fsync=all -c core.fsyncMethod=batch`", None),
    "diff": ("`diff big@old big@new`", "`git diff --no-index a.md b.md`", None, None),
}
HISTORY = ["show", "show~3", "promote", "rollback", "log-20", "log-prod", "log-all", "fsck"]
PROMPTS = ["prompts-show", "prompts-log-20", "prompts-list", "prompts-fsck", "import", "import-freshfs"]


def load(results: Path):
    rows = {}
    for f in sorted((results / "json").glob("*.json")):
        op, n = f.stem.rsplit("@", 1)
        data = json.loads(f.read_text())
        rows[(op, n)] = {r["command"]: r for r in data["results"]}
    mem = {}
    tsv = results / "mem.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines():
            op, n, tool, kb = line.split("\t")
            mem[(op, n, tool)] = int(kb) if kb.isdigit() else None
    machine = (results / "machine.txt").read_text() if (results / "machine.txt").exists() else ""
    resolve = None
    if (results / "resolve.json").exists():
        resolve = json.loads((results / "resolve.json").read_text())
    return rows, mem, machine, resolve


def med(rows, op, n, tool):
    r = rows.get((op, str(n)), {}).get(tool)
    return r["median"] if r else None


def fmt_time(s):
    if s is None:
        return ""
    ms = s * 1000
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return ""
    return f"{a / b:.2f}"


def fmt_mem(kb):
    return "" if kb is None else f"{kb / 1024:.1f}"


def sizes(rows, ops):
    ns = {n for (op, n) in rows if op in ops}
    return sorted(ns, key=lambda n: int(n) if n.isdigit() else 0)


def table(rows, mem):
    out = [
        "| operation: promptrel · git | N | promptrel | git | git, variant | floor | promptrel / git "
        "| promptrel / variant | promptrel / floor | peak RSS MB: promptrel / git |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = HISTORY + PROMPTS + ["diff"]
    for op in order:
        for n in sizes(rows, [op]):
            p, g = med(rows, op, n, "promptrel"), med(rows, op, n, "git")
            variant = next((med(rows, op, n, v) for v in ("git-fsync", "git-reflog") if med(rows, op, n, v)), None)
            floor = med(rows, op, n, "floor")
            pc, gc, vc, fc = OPS[op]
            label = f"{pc} · {gc}"
            mp, mg = mem.get((op, n, "promptrel")), mem.get((op, n, "git"))
            rss = f"{fmt_mem(mp)} / {fmt_mem(mg)}" if mp or mg else ""
            num = f"{int(n):,}".replace(",", "\u202f") if n.isdigit() else n
            ps = med(rows, op, n, "promptrel-static")
            p_cell, floor_cell = fmt_time(p), fmt_ratio(p, floor)
            if ps:
                p_cell += f" (static: {fmt_time(ps)})"
                floor_cell += f" (static: {fmt_ratio(ps, floor)})"
            out.append(
                f"| {label} | {num} | {p_cell} | {fmt_time(g)} | {fmt_time(variant)} | {fmt_time(floor)} "
                f"| {fmt_ratio(p, g)} | {fmt_ratio(p, variant)} | {floor_cell} | {rss} |"
            )
    notes = ["", "Variants and floors:", ""]
    for op in order:
        pc, gc, vc, fc = OPS[op]
        if vc:
            notes.append(f"- {pc}: variant = {vc}")
        if fc:
            notes.append(f"- {pc}: floor = {fc}")
    return "\n".join(out + notes)


def targets(rows, mem, resolve):
    """(target, measured, met) for each target of issue 4."""
    hist = [n for n in sizes(rows, HISTORY) if n.isdigit()]
    res = []

    def ratio(a, b):
        return a / b if a and b else None

    # show vs cat and git, at every N: from both rounds of the show row when
    # the run has the second (`show-r2`, the commands in the opposite
    # order), each tool's two medians averaged.
    def show_med(n, tool):
        ms = [m for m in (med(rows, "show", n, tool), med(rows, "show-r2", n, tool)) if m]
        return sum(ms) / len(ms) if ms else None

    def round_ratios(n, tool):
        rs = [ratio(med(rows, op, n, tool), med(rows, op, n, "floor")) for op in ("show", "show-r2")]
        return [r for r in rs if r]

    floors = {n: ratio(show_med(n, "promptrel"), show_med(n, "floor")) or 0 for n in hist}
    worst_n = max(floors, key=floors.get) if floors else None
    worst_floor = floors.get(worst_n, 0)
    worst_git = max((ratio(show_med(n, "promptrel"), show_med(n, "git")) or 0) for n in hist)
    static = [ratio(show_med(n, "promptrel-static"), show_med(n, "floor")) for n in hist]
    static = [r for r in static if r]
    note = f"; statically linked build: worst {max(static):.2f}×" if static else ""
    rounds = round_ratios(worst_n, "promptrel") if worst_n else []
    how = f" at N={int(worst_n):,} (rounds " + ", ".join(f"{r:.2f}×" for r in rounds) + ")" if len(rounds) > 1 else ""
    res.append(("`show NAME@LABEL` (cold process) ≤ 1.5× `cat` of the object file, every N",
                f"worst {worst_floor:.2f}×{how}{note}", worst_floor <= 1.5))
    res.append(("`show NAME@LABEL` faster than `git cat-file -p`, every N",
                f"worst {worst_git:.2f}× git", worst_git < 1.0))
    if resolve:
        us = resolve["resolve_read_us"]
        res.append(("in-process resolve label → verified bytes (4 KB) < 20 µs",
                    f"{us:.1f} µs (with `Store::open`: {resolve['open_resolve_read_us']:.1f} µs)", us < 20))
    lo, hi = (hist[0], hist[-1]) if hist else (None, None)
    for op in ["show", "promote", "rollback", "show~3", "log-20"]:
        # From the back-to-back rows (both N in one hyperfine run) when the
        # run has them: the two rounds' medians averaged, each round shown.
        rounds = [(med(rows, f"flat-{op}", f"{lo}-{hi}-{i}", "lo"), med(rows, f"flat-{op}", f"{lo}-{hi}-{i}", "hi"))
                  for i in (1, 2)]
        rounds = [(a, b) for a, b in rounds if a and b]
        if rounds:
            a = sum(x for x, _ in rounds) / len(rounds)
            b = sum(y for _, y in rounds) / len(rounds)
            how = "back to back; rounds " + ", ".join(f"{y / x:.2f}×" for x, y in rounds)
        else:
            a, b = med(rows, op, lo, "promptrel"), med(rows, op, hi, "promptrel")
            how = "rows above"
        r = ratio(b, a)
        if r is not None:
            res.append((f"`{OPS[op][0].strip('`')}` at N={int(hi):,} within 1.25× of N={lo}",
                        f"{r:.2f}× ({fmt_time(a)} → {fmt_time(b)}; {how})", r <= 1.25))
    for op, what in [("log-prod", "full log of a label"), ("log-all", "full log, every record")]:
        r = ratio(med(rows, op, hi, "promptrel"), med(rows, op, hi, "git"))
        m_lo, m_hi = mem.get((op, lo, "promptrel")), mem.get((op, hi, "promptrel"))
        flat = m_lo and m_hi and m_hi <= m_lo * 1.25 + 1024
        if r is not None:
            res.append((f"{what} over N={int(hi):,} no slower than git, flat peak memory",
                        f"{r:.2f}× git; peak RSS {fmt_mem(m_lo)} MB at N={lo} → {fmt_mem(m_hi)} MB",
                        r <= 1.0 and bool(flat)))
    for op, where in [("import", "work folder's fs"), ("import-freshfs", "fresh ext4")]:
        for n in sizes(rows, [op]):
            r = ratio(med(rows, op, n, "promptrel"), med(rows, op, n, "git"))
            rf = ratio(med(rows, op, n, "promptrel"), med(rows, op, n, "git-fsync"))
            res.append((f"bulk import of {int(n):,} files faster than `git add -A && git commit` ({where})",
                        f"{r:.2f}× git ({rf:.2f}× git with core.fsync=all, batch)", r < 1.0))
    r = ratio(med(rows, "fsck", hi, "promptrel"), med(rows, "fsck", hi, "git"))
    if r is not None:
        res.append((f"`fsck` of {int(hi):,} objects faster than `git fsck`", f"{r:.2f}× git", r < 1.0))
    worst = max((ratio(med(rows, "promote", n, "promptrel"), med(rows, "promote", n, "git-fsync")) or 0)
                for n in hist) if hist else None
    if worst:
        res.append(("`promote` (always fully synced) within 2× of `git update-ref` with core.fsync=all, every N",
                    f"worst {worst:.2f}×", worst <= 2.0))
    return res


def svg(rows):
    """Small multiples: median time against N, log-log, one panel per operation."""
    ops = [op for op in HISTORY if any((op, n) in rows for n in sizes(rows, [op]))]
    cols, pw, ph = 4, 250, 190
    ml, mr, mt, mb = 52, 12, 28, 34
    rows_n = math.ceil(len(ops) / cols)
    W, H = cols * pw, rows_n * ph + 52
    style = {
        "promptrel": ("#1f77b4", ""),
        "git": ("#ff7f0e", "6,4"),
        "git-fsync": ("#d62728", "2,3"),
        "git-reflog": ("#9467bd", "8,3,2,3"),
        "floor": ("#7f7f7f", "1,3"),
        "promptrel-static": ("#17becf", "4,2"),
    }
    names = {"promptrel": "promptrel", "git": "git", "git-fsync": "git, core.fsync=all",
             "git-reflog": "git reflog", "floor": "cat (floor)",
             "promptrel-static": "promptrel, static"}
    el = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
          f'font-family="sans-serif" font-size="11">',
          f'<rect width="{W}" height="{H}" fill="white"/>']
    x = 10
    for tool in ["promptrel", "promptrel-static", "git", "git-fsync", "git-reflog", "floor"]:
        color, dash = style[tool]
        el.append(f'<line x1="{x}" y1="16" x2="{x + 26}" y2="16" stroke="{color}" stroke-width="2" '
                  f'stroke-dasharray="{dash}"/>')
        el.append(f'<text x="{x + 30}" y="20">{names[tool]}</text>')
        x += 40 + 7 * len(names[tool])
    el.append('<text x="10" y="40">median wall time of one command (log scale) against N, the versions '
              'in the history (log scale); same data, same run</text>')
    for i, op in enumerate(ops):
        ox, oy = (i % cols) * pw, 52 + (i // cols) * ph
        ns = [n for n in sizes(rows, [op]) if n.isdigit()]
        series = {}
        for tool in style:
            pts = [(int(n), med(rows, op, n, tool)) for n in ns]
            pts = [(n, t * 1000) for n, t in pts if t]
            if pts:
                series[tool] = pts
        if not series:
            continue
        ys = [t for pts in series.values() for _, t in pts]
        y0 = 10 ** math.floor(math.log10(min(ys)))
        y1 = 10 ** math.ceil(math.log10(max(ys)))
        if y1 / y0 < 100:
            y1 = y0 * 100
        x0, x1 = 10, 100000
        px0, px1 = ox + ml, ox + pw - mr
        py0, py1 = oy + ph - mb, oy + mt

        def X(n):
            return px0 + (math.log10(n) - math.log10(x0)) / (math.log10(x1) - math.log10(x0)) * (px1 - px0)

        def Y(t):
            return py0 + (math.log10(t) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) * (py1 - py0)

        title = OPS[op][0].replace("`", "")
        el.append(f'<text x="{ox + pw / 2}" y="{oy + 16}" text-anchor="middle" font-weight="bold">'
                  f'{escape(title)}</text>')
        el.append(f'<rect x="{px0}" y="{py1}" width="{px1 - px0}" height="{py0 - py1}" fill="none" stroke="#ccc"/>')
        for n, lab in [(10, "10"), (1000, "1k"), (10000, "10k"), (100000, "100k")]:
            el.append(f'<line x1="{X(n):.1f}" y1="{py0}" x2="{X(n):.1f}" y2="{py1}" stroke="#eee"/>')
            el.append(f'<text x="{X(n):.1f}" y="{py0 + 13}" text-anchor="middle">{lab}</text>')
        d = y0
        while d <= y1 * 1.0001:
            el.append(f'<line x1="{px0}" y1="{Y(d):.1f}" x2="{px1}" y2="{Y(d):.1f}" stroke="#eee"/>')
            el.append(f'<text x="{px0 - 4}" y="{Y(d) + 4:.1f}" text-anchor="end">{tick(d)}</text>')
            d *= 10
        for tool, pts in series.items():
            color, dash = style[tool]
            path = " ".join(f"{X(n):.1f},{Y(t):.1f}" for n, t in pts)
            el.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
                      f'stroke-dasharray="{dash}"/>')
            for n, t in pts:
                el.append(f'<circle cx="{X(n):.1f}" cy="{Y(t):.1f}" r="2.5" fill="{color}"/>')
    el.append("</svg>")
    return "\n".join(el) + "\n"


def tick(ms):
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    if ms >= 1:
        return f"{ms:g} ms"
    return f"{ms * 1000:g} µs"


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    results = Path(argv[0])
    svg_file = update = None
    rest = argv[1:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--svg":
            svg_file = Path(value)
        elif flag == "--update":
            update = Path(value)
        else:
            sys.exit(f"unknown option {flag}")
    rows, mem, machine, resolve = load(results)
    parts = ["```text", machine.strip(), "```", "", table(rows, mem), ""]
    if resolve:
        parts += [f"In-process (`cargo bench --bench resolve`, {resolve['size']}-byte prompt): resolve "
                  f"`NAME@prod` and read the verified bytes with the store open: "
                  f"**{resolve['resolve_read_us']:.1f} µs**; with `Store::open` each time: "
                  f"{resolve['open_resolve_read_us']:.1f} µs; of which BLAKE3 of the bytes: "
                  f"{resolve['hash_us']:.1f} µs.", ""]
    parts += ["Targets (issue 4), evaluated by `bench/report.py` from this run:", "",
              "| target | measured | met? |", "|---|---|---|"]
    for target, measured, ok in targets(rows, mem, resolve):
        parts.append(f"| {target} | {measured} | {'yes' if ok else '**no**'} |")
    if svg_file:
        svg_file.write_text(svg(rows))
        where = os.path.relpath(svg_file, update.parent if update else Path("."))
        parts += ["", f"![median time against N, per operation]({where})"]
    text = "\n".join(parts) + "\n"
    if update:
        doc = update.read_text()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin not in doc or end not in doc:
            sys.exit(f"{update}: markers {begin} / {end} not found")
        head, rest_ = doc.split(begin, 1)
        _, tail = rest_.split(end, 1)
        update.write_text(f"{head}{begin}\n{text}{end}{tail}")
        print(f"updated {update}", file=sys.stderr)
    else:
        print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
