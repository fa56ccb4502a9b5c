"""Time `threatmapper-rules validate` against `sigma check` on the same rules.

Run through benches/peers/rules.sh.
"""

import argparse
import json
import os
import subprocess
import sys
import time

WRAPPER = r'''
import sys
import sigma.data.mitre_attack as ma
import sigma.data.mitre_d3fend as md
ma.set_url(sys.argv[1]); ma.set_cache_dir(sys.argv[2] + "/attack")
md.set_url(sys.argv[1]); md.set_cache_dir(sys.argv[2] + "/d3fend")
from sigma.cli.main import main
sys.argv = ["sigma", "check", sys.argv[3]]
main()
'''


def best_of(n, cmd):
    best, code = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
        code = p.returncode
    return best, code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatmapper-rules", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    n_files = sum(
        1 for root, _, fs in os.walk(a.rules) for f in fs if f.endswith((".yml", ".yaml"))
    )
    bundle = os.path.join(a.out, "empty-attack.json")
    with open(bundle, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": []}, f)
    wrapper = os.path.join(a.out, "sigma_check_offline.py")
    with open(wrapper, "w") as f:
        f.write(WRAPPER)
    tm, tm_code = best_of(15, [a.threatmapper_rules, "validate", a.rules, "--format", "json"])
    sc, sc_code = best_of(5, [sys.executable, wrapper, bundle, os.path.join(a.out, "pysigma-cache"), a.rules])
    print(f"{n_files} rule files in {a.rules}")
    print(f"{'tool':36} {'seconds':>9} {'exit':>5} {'ratio':>10}")
    print(f"{'threatmapper-rules validate':36} {tm:9.4f} {tm_code:5} {1.0:9.1f}x")
    print(f"{'sigma check (pySigma)':36} {sc:9.4f} {sc_code:5} {sc / tm:9.1f}x slower")


if __name__ == "__main__":
    main()
