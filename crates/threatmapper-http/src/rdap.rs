//! RDAP enrichment of IPv4 and domain observables (RFC 9082/9083).
//!
//! The server comes from the IANA bootstrap registries (RFC 9224,
//! `dns.json` and `ipv4.json`, longest match): a snapshot ships in the
//! binary (`assets/rdap/`), the live files are fetched from
//! `RDAP_BOOTSTRAP_URL` when the copy in use is older than a day, and the
//! snapshot (or the last good copy) is used while the registry is
//! unreachable. `RDAP_BASE_URL` skips bootstrap.
//!
//! Every answer — including not-found, rate-limited and failed lookups — is
//! stored as evidence with its provider, query URL, HTTP status, outcome,
//! confidence, a bounded summary and the raw response's hash and excerpt.
//! Politeness: at most one query per `RDAP_MIN_INTERVAL_MS` per server,
//! `Retry-After` of a 429 honoured (queries before then are recorded as
//! `rate_limited` without being sent), and `ok`/`not_found` answers reused
//! for `RDAP_CACHE_TTL` (a new evidence row marked `cached`).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use ipnet::Ipv4Net;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use threatmapper_store::{Actor, Enrichment, NewEnrichment};

use crate::config::RdapConfig;
use crate::error::{ApiError, ApiResult};
use crate::fetch::Fetcher;
use crate::server::AppState;

const ACCEPT: &str = "application/rdap+json, application/json;q=0.8";
const BOOTSTRAP_TTL: Duration = Duration::from_secs(24 * 3600);
/// After a failed bootstrap refresh, wait this long before trying again.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(3600);
/// A wait for a server's politeness slot longer than this is not waited
/// out: the lookup is recorded as `rate_limited`.
const MAX_POLITE_WAIT: Duration = Duration::from_secs(5);

/// The bootstrap snapshot shipped with the binary.
const SNAPSHOT_DNS: &str = include_str!("../assets/rdap/dns.json");
const SNAPSHOT_IPV4: &str = include_str!("../assets/rdap/ipv4.json");

/// Bootstrap services: (entries, server URLs) pairs of one registry file.
type Services = Vec<(Vec<String>, Vec<String>)>;

/// One registry file in use.
#[derive(Debug, Clone)]
struct Registry {
    services: Services,
    /// When it was fetched (`None`: the shipped snapshot).
    fetched: Option<Instant>,
    /// When a refresh last failed.
    failed: Option<Instant>,
    /// The registry's `publication` field.
    publication: String,
}

/// The RDAP client: bootstrap registries, per-server politeness and the
/// answer cache.
#[derive(Debug)]
pub struct Rdap {
    cfg: RdapConfig,
    registries: Mutex<HashMap<&'static str, Registry>>,
    /// Per server base URL: the earliest time of the next query, and
    /// whether that time comes from a `Retry-After`.
    next_slot: Mutex<HashMap<String, (Instant, bool)>>,
    /// Per `kind:value`: when answered, and the evidence.
    answers: Mutex<HashMap<String, (Instant, NewEnrichment)>>,
}

/// Parse a bootstrap file into its services and publication date.
fn parse_registry(bytes: &[u8]) -> Result<(Services, String), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let strings = |x: &Value| -> Vec<String> {
        x.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let services: Services = v["services"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|svc| (strings(&svc[0]), strings(&svc[1])))
        .filter(|(e, u)| !e.is_empty() && !u.is_empty())
        .collect();
    if services.is_empty() {
        return Err("no services".to_owned());
    }
    Ok((services, v["publication"].as_str().unwrap_or("").to_owned()))
}

