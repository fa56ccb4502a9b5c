"""ThreatMapper for Python.

Observable extraction (defang-aware), canonical dedup keys, parsing of
STIX 2.1 / MISP / MITRE ATLAS / RSS-Atom-JSON Feed documents into report
drafts, Sigma/KQL/SPL/EQL rule skeletons and validation, and the ThreatMapper
store (SQLite or PostgreSQL). The work is done in Rust; long calls release
the GIL.

>>> import threatmapper
>>> [o.value for o in threatmapper.extract("C2 at 198.51.100[.]7")]
['198.51.100.7']
"""

from ._threatmapper import (
    Diagnostic,
    Observable,
    ParseError,
    ParseResult,
    ReportDraft,
    Store,
    StoreError,
    ThreatMapperError,
    ValidationError,
    __version__,
    canonical_observable,
    canonical_report_url,
    extract,
    extract_dict,
    generate_rules,
    normalized_title,
    parse_atlas,
    parse_feed,
    parse_misp,
    parse_stix,
    validate_rule,
)

__all__ = [
    "Diagnostic",
    "Observable",
    "ParseError",
    "ParseResult",
    "ReportDraft",
    "Store",
    "StoreError",
    "ThreatMapperError",
    "ValidationError",
    "__version__",
    "canonical_observable",
    "canonical_report_url",
    "extract",
    "extract_dict",
    "generate_rules",
    "normalized_title",
    "parse_atlas",
    "parse_feed",
    "parse_misp",
    "parse_stix",
    "validate_rule",
]
