//! Server configuration from the environment (and an optional `.env` file).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `DATABASE_URL` | `sqlite://threatmapper.db` | SQLite path/URL or `postgres://...` |
//! | `DATABASE_MAX_CONNECTIONS` | 8 (SQLite), 10 (PostgreSQL) | connection pool size |
//! | `BIND` | `127.0.0.1:8080` | listen address |
//! | `AUTH_ENABLED` | `false` | team mode: identity from the reverse proxy |
//! | `AUTH_TRUSTED_PROXIES` | `127.0.0.1/32,::1/128` | CIDRs whose `X-Auth-*` headers are believed |
//! | `AUTH_PROXY_SECRET` | unset | when set, the proxy must also send it in `X-Auth-Proxy-Secret` |
//! | `PUBLIC_ORIGIN` | unset | the browser-facing origin (`https://intel.example.org`) accepted in `Origin` besides the `Host` |
//! | `MAX_BODY_BYTES` | `67108864` (64 MiB) | largest request body |
//! | `LOG_FORMAT` | `plain` | `plain` or `json` |
//! | `SCHEDULER_ENABLED` | `true` | run due sources in the background |
//! | `SCHEDULER_TICK` | `900` (15 min) | seconds between scheduler wake-ups (`90s`, `15m`, `1h` also accepted) |
//! | `SCHEDULER_CONCURRENCY` | `4` | sources collected at once |
//! | `FETCH_TIMEOUT` | `30` | total seconds per fetch |
//! | `FETCH_CONNECT_TIMEOUT` | `10` | connect seconds |
//! | `FETCH_MAX_BYTES` | `10485760` (10 MiB) | decompressed body cap |
//! | `FETCH_ALLOW_PRIVATE_NETWORKS` | `false` | allow loopback/private destinations |
//! | `FETCH_ALLOWED_CIDRS` | unset | private ranges allowed anyway (intranet feeds) |
//! | `FETCH_PROXY` | unset | an explicit HTTP(S) proxy (system proxy variables are ignored) |
//! | `RDAP_BOOTSTRAP_URL` | `https://data.iana.org/rdap/` | base of the IANA bootstrap files `dns.json`, `ipv4.json` |
//! | `RDAP_BASE_URL` | unset | skip bootstrap: send every RDAP query to this server |
//! | `RDAP_TIMEOUT` | `10` | seconds an RDAP query may take before it is stored as `error` |
//! | `RDAP_MIN_INTERVAL_MS` | `1000` | least time between two queries to one RDAP server |
//! | `RDAP_CACHE_TTL` | `3600` | seconds an `ok`/`not_found` answer is reused (as a new evidence row marked cached) |

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL.
    pub database_url: String,
    /// Pool size (`None`: the store's default).
    pub database_max_connections: Option<u32>,
    /// Listen address.
    pub bind: SocketAddr,
    /// Team mode.
    pub auth_enabled: bool,
    /// Peers whose identity headers are trusted.
    pub trusted_proxies: Vec<IpNet>,
    /// Shared secret the proxy must also present.
    pub proxy_secret: Option<String>,
    /// Extra accepted browser origin.
    pub public_origin: Option<String>,
    /// Request body cap.
    pub max_body_bytes: usize,
    /// JSON logs.
    pub log_json: bool,
    /// Background scheduler on/off.
    pub scheduler_enabled: bool,
    /// Scheduler wake-up period.
    pub scheduler_tick: Duration,
    /// Sources collected at once.
    pub scheduler_concurrency: usize,
    /// Outbound fetch settings.
    pub fetch: FetchConfig,
    /// RDAP settings.
    pub rdap: RdapConfig,
}

