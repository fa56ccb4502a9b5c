//! RDAP enrichment of IPv4 and domain observables (RFC 9082/9083), with the
//! server chosen from the IANA bootstrap registries (RFC 9224) or a fixed
//! `RDAP_BASE_URL`. Every answer — including not-found, rate-limited and
//! failed lookups — is stored as evidence with its provider, status,
//! confidence, a bounded summary and the raw response's hash and excerpt.

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
use crate::fetch::{FetchError, Fetcher};
use crate::server::AppState;

const ACCEPT: &str = "application/rdap+json, application/json;q=0.8";
const BOOTSTRAP_TTL: Duration = Duration::from_secs(24 * 3600);

/// Bootstrap services: (entries, server URLs) pairs of one registry file.
type Services = Vec<(Vec<String>, Vec<String>)>;

/// The RDAP client with its bootstrap cache.
#[derive(Debug)]
pub struct Rdap {
    cfg: RdapConfig,
    cache: Mutex<HashMap<&'static str, (Instant, Services)>>,
}

impl Rdap {
    /// A client for the settings.
    pub fn new(cfg: RdapConfig) -> Rdap {
        Rdap {
            cfg,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The services of one bootstrap file (`dns` or `ipv4`), cached.
    async fn services(
        &self,
        fetcher: &Fetcher,
        file: &'static str,
    ) -> Result<Vec<(Vec<String>, Vec<String>)>, String> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, s)) = cache.get(file)
            && at.elapsed() < BOOTSTRAP_TTL
        {
            return Ok(s.clone());
        }
        let base = with_slash(&self.cfg.bootstrap_url);
        let url = format!("{base}{file}.json");
        let f = fetcher
            .get(&url, "application/json", &Default::default())
            .await
            .map_err(|e| format!("bootstrap {url}: {e}"))?;
        let v: Value =
            serde_json::from_slice(&f.body).map_err(|e| format!("bootstrap {url}: {e}"))?;
        let mut out = Vec::new();
        for svc in v["services"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let strings = |x: &Value| -> Vec<String> {
                x.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            out.push((strings(&svc[0]), strings(&svc[1])));
        }
        if out.is_empty() {
            return Err(format!("bootstrap {url}: no services"));
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(file, (Instant::now(), out.clone()));
        }
        Ok(out)
    }

    /// The RDAP base URL for a query, or why there is none.
    async fn base_for(&self, fetcher: &Fetcher, kind: &str, value: &str) -> Result<String, String> {
        if let Some(b) = &self.cfg.base_url {
            return Ok(with_slash(b));
        }
        let services = self
            .services(fetcher, if kind == "ipv4" { "ipv4" } else { "dns" })
            .await?;
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
        urls.iter()
            .find(|u| u.starts_with("https://"))
            .or_else(|| urls.first())
            .map(|u| with_slash(u))
            .ok_or_else(|| format!("the bootstrap entry for {value} lists no URL"))
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

/// The vCard `fn` of an RDAP entity.
fn entity_name(e: &Value) -> Option<String> {
    e["vcardArray"][1].as_array()?.iter().find_map(|p| {
        (p[0].as_str() == Some("fn"))
            .then(|| p[3].as_str().map(|s| clip(s, 256)))
            .flatten()
    })
}

/// A bounded summary of an RDAP object: identity, status, events, named
/// entities by role, and the network or domain fields.
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
    let mut entities = Vec::new();
    for e in v["entities"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .take(20)
    {
        entities.push(json!({
            "handle": str_field(e, "handle"),
            "name": entity_name(e),
            "roles": e["roles"].as_array().map(|r| r.iter().take(10).cloned().collect::<Vec<_>>()).unwrap_or_default(),
        }));
    }
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
        "parent_handle": str_field(v, "parentHandle"),
        "status": status,
        "events": events,
        "entities": entities,
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
    let evidence = lookup(s, kind, &value).await;
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
    let base = match s.rdap.base_for(&s.fetcher, kind, value).await {
        Ok(b) => b,
        Err(msg) => {
            e.summary = json!({"error": msg});
            return e;
        }
    };
    let path = if kind == "ipv4" { "ip" } else { "domain" };
    let url = format!("{base}{path}/{value}");
    match s.fetcher.get_any_status(&url, ACCEPT).await {
        Ok((status, body, retry_after)) => {
            e.raw_sha256 = Some(crate::hex(&Sha256::digest(&body)));
            e.raw_excerpt = Some(
                String::from_utf8_lossy(
                    &body[..body.len().min(threatmapper_store::limits::RAW_EXCERPT)],
                )
                .into_owned(),
            );
            match status {
                200 => match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => {
                        e.status = "ok".to_owned();
                        e.confidence = 80;
                        let mut sum = summarize(&v);
                        sum["server"] = Value::String(url);
                        e.summary = sum;
                    }
                    Err(err) => {
                        e.summary = json!({"error": format!("{url}: not RDAP JSON: {err}")})
                    }
                },
                404 => {
                    e.status = "not_found".to_owned();
                    e.confidence = 60;
                    e.summary = json!({"server": url, "http_status": 404});
                }
                429 => {
                    e.status = "rate_limited".to_owned();
                    e.summary =
                        json!({"server": url, "http_status": 429, "retry_after": retry_after});
                }
                other => e.summary = json!({"server": url, "http_status": other}),
            }
        }
        Err(err) => {
            let class = err.class();
            e.summary = json!({"server": url, "error": err.to_string(), "class": class});
            if let FetchError::Status { status: 429, .. } = err {
                e.status = "rate_limited".to_owned();
            }
        }
    }
    e
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
    fn summary_is_bounded() {
        let v = json!({
            "objectClassName": "ip network", "handle": "NET-1", "startAddress": "198.51.100.0",
            "endAddress": "198.51.100.255", "country": "ZZ", "name": "x".repeat(1000),
            "events": [{"eventAction": "registration", "eventDate": "2020-01-01T00:00:00Z"}],
            "entities": [{"handle": "E1", "roles": ["registrant"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Org"]]]}],
            "status": (0..100).map(|i| format!("s{i}")).collect::<Vec<_>>(),
        });
        let s = summarize(&v);
        assert_eq!(s["entities"][0]["name"], "Example Org");
        assert_eq!(s["events"]["registration"], "2020-01-01T00:00:00Z");
        assert_eq!(s["name"].as_str().unwrap().len(), 256);
        assert_eq!(s["status"].as_array().unwrap().len(), 20);
    }
}
