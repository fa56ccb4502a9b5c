"""Time threatmapper's importers against stix2.parse and feedparser.parse on
the same files in the same run, and print the ratios.

For each input three times are taken, each the best of several runs:
  - ours in process: `time_import` (the Rust parse function alone, like the
    Python calls are timed alone);
  - ours as a process: `threatmapper import KIND FILE --dry-run` (start-up,
    reading and printing included), only for the larger inputs;
  - the Python peer: the parse call alone inside this interpreter.
Feed rates include ThreatMapper's HTML-to-text and observable extraction;
feedparser's include its HTML sanitising.
"""

import argparse
import json
import os
import subprocess
import time


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatmapper", required=True)
    ap.add_argument("--time-import", required=True)
    ap.add_argument("--stix", action="append", default=[], help="a STIX bundle")
    ap.add_argument("--feed", action="append", default=[], help="a feed document")
    ap.add_argument("--process-min-bytes", type=int, default=1 << 20)
    a = ap.parse_args()

    import feedparser
    import stix2

    rows = []

    def ours_in_process(kind, path, runs):
        out = subprocess.run([a.time_import, kind, path, str(runs)], check=True,
                             capture_output=True, text=True).stdout.split()
        return float(out[0]), int(out[3])

    def ours_process(kind, path):
        if os.path.getsize(path) < a.process_min_bytes:
            return None
        return best_of(5, lambda: subprocess.run(
            [a.threatmapper, "import", kind, path, "--dry-run", "--format", "text"],
            check=True, stdout=subprocess.DEVNULL))

    for path in a.stix:
        text = open(path, encoding="utf-8").read()
        objects = len(json.loads(text).get("objects", []))
        # stix2 is slow: one run for large bundles, a few for small ones.
        py = best_of(1 if objects > 2000 else 5, lambda: stix2.parse(text, allow_custom=True))
        mine, units = ours_in_process("stix", path, 5 if objects > 2000 else 50)
        rows.append(("stix", os.path.basename(path), objects, "objects", mine, ours_process("stix", path), py, None))

    for path in a.feed:
        data = open(path, "rb").read()
        entries = len(feedparser.parse(data).entries)
        py = best_of(3 if entries > 100 else 20, lambda: feedparser.parse(data))
        mine, units = ours_in_process("feed", path, 5 if entries > 100 else 200)
        floor, _ = ours_in_process("feed-rs", path, 5 if entries > 100 else 200)
        rows.append(("feed", os.path.basename(path), entries, "entries", mine, ours_process("feed", path), py, floor))

    print(f"{'input':52} {'n':>6} {'ours/s':>10} {'peer/s':>9} {'ratio':>8} {'process':>9} {'feed-rs/s':>10}")
    for kind, name, n, unit, mine, proc, py, floor in rows:
        peer = "stix2.parse" if kind == "stix" else "feedparser"
        label = f"{kind} {name} ({unit}, vs {peer})"
        ratio = py / mine
        proc_ratio = f"{py / proc:8.1f}x" if proc else f"{'-':>9}"
        floor_rate = f"{n / floor:10.0f}" if floor else f"{'-':>10}"
        print(f"{label[:52]:52} {n:6d} {n / mine:10.0f} {n / py:9.0f} {ratio:7.1f}x {proc_ratio} {floor_rate}")
    print("ratio: peer time / ours in process; process: peer time / our whole CLI process;")
    print("feed-rs/s: the feed-rs parser alone on the same document (the floor under our feed importer)")


if __name__ == "__main__":
    main()
