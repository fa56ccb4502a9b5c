"""Time threatmapper, ripgrep, iocextract and ioc-finder on the same corpus.

Run through benches/peers/extract.sh, which builds the binaries, generates the
corpus and installs the Python tools. Prints MB/s per tool and the ratios.
"""

import argparse
import os
import shutil
import subprocess
import time

IPV4 = r"\b(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\b"


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatmapper", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--peer-corpus", required=True)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()

    mb = os.path.getsize(a.corpus) / 1e6
    peer_mb = os.path.getsize(a.peer_corpus) / 1e6
    rows = []

    t = best_of(a.runs, lambda: run([a.threatmapper, "extract", a.corpus]))
    tm = mb / t
    rows.append(("threatmapper extract (all kinds)", mb, t, tm))

    rg = shutil.which("rg")
    if rg:
        t = best_of(a.runs, lambda: run([rg, "-o", IPV4, a.corpus]))
        rows.append(("ripgrep -o <one IPv4 regex>", mb, t, mb / t))

    t = best_of(3, lambda: run([a.threatmapper, "extract", a.peer_corpus]))
    rows.append(("threatmapper extract (peer slice)", peer_mb, t, peer_mb / t))

    text = open(a.peer_corpus, encoding="utf-8", errors="replace").read()
    try:
        import iocextract

        t = best_of(1, lambda: list(iocextract.extract_iocs(text, refang=True)))
        rows.append(("python iocextract.extract_iocs", peer_mb, t, peer_mb / t))
    except ImportError as e:
        print(f"iocextract not importable ({e}): skipped")
    try:
        import ioc_finder

        t = best_of(1, lambda: ioc_finder.find_iocs(text))
        rows.append(("python ioc_finder.find_iocs", peer_mb, t, peer_mb / t))
    except ImportError as e:
        print(f"ioc-finder not importable ({e}): skipped")

    print(f"{'tool':40} {'MB':>7} {'seconds':>9} {'MB/s':>9} {'threatmapper / tool':>20}")
    for name, size, secs, rate in rows:
        print(f"{name:40} {size:7.1f} {secs:9.3f} {rate:9.2f} {tm / rate:20.2f}x")


if __name__ == "__main__":
    main()
