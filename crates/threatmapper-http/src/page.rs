//! The Pipeline page: one static HTML page, its script and stylesheet,
//! embedded in the binary and served at `/` and `/assets/*`. The page holds
//! no data; it calls the API with the caller's identity (the proxy adds it in
//! team mode), and the server stays the authority for every permission.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

use crate::server::AppState;

/// Content-Security-Policy of the page: everything from this origin only,
/// no inline script or style.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        body,
    )
}

/// Routes of the page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            axum::routing::get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/assets/app.js",
            axum::routing::get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/assets/app.css",
            axum::routing::get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}
