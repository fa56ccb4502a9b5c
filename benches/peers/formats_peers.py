"""Time threatmapper's importers against stix2.parse and feedparser.parse."""

import argparse
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
    ap.add_argument("--dir", required=True)
    ap.add_argument("--objects", type=int, required=True)
    ap.add_argument("--entries", type=int, required=True)
    a = ap.parse_args()
    bundle = os.path.join(a.dir, "bundle.json")
    feed = os.path.join(a.dir, "feed.xml")

    def ours(kind, path):
        subprocess.run([a.threatmapper, "import", kind, path, "--dry-run", "--format", "text"],
                       check=True, stdout=subprocess.DEVNULL)

    tm_stix = best_of(5, lambda: ours("stix", bundle))
    tm_feed = best_of(5, lambda: ours("feed", feed))

    import feedparser
    import stix2
    text = open(bundle, encoding="utf-8").read()
    py_stix = best_of(1, lambda: stix2.parse(text, allow_custom=True))
    data = open(feed, "rb").read()
    py_feed = best_of(3, lambda: feedparser.parse(data))

    print(f"{'task':44} {'seconds':>9} {'per second':>12} {'ratio':>9}")
    print(f"{'threatmapper import stix (objects)':44} {tm_stix:9.3f} {a.objects / tm_stix:12.0f} {py_stix / tm_stix:8.1f}x")
    print(f"{'python stix2.parse (objects)':44} {py_stix:9.3f} {a.objects / py_stix:12.0f} {1.0:8.1f}x")
    print(f"{'threatmapper import feed (entries, +IOCs)':44} {tm_feed:9.3f} {a.entries / tm_feed:12.0f} {py_feed / tm_feed:8.1f}x")
    print(f"{'python feedparser.parse (entries)':44} {py_feed:9.3f} {a.entries / py_feed:12.0f} {1.0:8.1f}x")


if __name__ == "__main__":
    main()
