//! `POST /api/pipeline/import/{stix,misp,atlas,feed}`: parse the exported
//! document in the core, ingest the drafts in one transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use threatmapper_core::{ImportResult, Rejected};
use threatmapper_store::{IngestContext, SuppressedReport};

use super::extract::RawBody;
use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

/// What an import stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResponse {
    /// Newly stored reports (all pending).
    pub reports: usize,
    /// Drafts suppressed as duplicates of known reports.
    pub suppressed: usize,
    /// Observables stored for the first time.
    pub observables_new: usize,
    /// Observables already known.
    pub observables_existing: usize,
    /// Objects/attributes of kinds ThreatMapper does not import.
    pub unsupported: usize,
    /// Objects refused (listed in `rejections`).
    pub rejected: usize,
    /// Where and why objects were refused.
    pub rejections: Vec<Rejection>,
    /// Parser warnings.
    pub warnings: Vec<String>,
    /// Ids of the new reports.
    pub report_ids: Vec<i64>,
    /// The suppressed drafts.
    pub suppressed_reports: Vec<SuppressedReport>,
    /// ATLAS only: tactics and techniques in the catalogue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub techniques: Option<usize>,
}

/// An object refused by the importer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    /// JSON path or position.
    pub location: String,
    /// Why.
    pub reason: String,
}

impl From<&Rejected> for Rejection {
    fn from(r: &Rejected) -> Self {
        Rejection {
            location: r.location.clone(),
            reason: r.reason.clone(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Stix,
    Misp,
    Atlas,
    Feed,
}

/// Map a core parse error: malformed syntax (with a line) is 400, a
/// well-formed document of the wrong shape is 422.
fn parse_error(e: threatmapper_core::Error) -> ApiError {
    match &e {
        threatmapper_core::Error::Format {
            location, format, ..
        } => {
            // A position in the text means the document did not parse; a
            // document that parsed but is the wrong kind is unprocessable.
            let syntax = location.starts_with("line") || location.starts_with("byte");
            let status = if syntax {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let code = if syntax { "bad_request" } else { "invalid" };
            ApiError::new(status, code, e.to_string())
                .with_details(serde_json::json!({"format": format, "location": location}))
        }
        _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()),
    }
}

async fn import(
    state: AppState,
    identity: Identity,
    kind: Kind,
    body: bytes::Bytes,
) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty: send the exported document",
        ));
    }
    let parsed = tokio::task::spawn_blocking(
        move || -> Result<(ImportResult, Option<usize>), threatmapper_core::Error> {
            match kind {
                Kind::Stix => threatmapper_core::stix::parse(&body).map(|r| (r, None)),
                Kind::Misp => threatmapper_core::misp::parse(&body).map(|r| (r, None)),
                Kind::Feed => threatmapper_core::feed::parse(&body, None).map(|r| (r, None)),
                Kind::Atlas => threatmapper_core::atlas::parse(&body).map(|a| {
                    let n = a.catalogue.techniques.len();
                    (a.result, Some(n))
                }),
            }
        },
    )
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("parser task failed: {e}"),
        )
    })?;
    let (result, techniques) = parsed.map_err(parse_error)?;
    let action = match kind {
        Kind::Stix => "import.stix",
        Kind::Misp => "import.misp",
        Kind::Atlas => "import.atlas",
        Kind::Feed => "import.feed",
    };
    let ctx = IngestContext::new(identity.actor, action);
    let o = state.store.ingest(&result.drafts, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(ImportResponse {
            reports: o.reports,
            suppressed: o.suppressed,
            observables_new: o.observables_new,
            observables_existing: o.observables_existing,
            unsupported: result.unsupported,
            rejected: result.rejected.len(),
            rejections: result.rejected.iter().map(Rejection::from).collect(),
            warnings: result.warnings,
            report_ids: o.report_ids,
            suppressed_reports: o.suppressed_reports,
            techniques,
        }),
    ))
}

/// Import a STIX 2.1 bundle or TAXII 2.1 envelope.
#[utoipa::path(post, path = "/api/pipeline/import/stix", tag = "imports",
    request_body(content = Object, content_type = "application/json", description = "A STIX 2.1 bundle or TAXII envelope"),
    responses((status = 201, body = ImportResponse),
              (status = 400, description = "Malformed JSON (located)", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, description = "Not a bundle (located)", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn import_stix(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    RawBody(b): RawBody,
) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    import(s, id, Kind::Stix, b).await
}

/// Import a MISP event (`{"Event": ...}`, `{"response": [...]}` or a bare event).
#[utoipa::path(post, path = "/api/pipeline/import/misp", tag = "imports",
    request_body(content = Object, content_type = "application/json", description = "MISP event JSON"),
    responses((status = 201, body = ImportResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn import_misp(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    RawBody(b): RawBody,
) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    import(s, id, Kind::Misp, b).await
}

/// Import MITRE ATLAS data (ATLAS.yaml, its JSON form, or the ATLAS STIX bundle).
#[utoipa::path(post, path = "/api/pipeline/import/atlas", tag = "imports",
    request_body(content = String, content_type = "application/yaml", description = "ATLAS.yaml (or JSON)"),
    responses((status = 201, body = ImportResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn import_atlas(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    RawBody(b): RawBody,
) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    import(s, id, Kind::Atlas, b).await
}

/// Import one RSS, Atom or JSON Feed document.
#[utoipa::path(post, path = "/api/pipeline/import/feed", tag = "imports",
    request_body(content = String, content_type = "application/rss+xml", description = "RSS/Atom XML or JSON Feed"),
    responses((status = 201, body = ImportResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn import_feed(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    RawBody(b): RawBody,
) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    import(s, id, Kind::Feed, b).await
}
