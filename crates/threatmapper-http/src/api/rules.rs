//! Detection Studio: generate skeletons for a report, list and read rules,
//! submit edited versions, validate any text.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use threatmapper_core::ObservableKind;
use threatmapper_rules::Language;
use threatmapper_store::{NewRule, RuleHistory, RuleSummary, StoredRuleVersion};

use super::extract::{ApiJson, ApiPath, ApiQuery, check_limit};
use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::server::AppState;

fn languages(v: &str) -> Result<Vec<Language>, ApiError> {
    if v == "all" {
        return Ok(Language::ALL.to_vec());
    }
    Language::parse(v).map(|l| vec![l]).ok_or_else(|| {
        ApiError::invalid(
            "language",
            format!("`{v}` is not sigma, kql, spl, eql or all"),
        )
    })
}

/// What to generate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// `sigma`, `kql`, `spl`, `eql` or `all`.
    #[schema(pattern = "^(sigma|kql|spl|eql|all)$")]
    pub language: String,
}

/// Generated rules (version 1 each).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GeneratedRules {
    /// One rule per language.
    pub rules: Vec<RuleHistory>,
}

/// Generate analyst-review skeletons for a report; each is stored as
/// version 1 of a new rule with its validation result.
#[utoipa::path(post, path = "/api/pipeline/reports/{id}/rules", tag = "rules",
    params(("id" = i64, Path, description = "Report id")), request_body = GenerateRequest,
    responses((status = 201, body = GeneratedRules), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn generate_rules(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(report_id): ApiPath<i64>,
    ApiJson(body): ApiJson<GenerateRequest>,
) -> ApiResult<(StatusCode, Json<GeneratedRules>)> {
    let langs = languages(&body.language)?;
    let detail = s
        .store
        .report(report_id)
        .await?
        .ok_or_else(|| ApiError::not_found("report", report_id))?;
    let observables: Vec<(ObservableKind, String)> = detail
        .observables
        .iter()
        .filter_map(|o| {
            o.kind
                .parse::<ObservableKind>()
                .ok()
                .map(|k| (k, o.value.clone()))
        })
        .collect();
    let references: Vec<String> = detail.report.summary.url.iter().cloned().collect();
    let rid = report_id.to_string();
    let mut rules = Vec::new();
    for lang in langs {
        let rule_id = uuid::Uuid::new_v4();
        let ctx = threatmapper_rules::generate::RuleContext {
            report_id: &rid,
            title: &detail.report.summary.title,
            description: &detail.report.content,
            references: &references,
            labels: &detail.report.summary.labels,
            observables: &observables,
            author: &id.actor.name,
            date: chrono::Utc::now().date_naive(),
            rule_id,
        };
        let content = threatmapper_rules::generate::generate(lang, &ctx);
        let rule = NewRule {
            report_id: Some(report_id),
            language: lang,
            rule_uuid: rule_id,
            title: detail.report.summary.title.clone(),
            content,
        };
        rules.push(s.store.create_rule(&rule, &id.actor).await?);
    }
    Ok((StatusCode::CREATED, Json(GeneratedRules { rules })))
}

/// Rule filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleParams {
    /// Only rules of this report.
    pub report_id: Option<i64>,
    /// At most this many, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Rules, newest first.
#[utoipa::path(get, path = "/api/pipeline/rules", tag = "rules", params(RuleParams),
    responses((status = 200, body = Vec<RuleSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_rules(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<RuleParams>,
) -> ApiResult<Json<Vec<RuleSummary>>> {
    check_limit(p.limit, 1000)?;
    Ok(Json(
        s.store.rules(p.report_id, p.limit.unwrap_or(100)).await?,
    ))
}

/// A rule with every version.
#[utoipa::path(get, path = "/api/pipeline/rules/{id}", tag = "rules",
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = RuleHistory), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_rule(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RuleHistory>> {
    match s.store.rule(id).await? {
        Some(r) => Ok(Json(r)),
        None => Err(ApiError::not_found("rule", id)),
    }
}

/// An edited rule text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// The full rule text.
    pub content: String,
}

/// Store an edited text as version n+1 (validated; invalid text is stored
/// with its diagnostics, marked `invalid`).
#[utoipa::path(post, path = "/api/pipeline/rules/{id}/versions", tag = "rules",
    params(("id" = i64, Path, description = "Rule id")), request_body = NewVersion,
    responses((status = 201, body = StoredRuleVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_version(
    State(s): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiPath(rule): ApiPath<i64>,
    ApiJson(body): ApiJson<NewVersion>,
) -> ApiResult<(StatusCode, Json<StoredRuleVersion>)> {
    let v = s
        .store
        .add_rule_version(rule, &body.content, &id.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Text to validate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// `sigma`, `kql`, `spl` or `eql`.
    #[schema(pattern = "^(sigma|kql|spl|eql)$")]
    pub language: String,
    /// The rule text.
    pub content: String,
}

/// One validation finding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiagnosticOut {
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code (`SIGMA001`, `KQL002`, ...).
    pub code: String,
    /// Message.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A validation result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidationResult {
    /// `ready`, `needs_analyst` (warnings only) or `invalid`.
    pub status: String,
    /// Findings in text order.
    pub diagnostics: Vec<DiagnosticOut>,
}

/// Validate rule text without storing it (allowed for viewers).
#[utoipa::path(post, path = "/api/pipeline/rules/validate", tag = "rules", request_body = ValidateRequest,
    responses((status = 200, body = ValidationResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn validate_rule(
    ApiJson(body): ApiJson<ValidateRequest>,
) -> ApiResult<Json<ValidationResult>> {
    let lang = Language::parse(&body.language).ok_or_else(|| {
        ApiError::invalid(
            "language",
            format!("`{}` is not sigma, kql, spl or eql", body.language),
        )
    })?;
    if body.content.len() > threatmapper_store::limits::RULE {
        return Err(ApiError::invalid("content", "longer than 1 MiB"));
    }
    let diags =
        tokio::task::spawn_blocking(move || threatmapper_rules::validate(lang, &body.content))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("validator failed: {e}"),
                )
            })?;
    Ok(Json(ValidationResult {
        status: threatmapper_rules::Status::of(&diags).as_str().to_owned(),
        diagnostics: diags
            .into_iter()
            .map(|d| DiagnosticOut {
                severity: d.severity.as_str().to_owned(),
                code: d.code.to_owned(),
                message: d.message,
                line: d.line,
                column: d.column,
            })
            .collect(),
    }))
}
