//! Health, readiness and the caller's identity.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

/// Health or readiness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// The database backend (readiness only).
    pub database: Option<String>,
    /// Server version.
    pub version: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        database: None,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The database is reachable.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, description = "Ready", body = Health),
              (status = 503, description = "Database unreachable", body = ErrorBody)))]
pub async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(3), s.store.ping()).await;
    match ping {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ready".to_owned(),
            database: Some(format!("{:?}", s.store.backend()).to_lowercase()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })),
        Ok(Err(e)) => Err(ApiError::from(e)),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database did not answer within 3 s",
        )),
    }
}

/// The caller as the server sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User name.
    pub user: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether mutations are allowed.
    pub can_mutate: bool,
    /// Team mode on.
    pub auth_enabled: bool,
}

/// Who am I.
#[utoipa::path(get, path = "/api/pipeline/me", tag = "system",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, Extension(id): Extension<Identity>) -> Json<Me> {
    Json(Me {
        user: id.actor.name,
        roles: id.actor.roles,
        can_mutate: id.can_mutate,
        auth_enabled: s.config.auth_enabled,
    })
}
