#!/usr/bin/env python3
"""chart.py — the ratios of a `make bench` run as an SVG bar chart.

Usage: bench/chart.py BUILD_DIR/bench [OUT.svg]   (default OUT: ratios.svg there)

Reads alloc.jsonl (bench/run.sh) and, when present, sched.jsonl
(bench/sched.sh) from that folder. One horizontal bar per comparison:
for each allocator workload, gort's default preset and its light preset
against each peer; for each scheduler workload, gort against Go. The scale
is logarithmic, centred on 1 (equal): bars to the left mean gort is
faster or smaller, to the right slower or larger. Standard library only.
"""
import json
import math
import os
import sys

ROW_H = 14
LEFT = 250
WIDTH = 760
PLOT_W = WIDTH - LEFT - 70
LO, HI = 1 / 16, 32  # the scale's ends
COLOURS = {"default": "#c0504d", "light": "#f2a7a5", "go": "#4f81bd"}


def load(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bars(alloc, sched):
    """(label, ratio, series) in display order, with group breaks as None."""
    out = []
    workloads = []
    for row in alloc:
        if row["workload"] not in workloads:
            workloads.append(row["workload"])
    for wl in workloads:
        for row in alloc:
            if row["workload"] != wl or row["peer"].startswith("gort"):
                continue
            for series, key in (("default", "ratio_default_over_peer"),
                                ("light", "ratio_light_over_peer")):
                if row.get(key) is not None:
                    name = "gort" if series == "default" else "gort-light"
                    out.append((f"{wl}: {name} / {row['peer']}", row[key], series))
        out.append(None)
    for row in sched:
        if row.get("ratio_gort_over_go") is not None:
            out.append((f"sched {row['workload']}: gort / Go", row["ratio_gort_over_go"], "go"))
    while out and out[-1] is None:
        out.pop()
    return out


def x_of(ratio):
    r = min(max(ratio, LO), HI)
    span = math.log(HI) - math.log(LO)
    return LEFT + (math.log(r) - math.log(LO)) / span * PLOT_W


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(items, title):
    height = 60 + ROW_H * len(items) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="10">',
        f'<text x="10" y="18" font-size="13" font-weight="bold">{esc(title)}</text>',
        '<text x="10" y="34">ratio of medians, log scale: left of 1 gort is faster '
        '(or smaller), right of 1 slower</text>',
    ]
    top = 50
    bottom = top + ROW_H * len(items)
    tick = LO
    while tick <= HI:
        x = x_of(tick)
        label = f"1/{int(1 / tick)}" if tick < 1 else f"{tick:g}"
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" '
                     f'stroke="{"#000" if tick == 1 else "#ddd"}"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 12}" text-anchor="middle">{label}</text>')
        tick *= 2
    for i, item in enumerate(items):
        if item is None:
            continue
        label, ratio, series = item
        y = top + i * ROW_H
        x0, x1 = sorted((x_of(1), x_of(ratio)))
        parts.append(f'<text x="{LEFT - 6}" y="{y + 10}" text-anchor="end">{esc(label)}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{ROW_H - 4}" fill="{COLOURS[series]}"/>')
        parts.append(f'<text x="{max(x_of(ratio), x_of(1)) + 4:.1f}" y="{y + 10}">'
                     f'{ratio:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: chart.py BENCH_DIR [OUT.svg]")
    folder = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(folder, "ratios.svg")
    alloc = load(os.path.join(folder, "alloc.jsonl"))
    sched = load(os.path.join(folder, "sched.jsonl"))
    items = bars(alloc, sched)
    if not items:
        sys.exit("chart.py: no results in " + folder)
    cpu = alloc[0].get("cpu", "") if alloc else ""
    with open(out, "w", encoding="utf-8") as f:
        f.write(svg(items, f"gort against its peers ({cpu})" if cpu else "gort against its peers"))
    print(f"chart: {out} ({sum(1 for i in items if i)} bars)")


if __name__ == "__main__":
    main()
