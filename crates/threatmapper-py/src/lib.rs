//! # threatmapper-py
//!
//! The Python module `threatmapper` (pyo3, built with maturin as an abi3
//! wheel for CPython ≥ 3.9). It wraps the core (extraction, canonical keys,
//! feed/STIX/MISP/ATLAS parsing), the rules crate (generation, validation)
//! and the store; it holds no logic of its own. Long calls release the GIL;
//! every exported class is immutable or internally synchronised, so objects
//! may be shared between threads (the module declares free-threading
//! support).
//!
//! The Rust side is an rlib too, so the conversions are unit-tested with
//! `cargo test`; the Python API is tested with pytest
//! (`crates/threatmapper-py/tests/`, run by `scripts/test`).
//!
//! ```
//! // The pure helpers behind the module work without an interpreter.
//! let (line, column) = threatmapper_py::line_column("line 3 column 7");
//! assert_eq!((line, column), (Some(3), Some(7)));
//! ```

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use threatmapper_core::{ObservableKind, ReportDraft as CoreDraft};

create_exception!(
    threatmapper,
    ThreatMapperError,
    PyException,
    "Base class of every ThreatMapper error."
);
create_exception!(
    threatmapper,
    ParseError,
    ThreatMapperError,
    "A document that cannot be read; `path`, `line` and `column` say where (None when unknown)."
);
create_exception!(
    threatmapper,
    ValidationError,
    ThreatMapperError,
    "A value that is not valid (an observable, a URL, a rule language, ...)."
);
create_exception!(
    threatmapper,
    StoreError,
    ThreatMapperError,
    "A database failure; `retryable` says whether trying again later may help."
);

/// `line N column M` in a location, when present.
pub fn line_column(location: &str) -> (Option<usize>, Option<usize>) {
    let num_after = |key: &str| {
        location.find(key).and_then(|i| {
            let rest = &location[i + key.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    };
    (num_after("line "), num_after("column "))
}

fn core_err(py: Python<'_>, e: threatmapper_core::Error) -> PyErr {
    match e {
        threatmapper_core::Error::Format {
            format,
            location,
            reason,
        } => {
            let err = ParseError::new_err(format!("{format} {location}: {reason}"));
            let (line, column) = line_column(&location);
            let v = err.value(py);
            let path = if location.starts_with("line ") || location.starts_with("byte ") {
                None
            } else {
                Some(location.clone())
            };
            let _ = v.setattr("path", path);
            let _ = v.setattr("line", line);
            let _ = v.setattr("column", column);
            let _ = v.setattr("format", format);
            err
        }
        other => ValidationError::new_err(other.to_string()),
    }
}

fn store_err(py: Python<'_>, e: threatmapper_store::Error) -> PyErr {
    if let threatmapper_store::Error::Invalid { field, message } = &e {
        let err = ValidationError::new_err(format!("{field}: {message}"));
        let _ = err.value(py).setattr("field", field.clone());
        return err;
    }
    let err = StoreError::new_err(e.to_string());
    let _ = err.value(py).setattr("retryable", e.is_retryable());
    err
}

/// A JSON value as Python objects (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        serde_json::Value::Null => py.None().into_bound(py),
        serde_json::Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (_, _, Some(f)) => f.into_pyobject(py)?.into_any(),
            _ => py.None().into_bound(py),
        },
        serde_json::Value::String(s) => PyString::new(py, s).into_any(),
        serde_json::Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        serde_json::Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn ser_to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let j = serde_json::to_value(v).map_err(|e| ThreatMapperError::new_err(e.to_string()))?;
    json_to_py(py, &j)
}

fn parse_kind(kind: &str) -> PyResult<ObservableKind> {
    kind.parse::<ObservableKind>()
        .map_err(|e| ValidationError::new_err(e.to_string()))
}

/// An observable found in text: `kind` (`"cve"`, `"ipv4"`, ...), canonical
/// `value`, and `spans`, the `(start, end)` byte offsets of each occurrence.
#[pyclass(frozen, get_all, module = "threatmapper")]
#[derive(Debug, Clone)]
pub struct Observable {
    /// Kind name.
    pub kind: String,
    /// Canonical value.
    pub value: String,
    /// Byte spans.
    pub spans: Vec<(usize, usize)>,
}

#[pymethods]
impl Observable {
    fn __repr__(&self) -> String {
        format!(
            "Observable(kind={:?}, value={:?}, spans={:?})",
            self.kind, self.value, self.spans
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.kind == other.kind && self.value == other.value && self.spans == other.spans
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.kind, &self.value).hash(&mut h);
        h.finish()
    }

    /// `{"kind", "value", "spans"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("kind", &self.kind)?;
        d.set_item("value", &self.value)?;
        d.set_item("spans", self.spans.clone())?;
        Ok(d)
    }
}

