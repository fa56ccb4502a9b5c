//! Observables: search, manual additions, detail and enrichment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use threatmapper_core::ObservableKind;
use threatmapper_store::{
    Enrichment, Observable, ObservableDetail, ObservablePage, ObservableQuery,
};

use super::extract::{ApiJson, ApiPath, ApiQuery, check_limit, cursor_param};
use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

fn kind_param(field: &str, v: &str) -> Result<ObservableKind, ApiError> {
    v.parse::<ObservableKind>().map_err(|_| {
        ApiError::invalid(
            field,
            format!("`{v}` is not one of cve, ipv4, domain, md5, sha256, url, email, sha1, ipv6"),
        )
    })
}

/// Observable filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObservableParams {
    /// Only this kind.
    #[param(pattern = "^(|cve|ipv4|domain|md5|sha256|url|email|sha1|ipv6)$")]
    pub kind: Option<String>,
    /// Value starts with (case-insensitive).
    pub q: Option<String>,
    /// Only manual (`true`) or only extracted (`false`).
    pub manual: Option<bool>,
    /// Page size, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^([1-9][0-9]{0,17})?$")]
    pub cursor: Option<String>,
}

/// List or search observables, newest first.
#[utoipa::path(get, path = "/api/pipeline/observables", tag = "observables", params(ObservableParams),
    responses((status = 200, body = ObservablePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_observables(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<ObservableParams>,
) -> ApiResult<Json<ObservablePage>> {
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(kind_param("kind", k)?),
    };
    let cursor = cursor_param(p.cursor.as_deref())?;
    check_limit(p.limit, 500)?;
    let q = ObservableQuery {
        kind,
        value_prefix: p.q,
        manual: p.manual,
        limit: p.limit,
        cursor,
    };
    Ok(Json(s.store.observables(&q).await?))
}

/// A manual observable.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObservable {
    /// `cve`, `ipv4`, `domain`, `md5`, `sha256`, `url`, `email`, `sha1` or `ipv6`.
    #[schema(pattern = "^(cve|ipv4|domain|md5|sha256|url|email|sha1|ipv6)$")]
    pub kind: String,
    /// The value (defanged forms accepted; stored canonical).
    pub value: String,
    /// Analyst note.
    #[serde(default)]
    pub note: Option<String>,
    /// Link it to this report.
    #[serde(default)]
    pub report_id: Option<i64>,
}

/// The stored manual observable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddedObservable {
    /// The observable (canonical value).
    pub observable: Observable,
    /// False when it was already known.
    pub created: bool,
}

/// Add an observable by hand (validated and canonicalized).
#[utoipa::path(post, path = "/api/pipeline/observables", tag = "observables", request_body = NewObservable,
    responses((status = 201, body = AddedObservable), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, description = "Invalid value", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_observable(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(body): ApiJson<NewObservable>,
) -> ApiResult<(StatusCode, Json<AddedObservable>)> {
    let kind = kind_param("kind", &body.kind)?;
    let (observable, created) = s
        .store
        .add_manual_observable(
            kind,
            &body.value,
            body.note.as_deref(),
            body.report_id,
            &id.actor,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedObservable {
            observable,
            created,
        }),
    ))
}

/// An observable with its reports and enrichment history.
#[utoipa::path(get, path = "/api/pipeline/observables/{id}", tag = "observables",
    params(("id" = i64, Path, description = "Observable id")),
    responses((status = 200, body = ObservableDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_observable(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ObservableDetail>> {
    match s.store.observable(id).await? {
        Some(o) => Ok(Json(o)),
        None => Err(ApiError::not_found("observable", id)),
    }
}

/// Enrich an IPv4 or domain observable from public RDAP; the result is stored
/// as evidence (status `ok`, `not_found`, `error` or `rate_limited`).
#[utoipa::path(post, path = "/api/pipeline/observables/{id}/enrich", tag = "observables",
    params(("id" = i64, Path, description = "Observable id")),
    request_body(content = Object, content_type = "application/json", description = "`{}` (mutations carry a JSON content type)"),
    responses((status = 201, description = "The stored evidence (also for provider errors)", body = Enrichment),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, description = "Kind not enrichable", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn enrich_observable(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(oid): ApiPath<i64>,
    ApiJson(_): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<(StatusCode, Json<Enrichment>)> {
    let e = crate::rdap::enrich(&s, oid, &id.actor).await?;
    Ok((StatusCode::CREATED, Json(e)))
}
