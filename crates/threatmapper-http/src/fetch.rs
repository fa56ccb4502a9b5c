//! The one outbound HTTP client: limits, conditional GET and an SSRF guard.
//!
//! Every destination is checked on the addresses actually used to connect:
//! the client's DNS resolver drops loopback, private, link-local, CGNAT,
//! multicast, reserved, documentation and cloud-metadata addresses (and IPv6
//! forms embedding them: IPv4-mapped, NAT64, 6to4), so a DNS answer that
//! changes between the check and the connection cannot slip through. IP
//! literals are checked before the request. Redirects are followed by hand,
//! at most `max_redirects` hops, each hop re-checked. Bodies are counted after
//! decompression and cut at `max_bytes`. System proxy variables are ignored
//! unless `FETCH_PROXY` is set (then the proxy resolves names, and only IP
//! literals are checked here). Requests carry only the headers set below:
//! never the caller's `X-Auth-*` identity.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::config::FetchConfig;

/// Why a fetch failed, by class (shown on collection runs).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not fetchable (scheme, host, syntax).
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The destination is on a refused network.
    #[error("blocked destination: {0}")]
    Blocked(String),
    /// The name did not resolve.
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    /// No connection.
    #[error("connection failed: {0}")]
    Connect(String),
    /// Too slow.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A non-success status.
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, when given.
        retry_after: Option<String>,
    },
    /// Body over the cap.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// Too many redirects or a redirect without a usable Location.
    #[error("redirect: {0}")]
    Redirect(String),
    /// Anything else while talking HTTP.
    #[error("HTTP error: {0}")]
    Other(String),
}

impl FetchError {
    /// The run status class: `invalid_url`, `blocked`, `dns`, `connect`,
    /// `timeout`, `http_status`, `too_large`, `redirect` or `http`.
    pub fn class(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "invalid_url",
            FetchError::Blocked(_) => "blocked",
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Timeout(_) => "timeout",
            FetchError::Status { .. } => "http_status",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Redirect(_) => "redirect",
            FetchError::Other(_) => "http",
        }
    }
}

/// Conditional-GET validators.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// Last ETag.
    pub etag: Option<String>,
    /// Last Last-Modified.
    pub last_modified: Option<String>,
}

/// A fetched response.
#[derive(Debug)]
pub struct Fetched {
    /// Final URL after redirects.
    pub url: String,
    /// Status (200 or 304).
    pub status: u16,
    /// The body (empty for 304).
    pub body: Vec<u8>,
    /// New validators.
    pub validators: Validators,
    /// `Content-Type`.
    pub content_type: Option<String>,
}

/// Is this address one ThreatMapper refuses to fetch from by default?
pub fn is_blocked_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_blocked_v4(v4),
        IpAddr::V6(v6) => is_blocked_v6(v6),
    }
}

/// Cloud instance-metadata addresses (AWS/GCP/Azure/OpenStack
/// 169.254.169.254 and .253, AWS IPv6 fd00:ec2::254, Alibaba 100.100.100.200),
/// also in their IPv4-mapped forms.
pub fn is_metadata_ip(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            matches!(
                v4.octets(),
                [169, 254, 169, 254] | [169, 254, 169, 253] | [100, 100, 100, 200]
            )
        }
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    }
}

fn is_blocked_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, incl. 169.254.169.254 metadata
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240 // reserved
}

fn is_blocked_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_blocked_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96 and local-use 64:ff9b:1::/48.
    if s[0] == 0x64 && s[1] == 0xff9b {
        if s[2..6] == [0, 0, 0, 0] {
            let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            return is_blocked_v4(v4);
        }
        return true;
    }
    // 6to4 2002::/16 embeds an IPv4 address.
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_blocked_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments, incl. Teredo
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard 100::/64
        || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated) ::a.b.c.d
}

/// The destination policy.
#[derive(Debug, Clone)]
pub struct Policy {
    allow_private: bool,
    allowed: Vec<IpNet>,
}

impl Policy {
    /// From the fetch settings.
    pub fn new(cfg: &FetchConfig) -> Policy {
        Policy {
            allow_private: cfg.allow_private,
            allowed: cfg.allowed_cidrs.clone(),
        }
    }

    /// Whether connecting to `ip` is allowed. Cloud metadata endpoints stay
    /// refused even with `FETCH_ALLOW_PRIVATE_NETWORKS`, unless listed in
    /// `FETCH_ALLOWED_CIDRS`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        if is_metadata_ip(ip) {
            return false;
        }
        self.allow_private || !is_blocked_ip(ip)
    }
}

/// Marker error from the resolver, found again in reqwest's error chain.
#[derive(Debug)]
struct BlockedByPolicy(String);

