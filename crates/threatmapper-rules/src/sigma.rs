//! Sigma rule validation, following the Sigma specification (v2) and the
//! checks of pySigma's validators that apply to a single rule.
//!
//! Every problem is reported with its line and column; one bad document never
//! stops the others. The codes are listed in `docs/RULES.md`.

use std::collections::HashSet;

use crate::condition;
use crate::diagnostic::{Diagnostic, Severity};
use crate::yaml::{Node, Value, parse_documents};

/// The literal an analyst must replace before a rule is production-ready.
pub const PLACEHOLDER: &str = "REPLACE_WITH_BEHAVIOR";

const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
const CORRELATION_TYPES: &[&str] = &[
    "event_count",
    "value_count",
    "temporal",
    "temporal_ordered",
    "value_sum",
    "value_avg",
    "value_percentile",
    "value_median",
];
const POSITION: &[&str] = &["contains", "startswith", "endswith"];
const ENCODING: &[&str] = &[
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "wide",
    "utf16",
    "windash",
];
const RE_FLAGS: &[&str] = &["i", "m", "s", "ignorecase", "multiline", "dotall"];
const COMPARE: &[&str] = &["lt", "lte", "gt", "gte"];
const OTHER: &[&str] = &[
    "all", "re", "cidr", "exists", "expand", "fieldref", "cased", "neq", "minute", "hour", "day",
    "week", "month", "year",
];

/// Who a rule says it is, for checks across files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleIdentity {
    /// The `id`, when it is a string, and where it is (line, column).
    pub id: Option<(String, usize, usize)>,
    /// The `title`, when it is a string, and where it is (line, column).
    pub title: Option<(String, usize, usize)>,
    /// Position of the document (1-based line, column).
    pub line: usize,
    /// Column of the document.
    pub column: usize,
}

/// Validate the text of a Sigma file (one or more YAML documents).
///
/// ```
/// use threatmapper_rules::sigma::validate;
/// let rule = "title: Suspicious Whoami\nid: 7f1c3a52-0f4b-4a3e-9d2e-0c1b2a3d4e5f\nstatus: experimental\n\
///             logsource:\n  category: process_creation\n  product: windows\n\
///             detection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\nlevel: low\n";
/// assert!(validate(rule).is_empty());
/// let bad = rule.replace("level: low", "level: High");
/// let d = validate(&bad);
/// assert_eq!((d[0].code, d[0].line, d[0].column), ("SIGMA031", 11, 8));
/// ```
pub fn validate(text: &str) -> Vec<Diagnostic> {
    validate_with_identity(text).0
}

/// [`validate`], also returning each document's identity.
pub fn validate_with_identity(text: &str) -> (Vec<Diagnostic>, Vec<RuleIdentity>) {
    let mut v = Validator::default();
    let mut line = 1;
    let mut line_start = 0;
    let mut scanned = 0;
    for (at, _) in text.match_indices(PLACEHOLDER) {
        for (i, b) in text.as_bytes()[scanned..at].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = scanned + i + 1;
            }
        }
        scanned = at;
        let col = text[line_start..at].chars().count() + 1;
        v.warn(
            "SIGMA900",
            format!("`{PLACEHOLDER}` must be replaced: not ready for production"),
            line,
            col,
        );
    }
    let docs = match parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            v.error(
                "SIGMA000",
                format!("invalid YAML: {}", e.message),
                e.line,
                e.column,
            );
            return (v.out, Vec::new());
        }
    };
    if docs.is_empty() {
        v.error("SIGMA001", "the file holds no YAML document", 1, 1);
    }
    let mut ids = Vec::new();
    let mut global: Option<&Node> = None;
    for doc in &docs {
        // `action: global` documents (legacy multi-document rules) set shared
        // fields for the documents that follow.
        if doc.get("action").and_then(Node::as_str) == Some("global") {
            global = Some(doc);
            v.dup_keys(doc);
            continue;
        }
        if doc.get("action").and_then(Node::as_str) == Some("reset") {
            global = None;
            continue;
        }
        ids.push(v.document(doc, global));
    }
    (v.out, ids)
}

#[derive(Default)]
struct Validator {
    out: Vec<Diagnostic>,
}

impl Validator {
    fn error(&mut self, code: &'static str, msg: impl Into<String>, line: usize, col: usize) {
        self.out
            .push(Diagnostic::new(Severity::Error, code, msg, line, col));
    }

    fn warn(&mut self, code: &'static str, msg: impl Into<String>, line: usize, col: usize) {
        self.out
            .push(Diagnostic::new(Severity::Warning, code, msg, line, col));
    }

