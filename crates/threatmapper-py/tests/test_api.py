"""The Python API, end to end (built by maturin, run by scripts/test)."""

import datetime
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

import threatmapper as tm

BUNDLE = {
    "type": "bundle",
    "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    "objects": [
        {
            "type": "report", "spec_version": "2.1",
            "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "created": "2024-01-02T00:00:00Z", "modified": "2024-01-02T00:00:00Z",
            "name": "Loader campaign", "published": "2024-01-02T00:00:00Z",
            "description": "The loader beacons to 198.51.100.7.",
            "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],
        },
        {
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
            "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'evil-domain.com']",
        },
    ],
}


def test_extract_objects_spans_and_filters():
    text = "C2 hxxp://evil[.]com/gate.php and 8.8.8[.]8, again 8.8.8.8; CVE-2024-3094"
    found = tm.extract(text)
    by_kind = {(o.kind, o.value) for o in found}
    assert ("ipv4", "8.8.8.8") in by_kind
    assert ("cve", "CVE-2024-3094") in by_kind
    ip = next(o for o in found if o.kind == "ipv4")
    assert len(ip.spans) == 2
    start, end = ip.spans[1]
    assert text.encode()[start:end] == b"8.8.8.8"
    assert ip.to_dict() == {"kind": "ipv4", "value": "8.8.8.8", "spans": ip.spans}
    assert [o.kind for o in tm.extract(text, kinds=["cve"])] == ["cve"]
    assert all(o.value != "8.8.8.8" for o in tm.extract(text, warninglist=["8.8.8.0/24"]))
    assert tm.extract(b"bytes 203.0.113.5")[0].value == "203.0.113.5"
    assert "Observable(kind=" in repr(ip)


def test_extract_dict_has_the_cli_shape():
    d = tm.extract_dict("see 198.51.100.23 and evil.example.org")
    assert list(d) == ["cve", "ipv4", "domain", "md5", "sha256", "url", "email", "sha1", "ipv6"]
    assert d["ipv4"] == ["198.51.100.23"] and d["domain"] == ["evil.example.org"]


def test_canonicalization_helpers():
    assert tm.canonical_report_url("HTTPS://Example.com:443/a?utm_source=x&b=1#f") == "https://example.com/a?b=1"
    assert tm.normalized_title("  APT99:  New   Campaign! ") == tm.normalized_title("apt99 new campaign")
    assert tm.canonical_observable("domain", "Evil[.]Example[.]COM") == "evil.example.com"
    assert tm.canonical_observable("cve", "cve-2024-3094") == "CVE-2024-3094"


def test_bad_values_raise_typed_errors():
    with pytest.raises(tm.ValidationError):
        tm.canonical_observable("ipv4", "999.1.1.1")
    with pytest.raises(tm.ValidationError):
        tm.canonical_observable("hash", "x")
    with pytest.raises(tm.ValidationError):
        tm.canonical_report_url("not a url")
    with pytest.raises(TypeError):
        tm.extract(42)
    with pytest.raises(tm.ThreatMapperError):
        tm.extract("x", kinds=["nope"])
    assert issubclass(tm.ParseError, tm.ThreatMapperError)


def test_parse_stix_from_dict_str_and_bytes():
    for data in (BUNDLE, json.dumps(BUNDLE), json.dumps(BUNDLE).encode()):
        r = tm.parse_stix(data)
        assert len(r) == 1
        d = r.drafts[0]
        assert d.origin == "stix" and d.title == "Loader campaign"
        values = {(o.kind, o.value) for o in d.observables}
        assert ("ipv4", "198.51.100.7") in values and ("domain", "evil-domain.com") in values
        dd = d.to_dict()
        assert dd["title"] == "Loader campaign" and dd["observables"][0]["source"]
        assert r.to_dict()["drafts"][0]["origin"] == "stix"


def test_parse_errors_are_located():
    with pytest.raises(tm.ParseError) as e:
        tm.parse_stix('{"type": "bundle", "objects": [')
    assert e.value.line == 1 and e.value.column is not None and e.value.path is None
    with pytest.raises(tm.ParseError) as e:
        tm.parse_stix({"hello": 1})
    assert e.value.path == "$.objects" and e.value.line is None
    with pytest.raises(tm.ParseError):
        tm.parse_feed("<!doctype html><html></html>")
    with pytest.raises(TypeError):
        tm.parse_stix(3.5)