/// Outbound request limits and destination policy.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Total time per request.
    pub timeout: Duration,
    /// Connect time.
    pub connect_timeout: Duration,
    /// Decompressed body cap.
    pub max_bytes: usize,
    /// Redirect hops allowed.
    pub max_redirects: usize,
    /// Allow every private/loopback destination.
    pub allow_private: bool,
    /// Private ranges allowed anyway.
    pub allowed_cidrs: Vec<IpNet>,
    /// Explicit proxy.
    pub proxy: Option<String>,
    /// User-Agent header.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_bytes: 10 << 20,
            max_redirects: 5,
            allow_private: false,
            allowed_cidrs: Vec::new(),
            proxy: None,
            user_agent: format!(
                "ThreatMapper/{} (+https://example.invalid/threatmapper)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Where RDAP queries go.
#[derive(Debug, Clone)]
pub struct RdapConfig {
    /// Base URL of the IANA bootstrap registry files.
    pub bootstrap_url: String,
    /// A fixed RDAP server (skips bootstrap).
    pub base_url: Option<String>,
    /// Time limit per query.
    pub timeout: Duration,
    /// Least time between two queries to one server.
    pub min_interval: Duration,
    /// How long an answer is reused.
    pub cache_ttl: Duration,
}

impl Default for RdapConfig {
    fn default() -> Self {
        RdapConfig {
            bootstrap_url: "https://data.iana.org/rdap/".to_owned(),
            base_url: None,
            timeout: Duration::from_secs(10),
            min_interval: Duration::from_millis(1000),
            cache_ttl: Duration::from_secs(3600),
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Parse a boolean the way people write them in `.env` files.
fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(err(var, format!("`{other}` is not a boolean (true/false)"))),
    }
}

/// Seconds, or a number with an `s`/`m`/`h` suffix.
pub fn parse_duration(var: &'static str, v: &str) -> Result<Duration, ConfigError> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last() {
        Some((i, 's')) => (&v[..i], 1),
        Some((i, 'm')) => (&v[..i], 60),
        Some((i, 'h')) => (&v[..i], 3600),
        _ => (v, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| {
        err(
            var,
            format!("`{v}` is not a duration (seconds, or 90s/15m/1h)"),
        )
    })?;
    if n == 0 {
        return Err(err(var, "must be greater than zero"));
    }
    Ok(Duration::from_secs(n.saturating_mul(mult)))
}

/// A comma-separated CIDR list (a bare address is a /32 or /128).
pub fn parse_cidrs(var: &'static str, v: &str) -> Result<Vec<IpNet>, ConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| err(var, format!("`{s}` is not a CIDR range or address")))
        })
        .collect()
}