    fn error_at(&mut self, code: &'static str, msg: impl Into<String>, n: &Node) {
        self.error(code, msg, n.line, n.column);
    }

    fn dup_keys(&mut self, n: &Node) {
        match &n.value {
            Value::Map(m) => {
                let mut seen = HashSet::new();
                for (k, v) in m {
                    if let Some(t) = k.scalar_text()
                        && !seen.insert(t.clone())
                    {
                        self.error_at("SIGMA002", format!("duplicate key `{t}`"), k);
                    }
                    self.dup_keys(v);
                }
            }
            Value::Seq(s) => s.iter().for_each(|x| self.dup_keys(x)),
            _ => {}
        }
    }

    fn document(&mut self, doc: &Node, global: Option<&Node>) -> RuleIdentity {
        let mut ident = RuleIdentity {
            id: None,
            title: None,
            line: doc.line.max(1),
            column: doc.column.max(1),
        };
        if doc.as_map().is_none() {
            self.error_at(
                "SIGMA001",
                format!("a Sigma rule is a mapping, not {}", doc.type_name()),
                doc,
            );
            return ident;
        }
        self.dup_keys(doc);
        let field = |k: &str| doc.get(k).or_else(|| global.and_then(|g| g.get(k)));

        // title
        match field("title") {
            None => self.error("SIGMA010", "missing `title`", ident.line, ident.column),
            Some(t) => match t.as_str() {
                Some(s) if !s.trim().is_empty() => {
                    if s.chars().count() > 256 {
                        self.warn(
                            "SIGMA012",
                            "`title` is longer than 256 characters",
                            t.line,
                            t.column,
                        );
                    }
                    ident.title = Some((s.to_owned(), t.line, t.column));
                }
                Some(_) => self.error_at("SIGMA011", "`title` is empty", t),
                None => self.error_at(
                    "SIGMA011",
                    format!("`title` must be a string, not {}", t.type_name()),
                    t,
                ),
            },
        }
        // id
        match field("id") {
            None => self.warn(
                "SIGMA021",
                "missing `id`: give the rule a UUID so it can be tracked",
                ident.line,
                ident.column,
            ),
            Some(n) => match n.as_str() {
                Some(s) if uuid::Uuid::parse_str(s).is_ok() && s.len() == 36 => {
                    ident.id = Some((s.to_ascii_lowercase(), n.line, n.column));
                }
                _ => self.error_at(
                    "SIGMA020",
                    format!("`id` must be a UUID such as 929a690e-bef0-4204-a928-ef5e620d6fcc, not `{}`", n.scalar_text().unwrap_or_default()),
                    n,
                ),
            },
        }
        self.one_of(field("status"), "status", STATUSES, "SIGMA030");
        self.one_of(field("level"), "level", LEVELS, "SIGMA031");
        for key in ["date", "modified"] {
            if let Some(n) = field(key) {
                let ok = n.as_str().is_some_and(|s| {
                    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
                });
                if !ok {
                    self.error_at(
                        "SIGMA032",
                        format!(
                            "`{key}` must be a date written YYYY-MM-DD, not `{}`",
                            n.scalar_text().unwrap_or_else(|| n.type_name().to_owned())
                        ),
                        n,
                    );
                }
            }
        }
        for key in ["description", "author", "license"] {
            if let Some(n) = field(key)
                && n.as_str().is_none()
                && n.value != Value::Null
            {
                self.error_at(
                    "SIGMA033",
                    format!("`{key}` must be a string, not {}", n.type_name()),
                    n,
                );
            }
        }
        for key in ["references", "fields"] {
            self.string_list(field(key), key, false);
        }
        self.string_list(field("falsepositives"), "falsepositives", true);
        self.tags(field("tags"));

        if let Some(c) = doc.get("correlation") {
            self.correlation(c);
        } else if let Some(f) = doc.get("filter") {
            self.logsource(field("logsource"), ident.line, ident.column);
            self.filter(f);
        } else {
            self.logsource(field("logsource"), ident.line, ident.column);
            match field("detection") {
                None => self.error("SIGMA060", "missing `detection`", ident.line, ident.column),
                Some(d) => self.detection(d, "detection"),
            }
        }
        ident
    }

    fn one_of(&mut self, n: Option<&Node>, key: &str, allowed: &[&str], code: &'static str) {
        let Some(n) = n else { return };
        if !n.as_str().is_some_and(|s| allowed.contains(&s)) {
            self.error_at(
                code,
                format!(
                    "`{key}` must be one of {} (lowercase), not `{}`",
                    allowed.join(", "),
                    n.scalar_text().unwrap_or_else(|| n.type_name().to_owned())
                ),
                n,
            );
        }
    }