/// Text or bytes to bytes (str is UTF-8 encoded); dict/list JSON documents
/// are serialised with Python's `json` module.
fn document_bytes(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    json_allowed: bool,
) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if json_allowed && (data.is_instance_of::<PyDict>() || data.is_instance_of::<PyList>()) {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (data,))?
            .extract()?;
        return Ok(text.into_bytes());
    }
    Err(PyTypeError::new_err(if json_allowed {
        "expected str, bytes or a dict/list JSON document"
    } else {
        "expected str or bytes"
    }))
}

fn text_of(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    document_bytes(py, data, false)
}

/// Extract observables (defanged forms included) from text.
///
/// `kinds` limits the kinds (e.g. `["ipv4", "domain"]`); `warninglist` is a
/// list of known-benign entries (exact values, `*.suffix` domains, CIDRs).
#[pyfunction]
#[pyo3(signature = (text, kinds=None, warninglist=None))]
fn extract(
    py: Python<'_>,
    text: &Bound<'_, PyAny>,
    kinds: Option<Vec<String>>,
    warninglist: Option<Vec<String>>,
) -> PyResult<Vec<Observable>> {
    let bytes = text_of(py, text)?;
    let mut ex = threatmapper_core::Extractor::new().all_spans(true);
    if let Some(k) = kinds {
        let k = k
            .iter()
            .map(|s| parse_kind(s))
            .collect::<PyResult<Vec<_>>>()?;
        ex = ex.kinds(&k);
    }
    if let Some(wl) = warninglist {
        let parsed =
            threatmapper_core::Warninglist::parse(&wl.join("\n")).map_err(|e| core_err(py, e))?;
        ex = ex.warninglist(parsed);
    }
    let found = py.detach(move || ex.extract(&bytes));
    Ok(found
        .observables
        .into_iter()
        .map(|o| Observable {
            kind: o.kind.as_str().to_owned(),
            value: o.value,
            spans: o.spans.iter().map(|s| (s.start, s.end)).collect(),
        })
        .collect())
}

/// Extract observables into the `threatmapper extract` JSON shape: a dict
/// with every kind as a key and a list of unique canonical values.
#[pyfunction]
fn extract_dict<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let bytes = text_of(py, text)?;
    let found = py.detach(move || threatmapper_core::extract_bytes(&bytes));
    let d = PyDict::new(py);
    for k in ObservableKind::ALL {
        let values: Vec<&str> = found
            .iter()
            .filter(|o| o.kind == k)
            .map(|o| o.value.as_str())
            .collect();
        d.set_item(k.as_str(), values)?;
    }
    Ok(d)
}

/// The canonical report-URL key (dedup).
#[pyfunction]
fn canonical_report_url(py: Python<'_>, url: &str) -> PyResult<String> {
    threatmapper_core::canonical_report_url(url).map_err(|e| core_err(py, e))
}

/// The normalized title key (dedup).
#[pyfunction]
fn normalized_title(title: &str) -> String {
    threatmapper_core::normalized_title(title)
}

