//! Warninglists: known-benign values removed from extraction results.
//!
//! A warninglist holds exact values (compared after canonicalisation), domain
//! suffixes (a suffix matches itself and every subdomain; it also applies to
//! URL hosts and e-mail domains) and CIDR ranges (IPv4 and IPv6; also applied
//! to URL hosts that are addresses).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ObservableKind;
use crate::error::{Error, Result, clip};

/// A set of known-benign values.
///
/// The text form, one entry per line (`#` starts a comment):
/// ```text
/// # exact values
/// 8.8.8.8
/// d41d8cd98f00b204e9800998ecf8427e
/// # domain suffixes
/// *.microsoft.com
/// .windowsupdate.com
/// # CIDR ranges
/// 10.0.0.0/8
/// fe80::/10
/// ```
///
/// ```
/// use threatmapper_core::{ObservableKind, Warninglist};
/// let wl = Warninglist::parse("*.google.com\n192.168.0.0/16\n").unwrap();
/// assert!(wl.matches(ObservableKind::Domain, "dns.google.com"));
/// assert!(wl.matches(ObservableKind::Url, "https://google.com/x"));
/// assert!(wl.matches(ObservableKind::Ipv4, "192.168.4.20"));
/// assert!(!wl.matches(ObservableKind::Domain, "notgoogle.com"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Warninglist {
    exact: HashSet<String>,
    suffixes: HashSet<String>,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Warninglist {
    /// An empty warninglist.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the line-oriented text form. Errors name the 1-based line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut wl = Self::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let res = if let Some(s) = line.strip_prefix("*.").or_else(|| line.strip_prefix('.')) {
                wl.add_domain_suffix(s)
            } else if line.contains('/') && !line.contains("://") {
                wl.add_cidr(line)
            } else {
                wl.add_value(line);
                Ok(())
            };
            res.map_err(|e| Error::InvalidWarninglist {
                line: i + 1,
                reason: e.to_string(),
            })?;
        }
        Ok(wl)
    }

    /// Add an exact value. It is canonicalised like an extracted value (an IP
    /// address becomes a one-address range, `evil[.]com` becomes `evil.com`,
    /// `010.0.0.1` becomes `10.0.0.1`); anything else is kept lowercased.
    pub fn add_value(&mut self, value: &str) {
        let v = value.trim();
        if let Ok(ip) = v.parse::<IpAddr>() {
            // A bare address cannot fail as a CIDR.
            let _ = self.add_cidr(&ip.to_string());
            return;
        }
        for kind in [
            ObservableKind::Ipv4,
            ObservableKind::Cve,
            ObservableKind::Md5,
            ObservableKind::Sha1,
            ObservableKind::Sha256,
            ObservableKind::Url,
            ObservableKind::Email,
            ObservableKind::Domain,
        ] {
            if let Ok(c) = crate::canonical_observable(kind, v) {
                if kind == ObservableKind::Ipv4 {
                    let _ = self.add_cidr(&c);
                } else {
                    self.exact.insert(c);
                }
                return;
            }
        }
        self.exact.insert(v.to_lowercase());
    }

    /// Add a domain suffix: it matches the domain itself and all subdomains.
    pub fn add_domain_suffix(&mut self, suffix: &str) -> Result<()> {
        let raw = suffix.trim().trim_matches('.');
        let bad = || Error::InvalidObservable {
            kind: ObservableKind::Domain,
            value: clip(suffix),
            reason: "not a domain suffix",
        };
        if raw.is_empty() || raw.contains(['/', ' ', '@']) {
            return Err(bad());
        }
        // A suffix may be a bare TLD (`ru`) or a Unicode name (`bücher.de`).
        let s = idna::domain_to_ascii(raw).map_err(|_| bad())?;
        self.suffixes.insert(s);
        Ok(())
    }

    /// Add a CIDR range such as `10.0.0.0/8` or `2001:db8::/32`; a bare address
    /// is a /32 (or /128).
    pub fn add_cidr(&mut self, cidr: &str) -> Result<()> {
        let bad = |reason| Error::InvalidObservable {
            kind: ObservableKind::Ipv4,
            value: clip(cidr),
            reason,
        };
        let (addr, len) = match cidr.trim().split_once('/') {
            Some((a, l)) => (
                a,
                Some(l.parse::<u32>().map_err(|_| bad("bad prefix length"))?),
            ),
            None => (cidr.trim(), None),
        };
        match addr
            .parse::<IpAddr>()
            .map_err(|_| bad("not an IP address"))?
        {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return Err(bad("IPv4 prefix longer than 32"));
                }
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                self.v4.push((u32::from(a) & mask, mask));
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return Err(bad("IPv6 prefix longer than 128"));
                }
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                self.v6.push((u128::from(a) & mask, mask));
            }
        }
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.exact.len() + self.suffixes.len() + self.v4.len() + self.v6.len()
    }

    /// True when the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Does this canonical value of this kind match an entry?
    pub fn matches(&self, kind: ObservableKind, value: &str) -> bool {
        if self.exact.contains(value) {
            return true;
        }
        match kind {
            ObservableKind::Domain => self.domain_matches(value),
            ObservableKind::Email => value
                .rsplit_once('@')
                .is_some_and(|(_, d)| self.domain_matches(d)),
            ObservableKind::Ipv4 | ObservableKind::Ipv6 => self.ip_matches(value),
            ObservableKind::Url => {
                let host = url_host(value);
                self.domain_matches(host) || self.ip_matches(host)
            }
            _ => false,
        }
    }

    /// The domain or one of its parents is a listed suffix: one lookup per
    /// label, whatever the size of the list.
    fn domain_matches(&self, d: &str) -> bool {
        if self.suffixes.is_empty() {
            return false;
        }
        let mut rest = d;
        loop {
            if self.suffixes.contains(rest) {
                return true;
            }
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => return false,
            }
        }
    }

    fn ip_matches(&self, v: &str) -> bool {
        if let Ok(a) = v.parse::<Ipv4Addr>() {
            let a = u32::from(a);
            return self.v4.iter().any(|&(net, mask)| a & mask == net);
        }
        if let Ok(a) = v.parse::<Ipv6Addr>() {
            let a = u128::from(a);
            return self.v6.iter().any(|&(net, mask)| a & mask == net);
        }
        false
    }
}

/// The host of a canonical URL value (`scheme://host[:port]/...`), without
/// IPv6 brackets.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if let Some(r) = rest.strip_prefix('[') {
        return r.split(']').next().unwrap_or(r);
    }
    let end = rest.find([':', '/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}