    fn string_list(&mut self, n: Option<&Node>, key: &str, allow_string: bool) {
        let Some(n) = n else { return };
        match &n.value {
            Value::Seq(items) => {
                for it in items {
                    if it.as_str().is_none() {
                        self.error_at(
                            "SIGMA034",
                            format!("`{key}` entries must be strings, not {}", it.type_name()),
                            it,
                        );
                    }
                }
            }
            Value::Str(_) if allow_string => {}
            Value::Null => {}
            _ => self.error_at(
                "SIGMA034",
                format!("`{key}` must be a list of strings, not {}", n.type_name()),
                n,
            ),
        }
    }

    fn tags(&mut self, n: Option<&Node>) {
        let Some(n) = n else { return };
        let Value::Seq(items) = &n.value else {
            self.error_at(
                "SIGMA034",
                format!("`tags` must be a list of strings, not {}", n.type_name()),
                n,
            );
            return;
        };
        let mut seen = HashSet::new();
        for it in items {
            let Some(t) = it.as_str() else {
                self.error_at(
                    "SIGMA034",
                    format!("`tags` entries must be strings, not {}", it.type_name()),
                    it,
                );
                continue;
            };
            let ok = t.split_once('.').is_some_and(|(ns, rest)| {
                !ns.is_empty()
                    && !rest.is_empty()
                    && ns.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    })
                    && rest.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'_' | b'-' | b'.')
                    })
            });
            if !ok {
                self.error_at(
                    "SIGMA040",
                    format!("tag `{t}` must be `namespace.name` in lowercase letters, digits, `_`, `-`, `.` (e.g. attack.t1059.001)"),
                    it,
                );
            } else if !seen.insert(t) {
                self.warn(
                    "SIGMA041",
                    format!("duplicate tag `{t}`"),
                    it.line,
                    it.column,
                );
            }
        }
    }

    fn logsource(&mut self, n: Option<&Node>, line: usize, column: usize) {
        let Some(n) = n else {
            self.error("SIGMA050", "missing `logsource`", line, column);
            return;
        };
        let Some(m) = n.as_map() else {
            self.error_at(
                "SIGMA051",
                format!("`logsource` must be a mapping, not {}", n.type_name()),
                n,
            );
            return;
        };
        let has = m.iter().any(|(k, v)| {
            matches!(k.as_str(), Some("category" | "product" | "service"))
                && v.as_str().is_some_and(|s| !s.trim().is_empty())
        });
        if !has {
            self.error_at(
                "SIGMA052",
                "`logsource` needs a non-empty `category`, `product` or `service`",
                n,
            );
        }
    }

    /// A detection-like block: search identifiers and a condition.
    fn detection(&mut self, d: &Node, what: &str) {
        let Some(m) = d.as_map() else {
            self.error_at(
                "SIGMA061",
                format!("`{what}` must be a mapping, not {}", d.type_name()),
                d,
            );
            return;
        };
        let mut idents: Vec<&str> = Vec::new();
        let mut cond = None;
        for (k, v) in m {
            match k.as_str() {
                Some("condition") => cond = Some(v),
                Some("timeframe") | Some("rules") => {}
                Some(name) => {
                    idents.push(name);
                    self.search(name, v);
                }
                None => self.error_at("SIGMA063", "a search identifier must be a string", k),
            }
        }
        if idents.is_empty() {
            self.error_at("SIGMA062", format!("`{what}` has no search identifier"), d);
        }
        let Some(c) = cond else {
            self.error_at("SIGMA065", format!("`{what}` has no `condition`"), d);
            return;
        };
        let conds: Vec<&Node> = match &c.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![c],
        };
        for c in conds {
            let Some(text) = c.as_str() else {
                self.error_at(
                    "SIGMA066",
                    format!("a condition must be a string, not {}", c.type_name()),
                    c,
                );
                continue;
            };
            if text.contains('|') {
                self.error_at(
                    "SIGMA067",
                    "pipe aggregations (`| count() by ...`) were removed from Sigma: use a correlation rule",
                    c,
                );
                continue;
            }
            match condition::parse(text) {
                Ok(parsed) => {
                    for msg in condition::undefined_references(&parsed, &idents) {
                        self.error_at("SIGMA068", msg, c);
                    }
                }
                Err(e) => {
                    // Plain single-line scalars map columns one to one.
                    let col = if text.contains('\n') {
                        c.column
                    } else {
                        c.column + e.column - 1
                    };
                    self.error("SIGMA066", format!("condition: {}", e.message), c.line, col);
                }
            }
        }
    }

    fn search(&mut self, name: &str, v: &Node) {
        match &v.value {
            Value::Map(entries) => {
                if entries.is_empty() {
                    self.error_at(
                        "SIGMA064",
                        format!("search identifier `{name}` is empty"),
                        v,
                    );
                }
                for (k, val) in entries {
                    self.field(k, val);
                }
            }
            Value::Seq(items) => {
                if items.is_empty() {
                    self.error_at(
                        "SIGMA064",
                        format!("search identifier `{name}` is empty"),
                        v,
                    );
                }
                for it in items {
                    match &it.value {
                        Value::Map(entries) => {
                            for (k, val) in entries {
                                self.field(k, val);
                            }
                        }
                        Value::Seq(_) => self.error_at(
                            "SIGMA063",
                            format!("search identifier `{name}` holds a nested list"),
                            it,
                        ),
                        _ => {}
                    }
                }
            }
            Value::Null => self.error_at(
                "SIGMA064",
                format!("search identifier `{name}` is empty"),
                v,
            ),
            _ => {}
        }
    }

    /// A `Field|mod|mod: value` entry.
    fn field(&mut self, k: &Node, val: &Node) {
        let Some(key) = k.scalar_text() else {
            self.error_at("SIGMA063", "a field name must be a scalar", k);
            return;
        };
        let mut parts = key.split('|');
        let _field = parts.next();
        let mods: Vec<&str> = parts.collect();
        let known = |m: &str| {
            POSITION.contains(&m)
                || ENCODING.contains(&m)
                || RE_FLAGS.contains(&m)
                || COMPARE.contains(&m)
                || OTHER.contains(&m)
        };
        let mut bad = false;
        for m in &mods {
            if !known(m) {
                self.error_at(
                    "SIGMA070",
                    format!("unknown field modifier `{m}` in `{key}`"),
                    k,
                );
                bad = true;
            }
        }
        if bad {
            return;
        }
        let count = |set: &[&str]| mods.iter().filter(|m| set.contains(m)).count();
        let has = |m: &str| mods.contains(&m);
        let mut uniq = HashSet::new();
        let problem = if let Some(m) = mods.iter().find(|m| !uniq.insert(**m)) {
            Some(format!("modifier `{m}` repeated in `{key}`"))
        } else if count(POSITION) > 1 {
            Some(format!(
                "`{key}` combines position modifiers: use one of contains, startswith, endswith"
            ))
        } else if has("re") && (count(POSITION) > 0 || count(ENCODING) > 0) {
            Some(format!(
                "`{key}`: `re` cannot be combined with position or encoding modifiers"
            ))
        } else if count(RE_FLAGS) > 0 && !has("re") {
            Some(format!(
                "`{key}`: regular-expression flags need the `re` modifier"
            ))
        } else if has("exists") && mods.len() > 1 {
            Some(format!("`{key}`: `exists` stands alone"))
        } else if has("cidr") && (count(POSITION) > 0 || count(ENCODING) > 0 || has("re")) {
            Some(format!(
                "`{key}`: `cidr` cannot be combined with string modifiers"
            ))
        } else if count(COMPARE) > 1 || (count(COMPARE) == 1 && mods.len() > 1) {
            Some(format!("`{key}`: a comparison modifier stands alone"))
        } else if has("base64offset") && !has("contains") {
            Some(format!(
                "`{key}`: `base64offset` only makes sense with `contains`"
            ))
        } else {
            None
        };
        if let Some(msg) = problem {
            self.error_at("SIGMA071", msg, k);
        } else if has("all") && !matches!(val.value, Value::Seq(_)) {
            self.warn(
                "SIGMA072",
                format!("`{key}`: `all` on a single value has no effect"),
                k.line,
                k.column,
            );
        }
    }

    fn correlation(&mut self, c: &Node) {
        let Some(_) = c.as_map() else {
            self.error_at(
                "SIGMA080",
                format!("`correlation` must be a mapping, not {}", c.type_name()),
                c,
            );
            return;
        };
        let typ = c.get("type").and_then(Node::as_str);
        match (typ, c.get("type")) {
            (Some(t), _) if CORRELATION_TYPES.contains(&t) => {}
            (_, Some(n)) => self.error_at(
                "SIGMA080",
                format!(
                    "correlation `type` must be one of {}",
                    CORRELATION_TYPES.join(", ")
                ),
                n,
            ),
            (_, None) => self.error_at("SIGMA080", "correlation has no `type`", c),
        }
        match c.get("rules") {
            Some(Node {
                value: Value::Seq(r),
                ..
            }) if !r.is_empty() && r.iter().all(|x| x.as_str().is_some()) => {}
            Some(n) => self.error_at(
                "SIGMA081",
                "correlation `rules` must be a non-empty list of rule names or ids",
                n,
            ),
            None => self.error_at("SIGMA081", "correlation has no `rules`", c),
        }
        match c.get("timespan") {
            Some(n) => {
                let ok = n.as_str().is_some_and(|s| {
                    s.len() > 1
                        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
                        && s.ends_with(['s', 'm', 'h', 'd', 'w', 'M', 'y'])
                });
                if !ok {
                    self.error_at("SIGMA082", "correlation `timespan` must be a number and a unit (s, m, h, d, w, M, y), such as 5m", n);
                }
            }
            None => self.error_at("SIGMA082", "correlation has no `timespan`", c),
        }
        if let Some(g) = c.get("group-by") {
            self.string_list(Some(g), "group-by", false);
        }
        let needs_condition = typ.is_some_and(|t| !t.starts_with("temporal"));
        match c.get("condition") {
            Some(n) => {
                let Some(m) = n.as_map() else {
                    self.error_at(
                        "SIGMA083",
                        "correlation `condition` must be a mapping such as {gte: 10}",
                        n,
                    );
                    return;
                };
                let ops: Vec<&(Node, Node)> = m
                    .iter()
                    .filter(|(k, _)| {
                        matches!(k.as_str(), Some("gt" | "gte" | "lt" | "lte" | "eq" | "neq"))
                    })
                    .collect();
                if ops.is_empty() {
                    self.error_at(
                        "SIGMA083",
                        "correlation `condition` needs gt, gte, lt, lte, eq or neq",
                        n,
                    );
                }
                for (k, v) in ops {
                    if !matches!(v.value, Value::Int(_) | Value::Float(_)) {
                        self.error_at(
                            "SIGMA083",
                            format!("`{}` needs a number", k.as_str().unwrap_or("")),
                            v,
                        );
                    }
                }
                if typ.is_some_and(|t| t.starts_with("value_"))
                    && c.get("condition").and_then(|x| x.get("field")).is_none()
                {
                    self.error_at(
                        "SIGMA083",
                        "a value_* correlation `condition` needs a `field`",
                        n,
                    );
                }
            }
            None if needs_condition => {
                self.error_at("SIGMA083", "correlation has no `condition`", c)
            }
            None => {}
        }
    }

    fn filter(&mut self, f: &Node) {
        if f.as_map().is_none() {
            self.error_at(
                "SIGMA085",
                format!("`filter` must be a mapping, not {}", f.type_name()),
                f,
            );
            return;
        }
        match f.get("rules") {
            Some(Node {
                value: Value::Seq(r),
                ..
            }) if r.iter().all(|x| x.as_str().is_some()) => {}
            Some(Node {
                value: Value::Str(_),
                ..
            }) => {}
            Some(n) => self.error_at(
                "SIGMA085",
                "filter `rules` must be a list of rule ids or names",
                n,
            ),
            None => self.error_at("SIGMA085", "filter has no `rules`", f),
        }
        self.detection(f, "filter");
    }
}

