//! Extractors whose rejections answer in the API's error shape.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: 400 for malformed JSON (with line and column), 422 for JSON
/// of the wrong shape, 413 over the body limit, 415 without a JSON type.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    let text = e.body_text();
    match e {
        JsonRejection::JsonDataError(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", text)
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(text),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonRejection::BytesRejection(b) => bytes_rejection(b),
        _ => ApiError::bad_request(text),
    }
}

fn bytes_rejection(b: BytesRejection) -> ApiError {
    if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than MAX_BODY_BYTES",
        )
    } else {
        ApiError::bad_request(format!("cannot read the request body: {}", b.body_text()))
    }
}

/// The raw request body (an import document), limited like every body.
#[derive(Debug)]
pub struct RawBody(pub bytes::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        bytes::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(bytes_rejection)
    }
}

/// Query parameters: 400 naming the bad parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

/// A path parameter: 400 when it does not parse (e.g. an id that is not a number).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request(e.body_text()))
    }
}

/// Parse an optional RFC 3339 query value.
pub fn time_param(
    name: &str,
    v: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&chrono::Utc)))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
            })
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{name}: `{s}` is not an RFC 3339 time or YYYY-MM-DD date"
                ))
                .with_details(serde_json::json!({"field": name}))
            }),
    }
}

/// `limit`, when given, must be within `1..=max`.
pub fn check_limit(limit: Option<u32>, max: u32) -> Result<(), ApiError> {
    match limit {
        Some(l) if l == 0 || l > max => Err(ApiError::bad_request(format!(
            "limit: must be between 1 and {max}"
        ))),
        _ => Ok(()),
    }
}

/// A keyset cursor from a previous page: a positive id (absent or empty:
/// the first page).
pub fn cursor_param(c: Option<&str>) -> Result<Option<i64>, ApiError> {
    match c.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("cursor: not a cursor from a previous page")),
    }
}
