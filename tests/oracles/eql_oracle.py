"""Differential test: our EQL validation against the `eql` package (PyPI,
used only as a black-box oracle), on tests/oracles/eql_queries.txt and on the
skeletons our generator emits.

    python eql_oracle.py THREATMAPPER_BINARY WORKDIR

Exit 1 when the two disagree on any query not marked `gap`.
"""

import json
import os
import subprocess
import sys

import eql


def oracle_accepts(q):
    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            eql.parse_query(q)
        return True
    except Exception:
        return False


def main():
    binary, work = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    cases = []
    for line in open(os.path.join(here, "eql_queries.txt"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        label, q = line.split("\t", 1)
        cases.append((label, q))
    # The generator's output, with and without observables.
    report = os.path.join(work, "report.json")
    with open(report, "w") as f:
        json.dump({"id": "r", "title": "t", "observables": [
            {"kind": "ipv4", "value": "203.0.113.7"}, {"kind": "domain", "value": "evil.example.net"},
            {"kind": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}, f)
    gen = subprocess.run([binary, "rules", "generate", "--lang", "eql", "--report", report],
                         check=True, capture_output=True, text=True).stdout
    cases.append(("valid", gen.replace("REPLACE_WITH_BEHAVIOR", "-enc")))
    qdir = os.path.join(work, "eql")
    os.makedirs(qdir, exist_ok=True)
    for i, (_, q) in enumerate(cases):
        with open(os.path.join(qdir, f"q{i:03}.eql"), "w", encoding="utf-8") as f:
            f.write(q + "\n")
    out = subprocess.run([binary, "rules", "validate", "--format", "json", qdir],
                         capture_output=True, text=True)
    ours = {}
    for f in json.loads(out.stdout)["files"]:
        i = int(os.path.basename(f["path"])[1:4])
        ours[i] = f["status"] != "invalid"
    agree, gaps, bad = 0, 0, []
    for i, (label, q) in enumerate(cases):
        theirs = oracle_accepts(q)
        if label == "gap":
            gaps += 1
            continue
        if ours[i] == theirs == (label == "valid"):
            agree += 1
        else:
            bad.append(f"{label}: ours={'ok' if ours[i] else 'error'} eql={'ok' if theirs else 'error'}: {q}")
    print(f"eql oracle: {agree} agree, {len(bad)} disagree, {gaps} known gaps")
    for b in bad:
        print("  " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
