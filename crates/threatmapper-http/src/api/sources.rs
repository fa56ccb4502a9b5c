//! Collection sources and their runs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use threatmapper_store::{CollectionRun, NewSource, Source, SourceUpdate};

use super::extract::{ApiJson, ApiPath, ApiQuery, check_limit};
use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

/// Every source.
#[utoipa::path(get, path = "/api/pipeline/sources", tag = "sources",
    responses((status = 200, body = Vec<Source>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn list_sources(State(s): State<AppState>) -> ApiResult<Json<Vec<Source>>> {
    Ok(Json(s.store.sources().await?))
}

/// Create a source. The URL must be http(s) and (unless private networks are
/// allowed) must not point at a loopback, private, link-local or metadata
/// address.
#[utoipa::path(post, path = "/api/pipeline/sources", tag = "sources", request_body = NewSource,
    responses((status = 201, body = Source), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "URL already a source", body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, description = "Invalid or blocked URL, interval < 1", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn create_source(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(body): ApiJson<NewSource>,
) -> ApiResult<(StatusCode, Json<Source>)> {
    s.fetcher
        .check_destination(&body.url)
        .await
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_source(&body, &id.actor).await?),
    ))
}

/// One source.
#[utoipa::path(get, path = "/api/pipeline/sources/{id}", tag = "sources",
    params(("id" = i64, Path, description = "Source id")),
    responses((status = 200, body = Source), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_source(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Source>> {
    match s.store.source(id).await? {
        Some(src) => Ok(Json(src)),
        None => Err(ApiError::not_found("source", id)),
    }
}

/// Change a source (absent fields stay).
#[utoipa::path(patch, path = "/api/pipeline/sources/{id}", tag = "sources",
    params(("id" = i64, Path, description = "Source id")), request_body = SourceUpdate,
    responses((status = 200, body = Source), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_source(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(sid): ApiPath<i64>,
    ApiJson(body): ApiJson<SourceUpdate>,
) -> ApiResult<Json<Source>> {
    if let Some(url) = &body.url {
        s.fetcher
            .check_destination(url)
            .await
            .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    }
    Ok(Json(s.store.update_source(sid, &body, &id.actor).await?))
}

/// Delete a source and its runs (its reports stay).
#[utoipa::path(delete, path = "/api/pipeline/sources/{id}", tag = "sources",
    params(("id" = i64, Path, description = "Source id")),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_source(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(sid): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_source(sid, &id.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a source now (due or not) and answer the recorded run.
#[utoipa::path(post, path = "/api/pipeline/sources/{id}/run", tag = "sources",
    params(("id" = i64, Path, description = "Source id")),
    request_body(content = Object, content_type = "application/json", description = "`{}` (mutations carry a JSON content type)"),
    responses((status = 200, description = "The run (its `status` says whether the fetch worked)", body = CollectionRun),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Being collected by another worker", body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn run_source(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(sid): ApiPath<i64>,
    ApiJson(_): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<CollectionRun>> {
    Ok(Json(
        crate::collect::run_now(&s.collector(), sid, &id.actor).await?,
    ))
}

/// Run listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// At most this many, 1..=1000 (default 20).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Runs of a source, newest first.
#[utoipa::path(get, path = "/api/pipeline/sources/{id}/runs", tag = "sources",
    params(("id" = i64, Path, description = "Source id"), RunParams),
    responses((status = 200, body = Vec<CollectionRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_runs(
    State(s): State<AppState>,
    ApiPath(sid): ApiPath<i64>,
    ApiQuery(p): ApiQuery<RunParams>,
) -> ApiResult<Json<Vec<CollectionRun>>> {
    check_limit(p.limit, 1000)?;
    if s.store.source(sid).await?.is_none() {
        return Err(ApiError::not_found("source", sid));
    }
    Ok(Json(s.store.runs(sid, p.limit.unwrap_or(20)).await?))
}
