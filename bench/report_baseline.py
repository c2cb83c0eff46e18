#!/usr/bin/env python3
"""numpy/scipy baseline of the report benchmark (bench/report.bench.ts).

Reads reference.f64 / current.f64 (raw little-endian float64, column-major: all rows of
column 0, then column 1, ...) and meta.json from --dir, then per column computes what the
default report computes for large numeric data, the way Evidently does it with numpy/scipy:
  - Wasserstein-1 / max(np.std(reference), 0.001)          (scipy.stats.wasserstein_distance)
  - Jensen-Shannon distance on Sturges bins over ref + cur  (np.histogram_bin_edges, np.histogram,
                                                             scipy.spatial.distance.jensenshannon)
  - the built-in app's 22-bin histogram TVD / Hellinger / symmetric KL (np.histogram(bins=20),
    counts of current on the padded edges)
Optionally (--selection) also the distinct-value counts the default method rule needs
(np.unique over reference + current, and over reference), reported separately.

Loading is timed apart from the statistics. Prints one JSON object on stdout.
"""

import argparse
import json
import os
import time

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

MAX = float(np.finfo(np.float64).max)


def kl(a, b):
    mask = a != 0
    return float(np.sum(a[mask] * np.log(a[mask] / np.where(b[mask] != 0, b[mask], 1e-4))))


def column_stats(r, c):
    wd = wasserstein_distance(r, c) / max(np.std(r), 0.001)
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
    rp = np.histogram(r, edges)[0] / len(r)
    cp = np.histogram(c, edges)[0] / len(c)
    js = jensenshannon(rp, cp)
    counts, e = np.histogram(r, bins=20)
    padded = np.concatenate([[-MAX], e, [MAX]])
    cc = np.histogram(c, padded)[0]
    q = np.concatenate([[0], counts, [0]]) / counts.sum()
    p = cc / cc.sum()
    tvd = float(np.sum(np.abs(p - q)) / 2)
    hellinger = float(np.sqrt(max(1 - np.sum(np.sqrt(p * q)), 0)))
    return {"wasserstein": float(wd), "jensenShannon": float(js), "tvd": tvd, "hellinger": hellinger,
            "kld": kl(p, q) + kl(q, p), "bins": int(len(edges) - 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rows", type=int, help="use the first N rows (default all)")
    ap.add_argument("--cols", type=int, help="use the first N columns (default all)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--selection", action="store_true")
    a = ap.parse_args()

    with open(os.path.join(a.dir, "meta.json")) as f:
        meta = json.load(f)
    t0 = time.perf_counter()
    ref = np.fromfile(os.path.join(a.dir, "reference.f64"), dtype="<f8").reshape(meta["cols"], meta["rows"])
    cur = np.fromfile(os.path.join(a.dir, "current.f64"), dtype="<f8").reshape(meta["cols"], meta["rows"])
    rows = a.rows or meta["rows"]
    cols = a.cols or meta["cols"]
    ref = np.ascontiguousarray(ref[:cols, :rows])
    cur = np.ascontiguousarray(cur[:cols, :rows])
    load_s = time.perf_counter() - t0

    best = None
    results = None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        results = [column_stats(ref[i], cur[i]) for i in range(cols)]
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)

    out = {"numpy": np.__version__, "rows": rows, "cols": cols, "load_s": load_s, "stats_s": best, "columns": results}
    if a.selection:
        t0 = time.perf_counter()
        for i in range(cols):
            np.unique(np.concatenate([ref[i], cur[i]])).size
            np.unique(ref[i]).size
        out["selection_s"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
