//! Who is calling: local mode (one local admin) or team mode, where identity
//! comes only from `X-Auth-User` / `X-Auth-Roles` set by a trusted reverse
//! proxy. Trust is decided from the TCP peer address (never from
//! `X-Forwarded-For`), optionally with a shared secret compared in constant
//! time. Mutations need `admin` or `analyst`, a non-form content type and,
//! when the browser sends `Origin`, the same origin (CSRF). Every denial is
//! audited.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use threatmapper_store::{Actor, NewAuditEvent};

use crate::error::ApiError;
use crate::server::AppState;

/// The roles ThreatMapper knows.
pub const ROLES: [&str; 3] = ["admin", "analyst", "viewer"];

/// The caller of a request, put in the request extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Identity {
    /// User and roles (as recorded in audit events).
    pub actor: Actor,
    /// `admin` or `analyst`.
    pub can_mutate: bool,
}

impl Identity {
    /// The single local identity of local mode.
    pub fn local() -> Identity {
        Identity {
            actor: Actor::new("local", &["admin"]),
            can_mutate: true,
        }
    }
}

/// Header carrying the proxy's shared secret.
pub const PROXY_SECRET_HEADER: &str = "x-auth-proxy-secret";

fn is_mutation(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Paths that answer without identity (health, the API description, the page).
fn is_public(path: &str) -> bool {
    !path.starts_with("/api/pipeline")
}

/// POSTs that change nothing (a viewer may validate a rule).
fn is_read_only_post(path: &str) -> bool {
    path == "/api/pipeline/rules/validate"
}

/// Parse `X-Auth-Roles`: comma- or space-separated, case-insensitive.
pub fn parse_roles(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in v
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        let r = r.to_ascii_lowercase();
        if r.len() <= 64 && !out.contains(&r) && out.len() < 32 {
            out.push(r);
        }
    }
    out
}

fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_canonical())
}

/// What a denial records about the request (owned: the body is not `Sync`,
/// so the request itself is not held across the audit write).
struct RequestInfo {
    method: Method,
    path: String,
    peer: Option<IpAddr>,
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// A denial: audited, then answered.
async fn deny(
    state: &AppState,
    req: &RequestInfo,
    who: Actor,
    status: StatusCode,
    code: &'static str,
    message: String,
) -> Response {
    let peer = req.peer.map(|p| p.to_string());
    let ev = NewAuditEvent {
        actor: who,
        action: "auth.denied".to_owned(),
        target: format!("{} {}", req.method, req.path),
        outcome: "denied".to_owned(),
        details: serde_json::json!({"status": status.as_u16(), "reason": message, "peer": peer}),
    };
    if let Err(e) = state.store.record_audit(&ev).await {
        tracing::error!(error = %e, "could not audit a denied request");
    }
    tracing::warn!(peer = ?peer, path = %req.path, %message, "request denied");
    ApiError::new(status, code, message).into_response()
}

/// Identify the caller and enforce the mutation rules; see the module docs.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) {
        return next.run(req).await;
    }
    // An undeclared method on a known path goes straight to its 405.
    let declared = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .zip(state.operations.get())
        .is_none_or(|(m, ops)| {
            ops.contains(&(req.method().as_str().to_owned(), m.as_str().to_owned()))
        });
    if !declared {
        return next.run(req).await;
    }
    let info = RequestInfo {
        method: req.method().clone(),
        path: path.clone(),
        peer: peer_ip(&req),
    };
    let identity = if state.config.auth_enabled {
        match team_identity(&state, &info, req.headers()).await {
            Ok(id) => id,
            Err(resp) => return resp,
        }
    } else {
        Identity::local()
    };
    if is_mutation(req.method()) {
        if !identity.can_mutate && !is_read_only_post(&path) {
            return deny(
                &state,
                &info,
                identity.actor.clone(),
                StatusCode::FORBIDDEN,
                "forbidden",
                "this action needs the admin or analyst role".to_owned(),
            )
            .await;
        }
        if req.method() != Method::DELETE
            && let Err(msg) = check_content_type(req.headers(), &path)
        {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                msg,
            )
            .into_response();
        }
        if let Err(msg) = check_origin(req.headers(), state.config.public_origin.as_deref()) {
            return deny(
                &state,
                &info,
                identity.actor.clone(),
                StatusCode::FORBIDDEN,
                "cross_origin",
                msg,
            )
            .await;
        }
    }
    req.extensions_mut().insert(identity);
    next.run(req).await
}

