//! The audit trail.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use threatmapper_store::{AuditPage, AuditQuery, AuditVerification};

use super::extract::{ApiQuery, check_limit, cursor_param, time_param};
use crate::error::{ApiResult, ErrorBody};
use crate::server::AppState;

/// Audit filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this (`import.`, `source.`, `auth.denied`).
    pub action: Option<String>,
    /// Only this target (`report:12`).
    pub target: Option<String>,
    /// Only this outcome (`ok`, `denied`, `error`).
    pub outcome: Option<String>,
    /// From (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// Until, exclusive.
    pub to: Option<String>,
    /// Cursor from the previous page.
    #[param(pattern = "^([1-9][0-9]{0,17})?$")]
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// List audit events, newest first.
#[utoipa::path(get, path = "/api/pipeline/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_audit(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let cursor = cursor_param(p.cursor.as_deref())?;
    check_limit(p.limit, 1000)?;
    let q = AuditQuery {
        actor: p.actor,
        action_prefix: p.action,
        target: p.target,
        outcome: p.outcome,
        from: time_param("from", p.from.as_deref())?,
        to: time_param("to", p.to.as_deref())?,
        cursor,
        limit: p.limit,
    };
    Ok(Json(s.store.audit(&q).await?))
}

/// Recompute the hash chain.
#[utoipa::path(get, path = "/api/pipeline/audit/verify", tag = "audit",
    responses((status = 200, description = "The verification result (`ok` false when broken)", body = AuditVerification),
              (status = 401, body = ErrorBody)))]
pub async fn verify_audit(State(s): State<AppState>) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(s.store.verify_audit_chain().await?))
}