impl Rdap {
    /// A client for the settings, starting from the shipped snapshot.
    pub fn new(cfg: RdapConfig) -> Rdap {
        let mut registries = HashMap::new();
        for (file, text) in [("dns", SNAPSHOT_DNS), ("ipv4", SNAPSHOT_IPV4)] {
            if let Ok((services, publication)) = parse_registry(text.as_bytes()) {
                registries.insert(
                    file,
                    Registry {
                        services,
                        fetched: None,
                        failed: None,
                        publication,
                    },
                );
            }
        }
        Rdap {
            cfg,
            registries: Mutex::new(registries),
            next_slot: Mutex::new(HashMap::new()),
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The services of one registry file (`dns` or `ipv4`): the copy in use
    /// when it is fresh, else a refresh from the registry, else whatever
    /// copy there is (the snapshot or the last good one).
    async fn services(
        &self,
        fetcher: &Fetcher,
        file: &'static str,
    ) -> Result<(Services, String), String> {
        let current = self
            .registries
            .lock()
            .ok()
            .and_then(|r| r.get(file).cloned());
        let fresh = current
            .as_ref()
            .is_some_and(|r| r.fetched.is_some_and(|t| t.elapsed() < BOOTSTRAP_TTL));
        let recently_failed = current
            .as_ref()
            .is_some_and(|r| r.failed.is_some_and(|t| t.elapsed() < BOOTSTRAP_RETRY));
        if let Some(r) = &current
            && (fresh || recently_failed)
        {
            return Ok((r.services.clone(), r.publication.clone()));
        }
        let url = format!("{}{file}.json", with_slash(&self.cfg.bootstrap_url));
        let fetched = fetcher
            .get_within(
                &url,
                "application/json",
                &Default::default(),
                Some(self.cfg.timeout),
            )
            .await
            .map_err(|e| e.to_string())
            .and_then(|f| parse_registry(&f.body));
        match fetched {
            Ok((services, publication)) => {
                if let Ok(mut regs) = self.registries.lock() {
                    regs.insert(
                        file,
                        Registry {
                            services: services.clone(),
                            fetched: Some(Instant::now()),
                            failed: None,
                            publication: publication.clone(),
                        },
                    );
                }
                Ok((services, publication))
            }
            Err(e) => {
                tracing::warn!(%url, error = %e, "RDAP bootstrap refresh failed; using the copy in use");
                match current {
                    Some(mut r) => {
                        r.failed = Some(Instant::now());
                        let out = (r.services.clone(), r.publication.clone());
                        if let Ok(mut regs) = self.registries.lock() {
                            regs.insert(file, r);
                        }
                        Ok(out)
                    }
                    None => Err(format!("bootstrap {url}: {e}")),
                }
            }
        }
    }

    /// The RDAP base URL for a query and where it came from.
    async fn base_for(
        &self,
        fetcher: &Fetcher,
        kind: &str,
        value: &str,
    ) -> Result<(String, String), String> {
        if let Some(b) = &self.cfg.base_url {
            return Ok((with_slash(b), "RDAP_BASE_URL".to_owned()));
        }
        let file = if kind == "ipv4" { "ipv4" } else { "dns" };
        let (services, publication) = self.services(fetcher, file).await?;
        let urls = if kind == "ipv4" {
            let ip: Ipv4Addr = value
                .parse()
                .map_err(|_| format!("{value} is not an IPv4 address"))?;
            longest_cidr(&services, ip)
        } else {
            longest_suffix(&services, value)
        };
        let urls = urls
            .ok_or_else(|| format!("no RDAP service for {value} in the IANA bootstrap registry"))?;
        let base = urls
            .iter()
            .find(|u| u.starts_with("https://"))
            .or_else(|| urls.first())
            .map(|u| with_slash(u))
            .ok_or_else(|| format!("the bootstrap entry for {value} lists no URL"))?;
        Ok((base, format!("IANA {file}.json {publication}")))
    }

    /// Wait for `server`'s politeness slot; `Err(until)` when it is further
    /// away than [`MAX_POLITE_WAIT`] or blocked by a `Retry-After`.
    async fn polite(&self, server: &str) -> Result<(), Duration> {
        let wait = {
            let Ok(mut slots) = self.next_slot.lock() else {
                return Ok(());
            };
            let now = Instant::now();
            let (at, retry_after) = slots.get(server).copied().unwrap_or((now, false));
            let wait = at.saturating_duration_since(now);
            if retry_after && !wait.is_zero() || wait > MAX_POLITE_WAIT {
                return Err(wait);
            }
            slots.insert(
                server.to_owned(),
                (now + wait + self.cfg.min_interval, false),
            );
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    fn back_off(&self, server: &str, retry_after: Option<&str>) {
        let secs = retry_after
            .and_then(|r| r.trim().parse::<u64>().ok())
            .unwrap_or(60)
            .min(3600);
        if let Ok(mut slots) = self.next_slot.lock() {
            slots.insert(
                server.to_owned(),
                (Instant::now() + Duration::from_secs(secs), true),
            );
        }
    }

    fn cached(&self, key: &str) -> Option<NewEnrichment> {
        let answers = self.answers.lock().ok()?;
        let (at, e) = answers.get(key)?;
        if at.elapsed() >= self.cfg.cache_ttl {
            return None;
        }
        let mut e = e.clone();
        e.summary["cached"] = json!({"age_seconds": at.elapsed().as_secs()});
        Some(e)
    }

    fn remember(&self, key: String, e: &NewEnrichment) {
        if self.cfg.cache_ttl.is_zero() || !(e.status == "ok" || e.status == "not_found") {
            return;
        }
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= 10_000 {
                let ttl = self.cfg.cache_ttl;
                answers.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            answers.insert(key, (Instant::now(), e.clone()));
        }
    }
}

fn with_slash(u: &str) -> String {
    if u.ends_with('/') {
        u.to_owned()
    } else {
        format!("{u}/")
    }
}

fn longest_cidr(services: &[(Vec<String>, Vec<String>)], ip: Ipv4Addr) -> Option<&Vec<String>> {
    let mut best: Option<(u8, &Vec<String>)> = None;
    for (entries, urls) in services {
        for e in entries {
            if let Ok(net) = e.parse::<Ipv4Net>()
                && net.contains(&ip)
                && best.is_none_or(|(len, _)| net.prefix_len() > len)
            {
                best = Some((net.prefix_len(), urls));
            }
        }
    }
    best.map(|(_, u)| u)
}

fn longest_suffix<'a>(
    services: &'a [(Vec<String>, Vec<String>)],
    domain: &str,
) -> Option<&'a Vec<String>> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut best: Option<(usize, &Vec<String>)> = None;
    for (entries, urls) in services {
        for e in entries {
            let e = e.trim_end_matches('.').to_ascii_lowercase();
            let matches = domain == e || domain.ends_with(&format!(".{e}"));
            if matches && best.is_none_or(|(len, _)| e.len() > len) {
                best = Some((e.len(), urls));
            }
        }
    }
    best.map(|(_, u)| u)
}

fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn str_field(v: &Value, k: &str) -> Value {
    v.get(k)
        .and_then(Value::as_str)
        .map(|s| Value::String(clip(s, 256)))
        .unwrap_or(Value::Null)
}

/// A vCard property (`fn`, `email`, ...) of an RDAP entity.
fn vcard(e: &Value, prop: &str) -> Option<String> {
    e["vcardArray"][1].as_array()?.iter().find_map(|p| {
        (p[0].as_str() == Some(prop))
            .then(|| p[3].as_str().map(|s| clip(s, 256)))
            .flatten()
    })
}

/// Every entity, nested ones included, in document order (bounded).
fn all_entities(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<&Value> = v["entities"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    while let Some(e) = queue.pop_front() {
        if out.len() >= 50 {
            break;
        }
        out.push(e);
        if let Some(children) = e["entities"].as_array() {
            queue.extend(children.iter());
        }
    }
    out
}

fn has_role(e: &Value, role: &str) -> bool {
    e["roles"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(role)))
}

/// The network's CIDRs: `cidr0_cidrs` when given, else the range when it is
/// one aligned block.
fn cidrs(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["cidr0_cidrs"]
        .as_array()
        .map(|a| {
            a.iter()
                .take(20)
                .filter_map(|c| {
                    let prefix = c["v4prefix"].as_str().or_else(|| c["v6prefix"].as_str())?;
                    Some(format!("{prefix}/{}", c["length"].as_u64()?))
                })
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty()
        && let (Some(a), Some(b)) = (v["startAddress"].as_str(), v["endAddress"].as_str())
        && let (Ok(a), Ok(b)) = (a.parse::<Ipv4Addr>(), b.parse::<Ipv4Addr>())
    {
        let span = u32::from(b).wrapping_sub(u32::from(a)).wrapping_add(1);
        if span.is_power_of_two() && u32::from(a) % span == 0 {
            out.push(format!("{a}/{}", 32 - span.trailing_zeros()));
        } else if u32::from(b) == u32::MAX && u32::from(a) == 0 {
            out.push("0.0.0.0/0".to_owned());
        }
    }
    out
}

/// A bounded summary of an RDAP object: identity, status, dates, registrar,
/// abuse contact, network (name, range, CIDR, country) or domain
/// (nameservers) fields, and the named entities by role.
pub fn summarize(v: &Value) -> Value {
    let mut events = serde_json::Map::new();
    for e in v["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .take(20)
    {
        if let (Some(a), Some(d)) = (e["eventAction"].as_str(), e["eventDate"].as_str()) {
            events.insert(clip(a, 64), Value::String(clip(d, 64)));
        }
    }
    let entities = all_entities(v);
    let registrar = entities
        .iter()
        .find(|e| has_role(e, "registrar"))
        .and_then(|e| vcard(e, "fn"));
    let abuse = entities.iter().find(|e| has_role(e, "abuse")).map(
        |e| json!({"name": vcard(e, "fn"), "email": vcard(e, "email"), "phone": vcard(e, "tel")}),
    );
    let named: Vec<Value> = entities
        .iter()
        .take(20)
        .map(|e| {
            json!({
                "handle": str_field(e, "handle"),
                "name": vcard(e, "fn"),
                "roles": e["roles"].as_array().map(|r| r.iter().take(10).cloned().collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect();
    let status: Vec<Value> = v["status"]
        .as_array()
        .map(|s| s.iter().take(20).cloned().collect())
        .unwrap_or_default();
    let nameservers: Vec<Value> = v["nameservers"]
        .as_array()
        .map(|n| n.iter().take(20).map(|x| str_field(x, "ldhName")).collect())
        .unwrap_or_default();
    json!({
        "object_class": str_field(v, "objectClassName"),
        "handle": str_field(v, "handle"),
        "name": str_field(v, "name"),
        "ldh_name": str_field(v, "ldhName"),
        "type": str_field(v, "type"),
        "country": str_field(v, "country"),
        "start_address": str_field(v, "startAddress"),
        "end_address": str_field(v, "endAddress"),
        "cidrs": cidrs(v),
        "parent_handle": str_field(v, "parentHandle"),
        "registrar": registrar,
        "abuse_contact": abuse,
        "registration": events.get("registration").cloned(),
        "expiration": events.get("expiration").cloned(),
        "last_changed": events.get("last changed").cloned(),
        "status": status,
        "events": events,
        "entities": named,
        "nameservers": nameservers,
        "port43": str_field(v, "port43"),
    })
}

/// Enrich observable `id` and store the evidence.
pub async fn enrich(s: &AppState, id: i64, actor: &Actor) -> ApiResult<Enrichment> {
    let o = s
        .store
        .observable(id)
        .await?
        .ok_or_else(|| ApiError::not_found("observable", id))?;
    let kind = o.observable.kind.as_str();
    if kind != "ipv4" && kind != "domain" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("RDAP enrichment covers ipv4 and domain observables, not {kind}"),
        ));
    }
    let value = o.observable.value.clone();
    let key = format!("{kind}:{value}");
    let evidence = match s.rdap.cached(&key) {
        Some(e) => e,
        None => {
            let e = lookup(s, kind, &value).await;
            s.rdap.remember(key, &e);
            e
        }
    };
    Ok(s.store.add_enrichment(id, &evidence, actor).await?)
}

/// Query RDAP and turn whatever happens into evidence.
async fn lookup(s: &AppState, kind: &str, value: &str) -> NewEnrichment {
    let mut e = NewEnrichment {
        provider: "rdap".to_owned(),
        status: "error".to_owned(),
        confidence: 0,
        summary: Value::Null,
        raw_sha256: None,
        raw_excerpt: None,
        fetched_at: None,
    };
    let (base, chosen_by) = match s.rdap.base_for(&s.fetcher, kind, value).await {
        Ok(b) => b,
        Err(msg) => {
            e.summary = json!({"error": msg});
            return e;
        }
    };
    let path = if kind == "ipv4" { "ip" } else { "domain" };
    let url = format!("{base}{path}/{value}");
    if let Err(wait) = s.rdap.polite(&base).await {
        e.status = "rate_limited".to_owned();
        e.summary = json!({"server": base, "query": url, "chosen_by": chosen_by,
            "error": format!("not sent: this server asked for a pause ({} s left)", wait.as_secs())});
        return e;
    }
    match s
        .fetcher
        .get_any_status(&url, ACCEPT, Some(s.rdap.cfg.timeout))
        .await
    {
        Ok((status, body, retry_after)) => {
            e.raw_sha256 = Some(crate::hex(&Sha256::digest(&body)));
            e.raw_excerpt = Some(
                String::from_utf8_lossy(
                    &body[..body.len().min(threatmapper_store::limits::RAW_EXCERPT)],
                )
                .into_owned(),
            );
            let meta = json!({"server": base, "query": url, "chosen_by": chosen_by, "http_status": status});
            match status {
                200 => match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => {
                        e.status = "ok".to_owned();
                        e.confidence = 80;
                        let mut sum = summarize(&v);
                        merge(&mut sum, meta);
                        e.summary = sum;
                    }
                    Err(err) => {
                        e.summary = meta;
                        e.summary["error"] = json!(format!("not RDAP JSON: {err}"));
                    }
                },
                404 => {
                    e.status = "not_found".to_owned();
                    e.confidence = 60;
                    e.summary = meta;
                }
                429 => {
                    s.rdap.back_off(&base, retry_after.as_deref());
                    e.status = "rate_limited".to_owned();
                    e.summary = meta;
                    e.summary["retry_after"] = json!(retry_after);
                }
                _ => e.summary = meta,
            }
        }
        Err(err) => {
            e.summary = json!({"server": base, "query": url, "chosen_by": chosen_by,
                "error": err.to_string(), "class": err.class()});
        }
    }
    e
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_matching() {
        let services = vec![
            (
                vec!["com".to_owned(), "net".to_owned()],
                vec!["http://a/".to_owned(), "https://a/".to_owned()],
            ),
            (vec!["co.uk".to_owned()], vec!["https://couk/".to_owned()]),
            (vec!["uk".to_owned()], vec!["https://uk/".to_owned()]),
            (
                vec!["41.0.0.0/8".to_owned()],
                vec!["https://afrinic/".to_owned()],
            ),
            (
                vec!["41.128.0.0/9".to_owned()],
                vec!["https://narrow/".to_owned()],
            ),
        ];
        assert_eq!(
            longest_suffix(&services, "evil.example.co.uk").unwrap()[0],
            "https://couk/"
        );
        assert_eq!(longest_suffix(&services, "x.uk").unwrap()[0], "https://uk/");
        assert!(longest_suffix(&services, "example.org").is_none());
        assert!(longest_suffix(&services, "notcom").is_none());
        assert_eq!(
            longest_cidr(&services, "41.200.1.1".parse().unwrap()).unwrap()[0],
            "https://narrow/"
        );
        assert_eq!(
            longest_cidr(&services, "41.1.1.1".parse().unwrap()).unwrap()[0],
            "https://afrinic/"
        );
    }

    #[test]
    fn the_shipped_snapshot_parses_and_covers_the_basics() {
        let (dns, pub_dns) = parse_registry(SNAPSHOT_DNS.as_bytes()).unwrap();
        let (v4, pub_v4) = parse_registry(SNAPSHOT_IPV4.as_bytes()).unwrap();
        assert!(!pub_dns.is_empty() && !pub_v4.is_empty());
        assert!(longest_suffix(&dns, "example.com").is_some());
        assert!(longest_suffix(&dns, "example.org").is_some());
        for ip in ["8.8.8.8", "41.1.1.1", "193.0.0.1", "200.1.1.1", "1.1.1.1"] {
            assert!(longest_cidr(&v4, ip.parse().unwrap()).is_some(), "{ip}");
        }
    }

    #[test]
    fn summary_is_bounded_and_names_registrar_and_abuse() {
        let v = json!({
            "objectClassName": "ip network", "handle": "NET-1", "startAddress": "198.51.100.0",
            "endAddress": "198.51.100.255", "country": "ZZ", "name": "x".repeat(1000),
            "events": [{"eventAction": "registration", "eventDate": "2020-01-01T00:00:00Z"},
                       {"eventAction": "expiration", "eventDate": "2030-01-01T00:00:00Z"}],
            "entities": [
                {"handle": "E1", "roles": ["registrant"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Org"]]],
                 "entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [["fn", {}, "text", "Abuse Desk"], ["email", {}, "text", "abuse@example.org"]]]}]},
                {"roles": ["registrar"], "vcardArray": ["vcard", [["fn", {}, "text", "Example Registrar"]]]}
            ],
            "status": (0..100).map(|i| format!("s{i}")).collect::<Vec<_>>(),
        });
        let s = summarize(&v);
        assert_eq!(s["entities"][0]["name"], "Example Org");
        assert_eq!(s["registrar"], "Example Registrar");
        assert_eq!(s["abuse_contact"]["email"], "abuse@example.org");
        assert_eq!(
            (s["registration"].as_str(), s["expiration"].as_str()),
            (Some("2020-01-01T00:00:00Z"), Some("2030-01-01T00:00:00Z"))
        );
        assert_eq!(s["cidrs"][0], "198.51.100.0/24");
        assert_eq!(s["name"].as_str().unwrap().len(), 256);
        assert_eq!(s["status"].as_array().unwrap().len(), 20);
    }
}
