//! The API's one error shape: `{"error": {"code", "message", "details"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid`, `not_found`, ...).
    pub code: &'static str,
    /// Human-readable message saying what and where.
    pub message: String,
    /// Structured details (a field, a location, the current state).
    pub details: serde_json::Value,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInfo,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    /// Stable code: `bad_request`, `invalid`, `not_found`, `conflict`,
    /// `unauthorized`, `forbidden`, `payload_too_large`,
    /// `unsupported_media_type`, `unavailable`, `internal`, ...
    pub code: String,
    /// Message.
    pub message: String,
    /// Details (may be null).
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Attach details.
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = details;
        self
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{field}: {message}"),
        )
        .with_details(serde_json::json!({"field": field}))
    }

    /// 404.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} not found"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let body = ErrorBody {
            error: ErrorInfo {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        resp
    }
}

impl From<threatmapper_store::Error> for ApiError {
    fn from(e: threatmapper_store::Error) -> Self {
        use threatmapper_store::Error as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
                    .with_details(serde_json::json!({"field": field}))
            }
            E::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            E::Duplicate { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            E::InvalidTransition { from, to, .. } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
                    .with_details(serde_json::json!({"from": from, "to": to}))
            }
            E::Leased { owner, until, .. } => ApiError::new(StatusCode::CONFLICT, "busy", message)
                .with_details(serde_json::json!({"lease_owner": owner, "lease_until": until})),
            E::Unavailable(_) | E::Busy(_) => {
                tracing::warn!(error = %message, "database unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            E::WriteRefused(_) => {
                tracing::error!(error = %message, "database refused a write");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "write_refused", message)
            }
            _ => {
                tracing::error!(error = %message, "database error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