impl std::fmt::Display for BlockedByPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BlockedByPolicy {}

/// Marker error for a failed lookup.
#[derive(Debug)]
struct LookupFailed(String);

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LookupFailed {}

/// Resolves with the system resolver, then keeps only allowed addresses.
struct GuardedResolver {
    policy: Policy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(a) => a.collect(),
                Err(e) => {
                    return Err(Box::new(LookupFailed(format!("{host}: {e}")))
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(BlockedByPolicy(format!(
                    "{host} resolves only to refused addresses ({})",
                    list.join(", ")
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guarded client.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
    cfg: FetchConfig,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Fetcher {
    /// Build the client from the fetch settings.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        let policy = Policy::new(cfg);
        let mut b = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .no_proxy();
        if let Some(p) = &cfg.proxy {
            let proxy = reqwest::Proxy::all(p)
                .map_err(|e| FetchError::InvalidUrl(format!("FETCH_PROXY: {e}")))?;
            b = b.proxy(proxy);
        }
        let client = b.build().map_err(|e| FetchError::Other(e.to_string()))?;
        Ok(Fetcher {
            client,
            policy,
            cfg: cfg.clone(),
        })
    }

    /// Parse and check a URL without fetching: scheme, host, and — for IP
    /// literals and names that resolve — the destination policy. A name that
    /// does not resolve now is accepted (its runs will say `dns`).
    pub async fn check_destination(&self, url: &str) -> Result<(), FetchError> {
        let u = self.check_url(url)?;
        if let Some(url::Host::Domain(d)) = u.host()
            && self.cfg.proxy.is_none()
        {
            let port = u.port_or_known_default().unwrap_or(443);
            if let Ok(addrs) = tokio::net::lookup_host((d, port)).await {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if !addrs.is_empty() && !addrs.iter().any(|a| self.policy.allows(a.ip())) {
                    return Err(FetchError::Blocked(format!(
                        "{d} resolves to a private or reserved address"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Scheme, host and IP-literal checks.
    fn check_url(&self, url: &str) -> Result<url::Url, FetchError> {
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(FetchError::InvalidUrl(
                "contains whitespace or control characters".into(),
            ));
        }
        let u = url::Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(FetchError::InvalidUrl(format!(
                "{url}: only http and https are fetched"
            )));
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(FetchError::InvalidUrl(
                "credentials in URLs are not sent".into(),
            ));
        }
        let ip = match u.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            Some(url::Host::Domain(d)) if !d.is_empty() => None,
            _ => return Err(FetchError::InvalidUrl(format!("{url}: no host"))),
        };
        if let Some(ip) = ip
            && !self.policy.allows(ip)
        {
            return Err(FetchError::Blocked(format!(
                "{ip} is a private, loopback, link-local or reserved address"
            )));
        }
        Ok(u)
    }

    /// GET a URL with the limits, following redirects by hand. `accept` is
    /// the Accept header; `validators` make it conditional.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        self.get_within(url, accept, validators, None).await
    }

    /// [`Fetcher::get`] with a total time limit shorter than the client's.
    pub async fn get_within(
        &self,
        url: &str,
        accept: &str,
        validators: &Validators,
        limit: Option<std::time::Duration>,
    ) -> Result<Fetched, FetchError> {
        match limit {
            None => self.get_inner(url, accept, validators).await,
            Some(d) => tokio::time::timeout(d, self.get_inner(url, accept, validators))
                .await
                .unwrap_or_else(|_| {
                    Err(FetchError::Timeout(format!(
                        "{url}: no answer within {} ms",
                        d.as_millis()
                    )))
                }),
        }
    }

    async fn get_inner(
        &self,
        url: &str,
        accept: &str,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut current = self.check_url(url)?;
        for hop in 0..=self.cfg.max_redirects {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(accept) {
                headers.insert(header::ACCEPT, v);
            }
            if let Some(e) = validators
                .etag
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(header::IF_NONE_MATCH, e);
            }
            if let Some(m) = validators
                .last_modified
                .as_deref()
                .and_then(|m| HeaderValue::from_str(m).ok())
            {
                headers.insert(header::IF_MODIFIED_SINCE, m);
            }
            let resp = self
                .client
                .get(current.clone())
                .headers(headers)
                .send()
                .await
                .map_err(classify)?;
            let status = resp.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let loc = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Redirect(format!("{status} without a Location")))?;
                let next = current
                    .join(loc)
                    .map_err(|e| FetchError::Redirect(format!("bad Location `{loc}`: {e}")))?;
                if hop == self.cfg.max_redirects {
                    return Err(FetchError::Redirect(format!(
                        "more than {} redirects",
                        self.cfg.max_redirects
                    )));
                }
                current = self.check_url(next.as_str())?;
                continue;
            }
            let header_string = |h: header::HeaderName| {
                resp.headers()
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let new_validators = Validators {
                etag: header_string(header::ETAG),
                last_modified: header_string(header::LAST_MODIFIED),
            };
            let content_type = header_string(header::CONTENT_TYPE);
            if status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(Fetched {
                    url: current.to_string(),
                    status: 304,
                    body: Vec::new(),
                    validators: new_validators,
                    content_type,
                });
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after: header_string(header::RETRY_AFTER),
                });
            }
            if resp
                .content_length()
                .is_some_and(|n| n > self.cfg.max_bytes as u64)
            {
                return Err(FetchError::TooLarge(self.cfg.max_bytes));
            }
            let body = read_capped(resp, self.cfg.max_bytes).await?;
            return Ok(Fetched {
                url: current.to_string(),
                status: status.as_u16(),
                body,
                validators: new_validators,
                content_type,
            });
        }
        Err(FetchError::Redirect(format!(
            "more than {} redirects",
            self.cfg.max_redirects
        )))
    }

    /// GET and return the body whatever the status (RDAP reads 404/429 bodies).
    pub async fn get_any_status(
        &self,
        url: &str,
        accept: &str,
        limit: Option<std::time::Duration>,
    ) -> Result<(u16, Vec<u8>, Option<String>), FetchError> {
        match self
            .get_within(url, accept, &Validators::default(), limit)
            .await
        {
            Ok(f) => Ok((f.status, f.body, None)),
            Err(FetchError::Status {
                status,
                retry_after,
            }) => Ok((status, Vec::new(), retry_after)),
            Err(e) => Err(e),
        }
    }
}

/// Read the (decompressed) body, failing once it passes `max` bytes.
async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Map a reqwest error to its class, looking for the resolver's markers.
fn classify(e: reqwest::Error) -> FetchError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        if let Some(b) = s.downcast_ref::<BlockedByPolicy>() {
            return FetchError::Blocked(b.0.clone());
        }
        if let Some(l) = s.downcast_ref::<LookupFailed>() {
            return FetchError::Dns(l.0.clone());
        }
        src = s.source();
    }
    let msg = full_message(&e);
    if e.is_timeout() {
        FetchError::Timeout(msg)
    } else if e.is_connect() {
        FetchError::Connect(msg)
    } else {
        FetchError::Other(msg)
    }
}

fn full_message(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocked_ranges() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
        ] {
            assert!(is_blocked_ip(ip(a)), "{a} should be blocked");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_blocked_ip(ip(a)), "{a} should be allowed");
        }
    }

    #[test]
    fn policy_allowlist() {
        let mut cfg = FetchConfig::default();
        assert!(!Policy::new(&cfg).allows(ip("10.0.0.5")));
        cfg.allowed_cidrs = vec!["10.0.0.0/24".parse().unwrap()];
        assert!(Policy::new(&cfg).allows(ip("10.0.0.5")));
        assert!(!Policy::new(&cfg).allows(ip("10.0.1.5")));
        assert!(
            Policy::new(&cfg).allows(ip("::ffff:10.0.0.5")),
            "mapped form of an allowed address"
        );
        cfg.allow_private = true;
        assert!(Policy::new(&cfg).allows(ip("127.0.0.1")));
        assert!(
            !Policy::new(&cfg).allows(ip("169.254.169.254")),
            "metadata stays refused"
        );
        assert!(!Policy::new(&cfg).allows(ip("::ffff:169.254.169.254")));
        cfg.allowed_cidrs
            .push("169.254.169.254/32".parse().unwrap());
        assert!(
            Policy::new(&cfg).allows(ip("169.254.169.254")),
            "unless listed"
        );
    }

    #[tokio::test]
    async fn url_literals_are_checked() {
        let f = Fetcher::new(&FetchConfig::default()).unwrap();
        for u in [
            "http://127.0.0.1/feed",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:10.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
        ] {
            let e = f.check_destination(u).await.unwrap_err();
            assert_eq!(e.class(), "blocked", "{u}: {e}");
        }
        for u in [
            "ftp://example.com/",
            "http://user:pw@example.com/",
            "https://example.com/\r\nX-Auth-User: x",
            "not a url",
        ] {
            assert_eq!(
                f.check_destination(u).await.unwrap_err().class(),
                "invalid_url",
                "{u}"
            );
        }
        let e = f
            .get("http://localhost:9/", "*/*", &Validators::default())
            .await
            .unwrap_err();
        assert_eq!(e.class(), "blocked", "a name resolving to loopback: {e}");
    }
}
