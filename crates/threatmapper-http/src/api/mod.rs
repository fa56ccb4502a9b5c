//! The JSON API under `/api/pipeline`, each handler documented for OpenAPI.

pub mod audit;
pub mod extract;
pub mod imports;
pub mod observables;
pub mod reports;
pub mod rules;
pub mod sources;
pub mod system;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;

/// The OpenAPI document's top-level description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ThreatMapper API",
        description = "Collection, intake review, observables and enrichment, detection rules and the audit trail. \
            In team mode identity comes from X-Auth-User / X-Auth-Roles set by a trusted reverse proxy; \
            mutations need admin or analyst and a JSON (or, for imports, XML/YAML) content type.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "imports", description = "Import exported documents into the intake queue"),
        (name = "sources", description = "RSS/Atom/JSON Feed collection sources and their runs"),
        (name = "intake", description = "The intake queue and report review"),
        (name = "observables", description = "Observables, manual additions and enrichment evidence"),
        (name = "rules", description = "Detection Studio: rule skeletons, versions and validation"),
        (name = "audit", description = "The hash-chained audit trail"),
        (name = "system", description = "Health, readiness and identity")
    )
)]
pub struct ApiDoc;

/// Every documented route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(imports::import_stix))
        .routes(routes!(imports::import_misp))
        .routes(routes!(imports::import_atlas))
        .routes(routes!(imports::import_feed))
        .routes(routes!(sources::list_sources, sources::create_source))
        .routes(routes!(
            sources::get_source,
            sources::update_source,
            sources::delete_source
        ))
        .routes(routes!(sources::run_source))
        .routes(routes!(sources::list_runs))
        .routes(routes!(reports::intake))
        .routes(routes!(reports::get_report))
        .routes(routes!(reports::review_report))
        .routes(routes!(reports::activity))
        .routes(routes!(
            observables::list_observables,
            observables::add_observable
        ))
        .routes(routes!(observables::get_observable))
        .routes(routes!(observables::enrich_observable))
        .routes(routes!(rules::generate_rules))
        .routes(routes!(rules::list_rules))
        .routes(routes!(rules::get_rule))
        .routes(routes!(rules::add_version))
        .routes(routes!(rules::validate_rule))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::me))
}