impl Config {
    /// Read from the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read from any lookup function (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let num = |var: &'static str, default: usize| -> Result<usize, ConfigError> {
            match get(var) {
                Some(v) if !v.trim().is_empty() => v
                    .trim()
                    .parse()
                    .map_err(|_| err(var, format!("`{v}` is not a number"))),
                _ => Ok(default),
            }
        };
        let secs = |var: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(var) {
                Some(v) if !v.trim().is_empty() => parse_duration(var, &v),
                _ => Ok(Duration::from_secs(default)),
            }
        };
        let flag = |var: &'static str, default: bool| -> Result<bool, ConfigError> {
            match get(var) {
                Some(v) => parse_bool(var, &v),
                None => Ok(default),
            }
        };
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let bind: SocketAddr = bind.trim().parse().map_err(|_| {
            err(
                "BIND",
                format!("`{bind}` is not host:port (e.g. 127.0.0.1:8080)"),
            )
        })?;
        let trusted_proxies = match get("AUTH_TRUSTED_PROXIES") {
            Some(v) if !v.trim().is_empty() => parse_cidrs("AUTH_TRUSTED_PROXIES", &v)?,
            _ => parse_cidrs("AUTH_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")?,
        };
        if let Some(all) = trusted_proxies.iter().find(|n| n.prefix_len() == 0) {
            return Err(err(
                "AUTH_TRUSTED_PROXIES",
                format!(
                    "`{all}` would trust identity headers from anyone; list your proxies' addresses"
                ),
            ));
        }
        let proxy_secret = get("AUTH_PROXY_SECRET").filter(|s| !s.is_empty());
        if proxy_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(err("AUTH_PROXY_SECRET", "must be at least 16 characters"));
        }
        let log_json = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("") | Some("plain") | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(err("LOG_FORMAT", format!("`{other}` is not plain or json")));
            }
        };
        let max_body_bytes = num("MAX_BODY_BYTES", 64 << 20)?;
        if max_body_bytes < 1024 {
            return Err(err("MAX_BODY_BYTES", "must be at least 1024"));
        }
        let fetch = FetchConfig {
            timeout: secs("FETCH_TIMEOUT", 30)?,
            connect_timeout: secs("FETCH_CONNECT_TIMEOUT", 10)?,
            max_bytes: num("FETCH_MAX_BYTES", 10 << 20)?,
            allow_private: flag("FETCH_ALLOW_PRIVATE_NETWORKS", false)?,
            allowed_cidrs: match get("FETCH_ALLOWED_CIDRS") {
                Some(v) => parse_cidrs("FETCH_ALLOWED_CIDRS", &v)?,
                None => Vec::new(),
            },
            proxy: get("FETCH_PROXY").filter(|s| !s.trim().is_empty()),
            ..FetchConfig::default()
        };
        let rdap = RdapConfig {
            bootstrap_url: get("RDAP_BOOTSTRAP_URL")
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| RdapConfig::default().bootstrap_url),
            base_url: get("RDAP_BASE_URL").filter(|s| !s.trim().is_empty()),
            timeout: secs("RDAP_TIMEOUT", 10)?,
            min_interval: Duration::from_millis(num("RDAP_MIN_INTERVAL_MS", 1000)? as u64),
            cache_ttl: match get("RDAP_CACHE_TTL") {
                Some(v) if v.trim() == "0" => Duration::ZERO,
                _ => secs("RDAP_CACHE_TTL", 3600)?,
            },
        };
        Ok(Config {
            database_url: get("DATABASE_URL")
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| crate::cli::DEFAULT_DB.to_owned()),
            database_max_connections: match num("DATABASE_MAX_CONNECTIONS", 0)? {
                0 => None,
                n => Some(u32::try_from(n.min(1000)).unwrap_or(1000)),
            },
            bind,
            auth_enabled: flag("AUTH_ENABLED", false)?,
            trusted_proxies,
            proxy_secret,
            public_origin: get("PUBLIC_ORIGIN").filter(|s| !s.trim().is_empty()),
            max_body_bytes,
            log_json,
            scheduler_enabled: flag("SCHEDULER_ENABLED", true)?,
            scheduler_tick: secs("SCHEDULER_TICK", 900)?,
            scheduler_concurrency: num("SCHEDULER_CONCURRENCY", 4)?.clamp(1, 64),
            fetch,
            rdap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://threatmapper.db");
        assert!(!c.auth_enabled);
        assert_eq!(c.scheduler_tick, Duration::from_secs(900));
        assert_eq!(c.trusted_proxies.len(), 2);
        let c = cfg(&[
            ("BIND", "0.0.0.0:9000"),
            ("AUTH_ENABLED", "true"),
            ("SCHEDULER_TICK", "2m"),
            ("AUTH_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16"),
        ])
        .unwrap();
        assert_eq!(
            (c.bind.port(), c.auth_enabled, c.scheduler_tick.as_secs()),
            (9000, true, 120)
        );
        assert_eq!(c.trusted_proxies[0].to_string(), "10.0.0.5/32");
    }

    #[test]
    fn refuses_unsafe_or_malformed_values() {
        for (k, v) in [
            ("AUTH_TRUSTED_PROXIES", "0.0.0.0/0"),
            ("AUTH_TRUSTED_PROXIES", "10.0.0.1, ::/0"),
            ("AUTH_ENABLED", "maybe"),
            ("BIND", "localhost"),
            ("SCHEDULER_TICK", "0"),
            ("AUTH_PROXY_SECRET", "short"),
            ("MAX_BODY_BYTES", "lots"),
            ("LOG_FORMAT", "xml"),
        ] {
            let e = cfg(&[(k, v)]).unwrap_err();
            assert_eq!(e.var, k, "{e}");
        }
    }
}