async fn team_identity(
    state: &AppState,
    req: &RequestInfo,
    h: &HeaderMap,
) -> Result<Identity, Response> {
    let has_auth_headers = h.keys().any(|k| k.as_str().starts_with("x-auth-"));
    let peer = req.peer;
    let trusted =
        peer.is_some_and(|ip| state.config.trusted_proxies.iter().any(|n| n.contains(&ip)));
    let anonymous = Actor::new("anonymous", &[]);
    if !trusted {
        let msg = if has_auth_headers {
            "identity headers from an untrusted peer are refused"
        } else {
            "authentication required (through the identity-aware proxy)"
        };
        return Err(deny(
            state,
            req,
            anonymous,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            msg.to_owned(),
        )
        .await);
    }
    if let Some(secret) = &state.config.proxy_secret {
        let given = h
            .get(PROXY_SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !bool::from(given.ct_eq(secret.as_bytes())) {
            return Err(deny(
                state,
                req,
                anonymous,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the proxy secret is missing or wrong".to_owned(),
            )
            .await);
        }
    }
    let user = match header_str(h, "x-auth-user").map(str::trim) {
        Some(u) if !u.is_empty() && u.len() <= 256 && !u.chars().any(char::is_control) => {
            u.to_owned()
        }
        Some(_) => {
            return Err(deny(
                state,
                req,
                anonymous,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "X-Auth-User is malformed".to_owned(),
            )
            .await);
        }
        None => {
            let msg = if h.contains_key("x-auth-user") {
                "X-Auth-User is not valid text"
            } else {
                "X-Auth-User is missing"
            };
            return Err(deny(
                state,
                req,
                anonymous,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                msg.to_owned(),
            )
            .await);
        }
    };
    let roles = header_str(h, "x-auth-roles")
        .map(parse_roles)
        .unwrap_or_default();
    let actor = Actor {
        name: user,
        roles: roles.clone(),
    };
    if !roles.iter().any(|r| ROLES.contains(&r.as_str())) {
        return Err(deny(
            state,
            req,
            actor,
            StatusCode::FORBIDDEN,
            "forbidden",
            "no known role (admin, analyst or viewer) in X-Auth-Roles".to_owned(),
        )
        .await);
    }
    let can_mutate = roles.iter().any(|r| r == "admin" || r == "analyst");
    Ok(Identity { actor, can_mutate })
}

/// Mutations carry a type a cross-site HTML form cannot send.
fn check_content_type(h: &HeaderMap, path: &str) -> Result<(), String> {
    let ct = header_str(h, header::CONTENT_TYPE.as_str())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json =
        ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"));
    if json {
        return Ok(());
    }
    if path.starts_with("/api/pipeline/import/") {
        let document = matches!(
            ct.as_str(),
            "application/xml"
                | "text/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "text/yaml"
                | "text/x-yaml"
        ) || (ct.starts_with("application/") && ct.ends_with("+xml"));
        if document {
            return Ok(());
        }
        return Err(format!(
            "content type `{ct}` is not accepted: send application/json, an XML type (application/xml, application/rss+xml, application/atom+xml) or a YAML type (application/yaml)"
        ));
    }
    Err(format!(
        "content type `{ct}` is not accepted: send application/json"
    ))
}

/// A browser's `Origin`, when present, must be this server's.
fn check_origin(h: &HeaderMap, public_origin: Option<&str>) -> Result<(), String> {
    let Some(origin) = h.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
    if let Some(p) = public_origin
        && origin.eq_ignore_ascii_case(p.trim_end_matches('/'))
    {
        return Ok(());
    }
    let host = header_str(h, header::HOST.as_str()).unwrap_or("");
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match authority {
        Some(a) if !host.is_empty() && a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(format!("cross-origin request from `{origin}` refused")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse() {
        assert_eq!(
            parse_roles("Admin, viewer  analyst;admin"),
            ["admin", "viewer", "analyst"]
        );
        assert!(parse_roles(" , ").is_empty());
    }

    #[test]
    fn content_types_and_origins() {
        let mut h = HeaderMap::new();
        assert!(check_content_type(&h, "/api/pipeline/sources").is_err());
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(check_content_type(&h, "/api/pipeline/sources").is_ok());
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(check_content_type(&h, "/api/pipeline/import/stix").is_err());
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(check_content_type(&h, "/api/pipeline/import/stix").is_err());
        h.insert(header::CONTENT_TYPE, "application/rss+xml".parse().unwrap());
        assert!(check_content_type(&h, "/api/pipeline/import/feed").is_ok());
        assert!(check_content_type(&h, "/api/pipeline/sources").is_err());

        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h, None).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h, None).is_ok());
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(check_origin(&h, None).is_err());
        assert!(check_origin(&h, Some("https://evil.example/")).is_ok());
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(check_origin(&h, None).is_err());
    }
}
