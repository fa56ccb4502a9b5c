//! The intake queue, report detail and review.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use threatmapper_core::Origin;
use threatmapper_store::{Activity, IntakePage, IntakeQuery, IntakeStatus, Report, ReportDetail};

use super::extract::{ApiJson, ApiPath, ApiQuery, check_limit, cursor_param, time_param};
use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

/// Intake filters and paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntakeParams {
    /// `pending`, `accepted` or `rejected`.
    #[param(pattern = "^(|pending|accepted|rejected)$")]
    pub status: Option<String>,
    /// `feed`, `stix`, `misp`, `atlas` or `manual`.
    #[param(pattern = "^(|feed|stix|misp|atlas|manual)$")]
    pub origin: Option<String>,
    /// Only reports collected from this source.
    pub source_id: Option<i64>,
    /// Published at or after (RFC 3339 or YYYY-MM-DD).
    pub published_from: Option<String>,
    /// Published before.
    pub published_to: Option<String>,
    /// Collected at or after.
    pub collected_from: Option<String>,
    /// Collected before.
    pub collected_to: Option<String>,
    /// Title contains (case-insensitive).
    pub q: Option<String>,
    /// Page size, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^([1-9][0-9]{0,17})?$")]
    pub cursor: Option<String>,
}

/// The intake queue, newest first, with the total matching the filter.
#[utoipa::path(get, path = "/api/pipeline/intake", tag = "intake", params(IntakeParams),
    responses((status = 200, body = IntakePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn intake(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<IntakeParams>,
) -> ApiResult<Json<IntakePage>> {
    let status = match p.status.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(IntakeStatus::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: `{v}` is not pending, accepted or rejected"
            ))
        })?),
    };
    let origin = match p.origin.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(Origin::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "origin: `{v}` is not feed, stix, misp, atlas or manual"
            ))
        })?),
    };
    check_limit(p.limit, 500)?;
    cursor_param(p.cursor.as_deref())?;
    let q = IntakeQuery {
        status,
        origin,
        source_id: p.source_id,
        published_from: time_param("published_from", p.published_from.as_deref())?,
        published_to: time_param("published_to", p.published_to.as_deref())?,
        collected_from: time_param("collected_from", p.collected_from.as_deref())?,
        collected_to: time_param("collected_to", p.collected_to.as_deref())?,
        text: p.q,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.store.intake(&q).await?))
}

/// A report with its content, observables (with spans), enrichments and rules.
#[utoipa::path(get, path = "/api/pipeline/reports/{id}", tag = "intake",
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = ReportDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_report(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ReportDetail>> {
    match s.store.report(id).await? {
        Some(r) => Ok(Json(r)),
        None => Err(ApiError::not_found("report", id)),
    }
}

/// A review decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `accepted` or `rejected`.
    #[schema(pattern = "^(accepted|rejected|pending)$")]
    pub status: String,
    /// Why (required to reject).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Accept or reject a pending report.
#[utoipa::path(post, path = "/api/pipeline/reports/{id}/review", tag = "intake",
    params(("id" = i64, Path, description = "Report id")),
    request_body = ReviewRequest,
    responses((status = 200, description = "The reviewed report", body = Report),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Not pending", body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, description = "Bad status or missing reason", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn review_report(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(report): ApiPath<i64>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> ApiResult<Json<Report>> {
    let to = match body.status.as_str() {
        "accepted" => IntakeStatus::Accepted,
        "rejected" => IntakeStatus::Rejected,
        "pending" => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                "a report cannot be returned to pending",
            ));
        }
        other => {
            return Err(ApiError::invalid(
                "status",
                format!("`{other}` is not accepted or rejected"),
            ));
        }
    };
    Ok(Json(
        s.store
            .review(report, to, body.reason.as_deref(), &id.actor)
            .await?,
    ))
}

/// Activity window.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Days back, 1..=366 (default 30).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
}

/// Reports collected per day by origin, and intake status counts.
#[utoipa::path(get, path = "/api/pipeline/activity", tag = "intake", params(ActivityParams),
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn activity(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<ActivityParams>,
) -> ApiResult<Json<Activity>> {
    let days = p.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::bad_request("days: must be between 1 and 366"));
    }
    Ok(Json(s.store.activity(chrono::Utc::now(), days).await?))
}