/// The canonical form of an observable value (refanged, lowercased, ...);
/// raises `ValidationError` when it is not a valid value of the kind.
#[pyfunction]
fn canonical_observable(py: Python<'_>, kind: &str, value: &str) -> PyResult<String> {
    threatmapper_core::canonical_observable(parse_kind(kind)?, value).map_err(|e| core_err(py, e))
}

/// A report parsed from a document, not yet stored.
#[pyclass(frozen, module = "threatmapper")]
#[derive(Debug, Clone)]
pub struct ReportDraft {
    inner: CoreDraft,
}

#[pymethods]
impl ReportDraft {
    /// Title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }
    /// URL (canonical form), if any.
    #[getter]
    fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }
    /// Publication time (RFC 3339), if known.
    #[getter]
    fn published(&self) -> Option<&str> {
        self.inner.published.as_deref()
    }
    /// Author or producer.
    #[getter]
    fn author(&self) -> Option<&str> {
        self.inner.author.as_deref()
    }
    /// Plain-text summary/content.
    #[getter]
    fn summary(&self) -> &str {
        &self.inner.summary
    }
    /// `feed`, `stix`, `misp`, `atlas` or `manual`.
    #[getter]
    fn origin(&self) -> &'static str {
        self.inner.origin.as_str()
    }
    /// External ids.
    #[getter]
    fn external_ids(&self) -> Vec<String> {
        self.inner.external_ids.clone()
    }
    /// Labels.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.inner.labels.clone()
    }
    /// TLP marking.
    #[getter]
    fn tlp(&self) -> Option<&str> {
        self.inner.tlp.as_deref()
    }
    /// Observables as `Observable` objects (spans are not tracked for drafts).
    #[getter]
    fn observables(&self) -> Vec<Observable> {
        self.inner
            .observables
            .iter()
            .map(|o| Observable {
                kind: o.kind.as_str().to_owned(),
                value: o.value.clone(),
                spans: Vec::new(),
            })
            .collect()
    }
    /// Everything as a dict (observables with `source`, `to_ids`, `category`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ser_to_py(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "ReportDraft(origin={:?}, title={:?}, observables={})",
            self.inner.origin.as_str(),
            self.inner.title,
            self.inner.observables.len()
        )
    }
}

/// The result of parsing a document: drafts plus what was refused.
#[pyclass(frozen, module = "threatmapper")]
#[derive(Debug, Clone)]
pub struct ParseResult {
    drafts: Vec<ReportDraft>,
    unsupported: usize,
    rejected: Vec<(String, String)>,
    warnings: Vec<String>,
}

#[pymethods]
impl ParseResult {
    /// The report drafts.
    #[getter]
    fn drafts(&self) -> Vec<ReportDraft> {
        self.drafts.clone()
    }
    /// Objects of kinds ThreatMapper does not import.
    #[getter]
    fn unsupported(&self) -> usize {
        self.unsupported
    }
    /// Refused objects as `{"location", "reason"}` dicts.
    #[getter]
    fn rejected<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.rejected
            .iter()
            .map(|(l, r)| {
                let d = PyDict::new(py);
                d.set_item("location", l)?;
                d.set_item("reason", r)?;
                Ok(d)
            })
            .collect()
    }
    /// Parser warnings.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    fn __len__(&self) -> usize {
        self.drafts.len()
    }
    /// `{"drafts": [...], "unsupported", "rejected", "warnings"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let drafts = self
            .drafts
            .iter()
            .map(|x| x.to_dict(py))
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("drafts", drafts)?;
        d.set_item("unsupported", self.unsupported)?;
        d.set_item("rejected", self.rejected(py)?)?;
        d.set_item("warnings", self.warnings.clone())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "ParseResult(drafts={}, unsupported={}, rejected={}, warnings={})",
            self.drafts.len(),
            self.unsupported,
            self.rejected.len(),
            self.warnings.len()
        )
    }
}