/// Checks across the rules of a directory: duplicate ids (error) and
/// duplicate titles (warning). `rules` pairs a file index with each rule's
/// identity; `names` names the files. Returns `(file index, diagnostic)` pairs
/// for every later occurrence.
pub fn cross_file(rules: &[(usize, RuleIdentity)], names: &[&str]) -> Vec<(usize, Diagnostic)> {
    use std::collections::HashMap;
    let name = |f: usize| names.get(f).copied().unwrap_or("another file");
    let mut out = Vec::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut titles: HashMap<&str, usize> = HashMap::new();
    for (file, r) in rules {
        if let Some((id, line, col)) = &r.id {
            match ids.get(id.as_str()) {
                Some(&first) => out.push((
                    *file,
                    Diagnostic::new(
                        Severity::Error,
                        "SIGMA022",
                        format!("`id` {id} is also used by {}", name(first)),
                        *line,
                        *col,
                    ),
                )),
                None => {
                    ids.insert(id, *file);
                }
            }
        }
        if let Some((t, line, col)) = &r.title {
            match titles.get(t.as_str()) {
                Some(&first) => out.push((
                    *file,
                    Diagnostic::new(
                        Severity::Warning,
                        "SIGMA013",
                        format!("title `{t}` is also used by {}", name(first)),
                        *line,
                        *col,
                    ),
                )),
                None => {
                    titles.insert(t, *file);
                }
            }
        }
    }
    out
}