def test_parse_misp_atlas_and_feed():
    misp = {"Event": {"info": "Phishing wave", "Attribute": [
        {"type": "ip-dst", "value": "203.0.113.5", "to_ids": True, "category": "Network activity"},
        {"type": "mutex", "value": "m"}]}}
    r = tm.parse_misp(misp)
    assert len(r) == 1 and r.unsupported == 1
    assert r.drafts[0].to_dict()["observables"][0]["to_ids"] is True
    atlas = ("id: ATLAS\nname: ATLAS\nversion: 4.0.0\nmatrices:\n- id: ATLAS\n  name: M\n  tactics: []\n  techniques: []\n"
             "case-studies:\n- id: AML.CS0000\n  name: Evasion case\n  summary: Mentions 198.51.100.77.\n  incident-date: 2020-01-01\n  procedure: []\n")
    r = tm.parse_atlas(atlas)
    assert r.drafts[0].origin == "atlas"
    feed = ("<rss version='2.0'><channel><title>c</title><item><title>Loader</title>"
            "<link>https://x.example.org/a?utm_source=rss</link><description>C2 198.51.100[.]7</description></item></channel></rss>")
    r = tm.parse_feed(feed, url="https://x.example.org/feed")
    d = r.drafts[0]
    assert d.url == "https://x.example.org/a" and d.observables[0].value == "198.51.100.7"


def test_generate_and_validate_rules():
    draft = tm.parse_stix(BUNDLE).drafts[0]
    rules = tm.generate_rules(draft, lang="all", author="alice", now=datetime.date(2026, 12, 4),
                              rule_id="8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    assert set(rules) == {"sigma", "kql", "spl", "eql"}
    sigma = rules["sigma"]
    assert "REPLACE_WITH_BEHAVIOR" in sigma and "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" in sigma
    assert "2026-12-04" in sigma.replace("/", "-")
    diags = tm.validate_rule("sigma", sigma)
    assert diags and all(d.severity == "warning" for d in diags)
    assert diags[0].to_dict()["code"].startswith("SIGMA")
    broken = tm.validate_rule("sigma", "title: x\n")
    assert any(d.severity == "error" and d.line >= 1 for d in broken)
    kql = tm.generate_rules({"title": "Manual", "description": "x"}, [("ipv4", "192.0.2.1")], lang="kql")["kql"]
    assert "192.0.2.1" in kql
    with pytest.raises(tm.ValidationError):
        tm.validate_rule("yara", "")
    with pytest.raises(tm.ValidationError):
        tm.generate_rules({"description": "no title"})
    with pytest.raises(tm.ValidationError):
        tm.generate_rules(draft, rule_id="not-a-uuid")


def test_store_round_trip(tmp_path):
    db = f"sqlite://{tmp_path / 'tm.db'}"
    store = tm.Store(db)
    parsed = tm.parse_stix(BUNDLE)
    out = store.ingest(parsed, actor="notebook")
    assert out["reports"] == 1 and out["observables_new"] == 2
    again = store.ingest(parsed.drafts)
    assert again["reports"] == 0 and again["suppressed"] == 1
    items = store.intake(status="pending")
    assert len(items) == 1 and items[0]["status"] == "pending" and items[0]["origin"] == "stix"
    page = store.intake_page(limit=1)
    assert page["total"] == 1 and page["next_cursor"] is None
    report = store.report(items[0]["id"])
    ip = next(o for o in report["observables"] if o["kind"] == "ipv4")
    start, end = ip["spans"][0]
    assert report["content"][start:end] == "198.51.100.7"
    assert store.report(999_999) is None
    obs = store.observables(kind="ipv4")
    assert [o["value"] for o in obs] == ["198.51.100.7"]
    assert store.verify_audit_chain()["ok"] is True
    with pytest.raises(tm.ValidationError):
        store.intake(status="done")
    with pytest.raises(ValueError):
        store.intake(limit=0)
    with pytest.raises(TypeError):
        store.ingest([1, 2])
    store.close()
    # A second Store on the same file sees the data.
    assert len(tm.Store(db).intake()) == 1


def test_store_errors_are_typed(tmp_path):
    with pytest.raises(tm.StoreError) as e:
        tm.Store("postgres://postgres@127.0.0.1:1/none")
    assert e.value.retryable is True
    with pytest.raises(tm.StoreError):
        tm.Store("mysql://x")


def test_threads_share_objects(tmp_path):
    store = tm.Store(f"sqlite://{tmp_path / 't.db'}")
    errors = []

    def work(i):
        try:
            doc = json.loads(json.dumps(BUNDLE))
            doc["objects"][0]["name"] = f"Report {i}"
            store.ingest(tm.parse_stix(doc))
            tm.extract("x 198.51.100.7 " * 1000)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.intake_page()["total"] == 8


def test_the_notebook_example_runs(tmp_path):
    example = pathlib.Path(__file__).resolve().parents[1] / "examples" / "notebook.py"
    env = dict(os.environ, THREATMAPPER_EXAMPLE_DB=f"sqlite://{tmp_path / 'nb.db'}")
    out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "intake rows: 1" in out.stdout
