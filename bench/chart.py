"""Bar chart of the overhead ratios saved by `bench/overhead.py --json FILE`.

    python bench/chart.py FILE [FILE ...] -o docs/benchmarks-overhead.png

One group of bars per workload (the start-up workload left out: its ratios
are of a few milliseconds), one bar per profiler: the median ratio of wall
time to the unprofiled run, on a logarithmic scale.  A profiler stopped at the
time limit gets a hatched bar at the limit, marked ">".  Needs matplotlib
(bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import statistics
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

from overhead import load_json, ratios, timed_out  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description="Overhead bar chart from bench/overhead.py --json.")
    p.add_argument("json", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    ns = p.parse_args()
    results, groups, labels = load_json(ns.json)
    names = [n for n in results if groups.get(n) != "startup"]
    keys = [k for k in labels if k != "unprofiled" and any(k in results[n] for n in names)]
    if not names or not keys:
        raise SystemExit("error: nothing to plot")
    fig, ax = plt.subplots(figsize=(max(8.0, 0.9 * len(names) * len(keys) / 3), 5.5))
    width = 0.8 / len(keys)
    colors = plt.get_cmap("tab10")
    for i, key in enumerate(keys):
        xs, hs, stopped = [], [], []
        for j, name in enumerate(names):
            if key not in results[name]:
                continue
            wall = ratios(results[name][key], results[name]["unprofiled"], "wall_s")
            xs.append(j + (i - (len(keys) - 1) / 2) * width)
            hs.append(statistics.median(wall))
            stopped.append(timed_out(results[name][key]))
        bars = ax.bar(xs, hs, width, label=labels[key], color=colors(i))
        for bar, s in zip(bars, stopped):
            if s:
                bar.set_hatch("//")
                ax.annotate(">", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(1.10, color="gray", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("wall time / unprofiled (median, log scale)")
    ax.set_title("Profiler overhead (dashed: heapline's 1.10x target; hatched: stopped at the "
                 "time limit)", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(ns.output, dpi=110)
    print(f"wrote {ns.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
