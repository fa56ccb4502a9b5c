"""threatmapper.extract vs iocextract in one process (see python_extract.sh)."""

import sys
import time

import iocextract
import threatmapper


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def ioc_all(text):
    # Every kind iocextract offers, refanged, as a user would call it.
    return (
        list(iocextract.extract_ips(text, refang=True))
        + list(iocextract.extract_urls(text, refang=True))
        + list(iocextract.extract_emails(text, refang=True))
        + list(iocextract.extract_hashes(text))
    )


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    mb = len(text.encode()) / 1e6
    tm = best_of(5, lambda: threatmapper.extract(text))
    ioc = best_of(3, lambda: ioc_all(text))
    print(f"corpus {mb:.2f} MB")
    print(f"threatmapper.extract: {mb / tm:8.2f} MB/s  ({len(threatmapper.extract(text))} unique observables)")
    print(f"iocextract (ips, urls, emails, hashes): {mb / ioc:8.2f} MB/s  ({len(ioc_all(text))} matches)")
    print(f"ratio threatmapper / iocextract: {ioc / tm:.1f}x")


if __name__ == "__main__":
    main()
