# %% [markdown]
# # ThreatMapper in a notebook
#
# Each `# %%` block is a notebook cell (Jupyter, VS Code and jupytext read
# this format). Run it as a script too: `python examples/notebook.py`.

# %%
import os
import tempfile

import threatmapper as tm

# %% [markdown]
# ## Extract observables from a report

# %%
report_text = """APT99 used hxxps://update-check[.]example-cdn[.]com/gate.php and
198.51.100[.]7 for C2; the dropper (SHA-256
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855) exploits CVE-2024-3094."""
for o in tm.extract(report_text):
    print(f"{o.kind:7} {o.value}  at {o.spans}")

# %% [markdown]
# ## Parse a STIX bundle

# %%
bundle = {
    "type": "bundle",
    "id": "bundle--0f3a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
    "objects": [
        {"type": "report", "spec_version": "2.1", "id": "report--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
         "created": "2026-11-30T00:00:00Z", "modified": "2026-11-30T00:00:00Z", "name": "APT99 router campaign",
         "published": "2026-11-30T00:00:00Z", "description": "Beacons to 198.51.100.7.",
         "object_refs": ["indicator--2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"]},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
         "created": "2026-11-30T00:00:00Z", "modified": "2026-11-30T00:00:00Z", "pattern_type": "stix",
         "valid_from": "2026-11-30T00:00:00Z", "pattern": "[ipv4-addr:value = '198.51.100.7']"},
    ],
}
parsed = tm.parse_stix(bundle)
draft = parsed.drafts[0]
print(draft, [o.value for o in draft.observables])

# %% [markdown]
# ## Generate and validate a Sigma rule

# %%
rules = tm.generate_rules(draft, lang="sigma", author="notebook")
sigma = rules["sigma"]
print(sigma)
for d in tm.validate_rule("sigma", sigma):
    print(d)  # a warning until REPLACE_WITH_BEHAVIOR is replaced

# %% [markdown]
# ## The intake queue as a DataFrame

# %%
db = os.environ.get("THREATMAPPER_EXAMPLE_DB") or f"sqlite://{tempfile.mkdtemp()}/notebook.db"
store = tm.Store(db)
print(store.ingest(parsed, actor="notebook"))
rows = store.intake(status="pending")
try:
    import pandas as pd

    frame = pd.DataFrame(rows)
    print(frame[["id", "title", "origin", "status", "observable_count"]])
except ImportError:  # pandas is optional for the example
    print(rows)
print(f"intake rows: {len(rows)}")