fn wrap(r: threatmapper_core::ImportResult) -> ParseResult {
    ParseResult {
        drafts: r
            .drafts
            .into_iter()
            .map(|inner| ReportDraft { inner })
            .collect(),
        unsupported: r.unsupported,
        rejected: r
            .rejected
            .into_iter()
            .map(|x| (x.location, x.reason))
            .collect(),
        warnings: r.warnings,
    }
}

/// Read a document argument and run a core parser on it without the GIL.
fn parse_doc(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    parse: impl FnOnce(&[u8]) -> threatmapper_core::Result<threatmapper_core::ImportResult> + Send,
) -> PyResult<ParseResult> {
    let bytes = document_bytes(py, data, true)?;
    py.detach(move || parse(&bytes))
        .map(wrap)
        .map_err(|e| core_err(py, e))
}

/// Parse a STIX 2.1 bundle or TAXII envelope (`str`, `bytes` or a `dict`).
#[pyfunction]
fn parse_stix(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ParseResult> {
    parse_doc(py, data, threatmapper_core::stix::parse)
}

/// Parse a MISP event (`str`, `bytes` or a `dict`).
#[pyfunction]
fn parse_misp(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ParseResult> {
    parse_doc(py, data, threatmapper_core::misp::parse)
}

/// Parse MITRE ATLAS data (ATLAS.yaml text, its JSON form or a `dict`).
#[pyfunction]
fn parse_atlas(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ParseResult> {
    parse_doc(py, data, |b| {
        threatmapper_core::atlas::parse(b).map(|a| a.result)
    })
}

/// Parse an RSS, Atom or JSON Feed document (`str` or `bytes`; a `dict`
/// for JSON Feed); `url` is the feed's own URL, used for entry identity.
#[pyfunction]
#[pyo3(signature = (data, url=None))]
fn parse_feed(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    url: Option<String>,
) -> PyResult<ParseResult> {
    parse_doc(py, data, move |b| {
        threatmapper_core::feed::parse(b, url.as_deref())
    })
}

/// A validation finding.
#[pyclass(frozen, get_all, module = "threatmapper")]
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// `"error"` or `"warning"`.
    pub severity: String,
    /// Stable code (`SIGMA001`, `KQL002`, ...).
    pub code: String,
    /// Message.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

#[pymethods]
impl Diagnostic {
    fn __repr__(&self) -> String {
        format!(
            "Diagnostic({} {} at {}:{}: {})",
            self.severity, self.code, self.line, self.column, self.message
        )
    }
    /// As a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("severity", &self.severity)?;
        d.set_item("code", &self.code)?;
        d.set_item("message", &self.message)?;
        d.set_item("line", self.line)?;
        d.set_item("column", self.column)?;
        Ok(d)
    }
}

fn language(lang: &str) -> PyResult<threatmapper_rules::Language> {
    threatmapper_rules::Language::parse(lang)
        .ok_or_else(|| ValidationError::new_err(format!("`{lang}` is not sigma, kql, spl or eql")))
}

/// Validate rule text; `[]` means ready, warnings mean an analyst must
/// still fill in `REPLACE_WITH_BEHAVIOR`, errors mean broken structure.
#[pyfunction]
fn validate_rule(py: Python<'_>, lang: &str, text: &str) -> PyResult<Vec<Diagnostic>> {
    let l = language(lang)?;
    let text = text.to_owned();
    let diags = py.detach(move || threatmapper_rules::validate(l, &text));
    Ok(diags
        .into_iter()
        .map(|d| Diagnostic {
            severity: d.severity.as_str().to_owned(),
            code: d.code.to_owned(),
            message: d.message,
            line: d.line,
            column: d.column,
        })
        .collect())
}

/// What a rule is generated from.
struct RuleInput {
    id: String,
    title: String,
    description: String,
    references: Vec<String>,
    labels: Vec<String>,
    observables: Vec<(ObservableKind, String)>,
}

fn rule_input(
    report: &Bound<'_, PyAny>,
    observables: Option<&Bound<'_, PyAny>>,
) -> PyResult<RuleInput> {
    let mut input = if let Ok(d) = report.cast::<ReportDraft>() {
        let d = &d.get().inner;
        RuleInput {
            id: d.external_ids.first().cloned().unwrap_or_default(),
            title: d.title.clone(),
            description: d.summary.clone(),
            references: d.url.iter().cloned().collect(),
            labels: d.labels.clone(),
            observables: d
                .observables
                .iter()
                .map(|o| (o.kind, o.value.clone()))
                .collect(),
        }
    } else if let Ok(d) = report.cast::<PyDict>() {
        let get = |k: &str| -> PyResult<Option<String>> {
            match d.get_item(k)? {
                Some(v) if !v.is_none() => Ok(Some(v.str()?.to_cow()?.into_owned())),
                _ => Ok(None),
            }
        };
        let labels: Vec<String> = match d.get_item("labels")? {
            Some(v) if !v.is_none() => v.extract()?,
            _ => Vec::new(),
        };
        RuleInput {
            id: get("id")?.unwrap_or_default(),
            title: get("title")?
                .ok_or_else(|| ValidationError::new_err("report: `title` is required"))?,
            description: get("description")?
                .or(get("summary")?)
                .or(get("content")?)
                .unwrap_or_default(),
            references: get("url")?.into_iter().collect(),
            labels,
            observables: Vec::new(),
        }
    } else {
        return Err(PyTypeError::new_err(
            "report must be a ReportDraft or a dict with at least `title`",
        ));
    };
    if let Some(obs) = observables.filter(|o| !o.is_none()) {
        let mut out = Vec::new();
        for item in obs.try_iter()? {
            let item = item?;
            let (kind, value): (String, String) = if let Ok(o) = item.cast::<Observable>() {
                (o.get().kind.clone(), o.get().value.clone())
            } else if let Ok(d) = item.cast::<PyDict>() {
                let k = d
                    .get_item("kind")?
                    .ok_or_else(|| ValidationError::new_err("observable dict needs `kind`"))?;
                let v = d
                    .get_item("value")?
                    .ok_or_else(|| ValidationError::new_err("observable dict needs `value`"))?;
                (k.extract()?, v.extract()?)
            } else {
                item.extract().map_err(|_| {
                    PyTypeError::new_err(
                        "observables must be Observable objects, (kind, value) tuples or dicts",
                    )
                })?
            };
            out.push((parse_kind(&kind)?, value));
        }
        input.observables = out;
    }
    Ok(input)
}

fn date_of(now: Option<&Bound<'_, PyAny>>) -> PyResult<chrono::NaiveDate> {
    let Some(now) = now.filter(|n| !n.is_none()) else {
        return Ok(chrono::Utc::now().date_naive());
    };
    // datetime.date / datetime.datetime expose isoformat(); strings are ISO already.
    let text: String = if now.is_instance_of::<PyString>() {
        now.extract()?
    } else {
        now.call_method0("isoformat")?.extract()?
    };
    let day = text.get(..10).unwrap_or(&text);
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| ValidationError::new_err(format!("now: `{text}` is not a date")))
}

/// Generate analyst-review rule skeletons for a report.
///
/// `report` is a `ReportDraft` (its observables are used unless
/// `observables` is given) or a dict with `title` and optionally
/// `description`, `url`, `labels`, `id`. `lang` is `sigma`, `kql`, `spl`,
/// `eql` or `all`. Returns `{language: rule_text}`; every skeleton contains
/// `REPLACE_WITH_BEHAVIOR` where analyst judgement is needed.
#[pyfunction]
#[pyo3(signature = (report, observables=None, lang="all", author="threatmapper", now=None, rule_id=None))]
fn generate_rules<'py>(
    py: Python<'py>,
    report: &Bound<'py, PyAny>,
    observables: Option<&Bound<'py, PyAny>>,
    lang: &str,
    author: &str,
    now: Option<&Bound<'py, PyAny>>,
    rule_id: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let input = rule_input(report, observables)?;
    let langs = if lang == "all" {
        threatmapper_rules::Language::ALL.to_vec()
    } else {
        vec![language(lang)?]
    };
    let date = date_of(now)?;
    let id = match rule_id {
        Some(s) => uuid::Uuid::parse_str(s)
            .map_err(|e| ValidationError::new_err(format!("rule_id: {e}")))?,
        None => uuid::Uuid::new_v4(),
    };
    let out = PyDict::new(py);
    for l in langs {
        let ctx = threatmapper_rules::generate::RuleContext {
            report_id: &input.id,
            title: &input.title,
            description: &input.description,
            references: &input.references,
            labels: &input.labels,
            observables: &input.observables,
            author,
            date,
            rule_id: id,
        };
        out.set_item(l.as_str(), threatmapper_rules::generate::generate(l, &ctx))?;
    }
    Ok(out)
}

