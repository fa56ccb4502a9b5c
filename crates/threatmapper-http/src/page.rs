//! The Pipeline page served at `/` (static, embedded in the binary).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};

use crate::server::AppState;

/// Content-Security-Policy of the page: everything from this origin only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const INDEX: &str = include_str!("../assets/index.html");

async fn index() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Html(INDEX),
    )
}

/// Routes of the page.
pub fn router() -> Router<AppState> {
    Router::new().route("/", axum::routing::get(index))
}