/// The ThreatMapper database (SQLite path/URL or `postgres://...`), created
/// and migrated on first use. Calls release the GIL; a `Store` may be used
/// from several threads.
#[pyclass(frozen, module = "threatmapper")]
pub struct Store {
    rt: tokio::runtime::Runtime,
    store: threatmapper_store::Store,
}

fn drafts_of(drafts: &Bound<'_, PyAny>) -> PyResult<Vec<CoreDraft>> {
    if let Ok(r) = drafts.cast::<ParseResult>() {
        return Ok(r.get().drafts.iter().map(|d| d.inner.clone()).collect());
    }
    if let Ok(d) = drafts.cast::<ReportDraft>() {
        return Ok(vec![d.get().inner.clone()]);
    }
    let mut out = Vec::new();
    for item in drafts.try_iter()? {
        let item = item?;
        let d = item.cast::<ReportDraft>().map_err(|_| {
            PyTypeError::new_err(
                "drafts must be ReportDraft objects (from parse_*) or a ParseResult",
            )
        })?;
        out.push(d.get().inner.clone());
    }
    Ok(out)
}

#[pymethods]
impl Store {
    #[new]
    fn new(py: Python<'_>, url: &str) -> PyResult<Store> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| StoreError::new_err(format!("cannot start the runtime: {e}")))?;
        let url = url.to_owned();
        let store = py
            .detach(|| rt.block_on(threatmapper_store::Store::open(&url)))
            .map_err(|e| store_err(py, e))?;
        Ok(Store { rt, store })
    }

    /// Store drafts (a list from `parse_*`, or the `ParseResult`) as pending
    /// intake in one transaction; returns the counts
    /// `{"reports", "suppressed", "observables_new", "observables_existing", "report_ids", ...}`.
    #[pyo3(signature = (drafts, actor="python", action="import.python"))]
    fn ingest<'py>(
        &self,
        py: Python<'py>,
        drafts: &Bound<'py, PyAny>,
        actor: &str,
        action: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let drafts = drafts_of(drafts)?;
        let ctx = threatmapper_store::IngestContext::new(
            threatmapper_store::Actor::new(actor, &["analyst"]),
            action,
        );
        let out = py
            .detach(|| self.rt.block_on(self.store.ingest(&drafts, &ctx)))
            .map_err(|e| store_err(py, e))?;
        ser_to_py(py, &out)
    }

    /// One page of the intake queue as a list of dicts (newest first).
    #[pyo3(signature = (status=None, origin=None, limit=50, cursor=None, q=None))]
    fn intake<'py>(
        &self,
        py: Python<'py>,
        status: Option<&str>,
        origin: Option<&str>,
        limit: u32,
        cursor: Option<String>,
        q: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let page = self.intake_page(py, status, origin, limit, cursor, q)?;
        page.get_item("items")
    }

    /// A page with paging data: `{"items", "next_cursor", "total"}`.
    #[pyo3(signature = (status=None, origin=None, limit=50, cursor=None, q=None))]
    fn intake_page<'py>(
        &self,
        py: Python<'py>,
        status: Option<&str>,
        origin: Option<&str>,
        limit: u32,
        cursor: Option<String>,
        q: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let status = status
            .map(|s| {
                threatmapper_store::IntakeStatus::parse(s).ok_or_else(|| {
                    ValidationError::new_err(format!(
                        "status: `{s}` is not pending, accepted or rejected"
                    ))
                })
            })
            .transpose()?;
        let origin = origin
            .map(|o| {
                threatmapper_core::Origin::parse(o).ok_or_else(|| {
                    ValidationError::new_err(format!(
                        "origin: `{o}` is not feed, stix, misp, atlas or manual"
                    ))
                })
            })
            .transpose()?;
        if !(1..=500).contains(&limit) {
            return Err(PyValueError::new_err("limit must be between 1 and 500"));
        }
        let query = threatmapper_store::IntakeQuery {
            status,
            origin,
            limit: Some(limit),
            cursor,
            text: q,
            ..Default::default()
        };
        let page = py
            .detach(|| self.rt.block_on(self.store.intake(&query)))
            .map_err(|e| store_err(py, e))?;
        ser_to_py(py, &page)
    }

    /// A report with content, observables (with spans), enrichments and
    /// rules, or None.
    fn report<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyAny>> {
        let r = py
            .detach(|| self.rt.block_on(self.store.report(id)))
            .map_err(|e| store_err(py, e))?;
        match r {
            Some(r) => ser_to_py(py, &r),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Observables as a list of dicts (newest first); `q` is a value prefix.
    #[pyo3(signature = (kind=None, q=None, limit=50))]
    fn observables<'py>(
        &self,
        py: Python<'py>,
        kind: Option<&str>,
        q: Option<String>,
        limit: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = kind.map(parse_kind).transpose()?;
        if !(1..=500).contains(&limit) {
            return Err(PyValueError::new_err("limit must be between 1 and 500"));
        }
        let query = threatmapper_store::ObservableQuery {
            kind,
            value_prefix: q,
            limit: Some(limit),
            ..Default::default()
        };
        let page = py
            .detach(|| self.rt.block_on(self.store.observables(&query)))
            .map_err(|e| store_err(py, e))?;
        ser_to_py(py, &page.items)
    }

    /// Check the audit hash chain: `{"ok", "checked", "first_bad_seq", "problem"}`.
    fn verify_audit_chain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = py
            .detach(|| self.rt.block_on(self.store.verify_audit_chain()))
            .map_err(|e| store_err(py, e))?;
        ser_to_py(py, &v)
    }

    /// Close the connections (the object is unusable afterwards).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.rt.block_on(self.store.close()));
    }

    fn __repr__(&self) -> String {
        format!("Store(backend={:?})", self.store.backend())
    }
}

/// The native module, imported by the `threatmapper` package.
#[pymodule]
fn _threatmapper(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ThreatMapperError", py.get_type::<ThreatMapperError>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add_class::<Observable>()?;
    m.add_class::<ReportDraft>()?;
    m.add_class::<ParseResult>()?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(extract_dict, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_report_url, m)?)?;
    m.add_function(wrap_pyfunction!(normalized_title, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_observable, m)?)?;
    m.add_function(wrap_pyfunction!(parse_stix, m)?)?;
    m.add_function(wrap_pyfunction!(parse_misp, m)?)?;
    m.add_function(wrap_pyfunction!(parse_atlas, m)?)?;
    m.add_function(wrap_pyfunction!(parse_feed, m)?)?;
    m.add_function(wrap_pyfunction!(validate_rule, m)?)?;
    m.add_function(wrap_pyfunction!(generate_rules, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(line_column("line 12 column 5"), (Some(12), Some(5)));
        assert_eq!(line_column("objects[3].id"), (None, None));
        assert_eq!(line_column("line 4"), (Some(4), None));
    }
}
