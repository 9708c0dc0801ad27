//! The OpenAPI document of the query API (`/api/v1/openapi.json`) and Swagger UI rendering
//! it (`/docs`), its assets served from this binary, so it works offline.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use swagger_ui_dist::{ApiDefinition, OpenApiSource};

/// Swagger UI's own script, style and images (some inline), and the document from here;
/// nothing else. (Every other answer gets the strict policy of `probes`.)
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'";

/// The routes serving the document and the page.
pub fn router() -> Router {
    let swagger_ui = swagger_ui_dist::generate_routes(ApiDefinition {
        uri_prefix: "/docs",
        api_definition: OpenApiSource::Uri("/api/v1/openapi.json"),
        title: Some("Leaky Tokens query API"),
    })
    .layer(axum::middleware::map_response(
        |mut response: Response| async {
            response.headers_mut().insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_POLICY),
            );
            response
        },
    ));
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(document()) }),
        )
        .merge(swagger_ui)
}

fn parameter(name: &str, location: &str, description: &str, required: bool) -> Value {
    json!({"name": name, "in": location, "required": required,
           "description": description, "schema": {"type": "string"}})
}

fn read(summary: &str, parameters: Vec<Value>) -> Value {
    json!({"get": {
        "summary": summary,
        "parameters": parameters,
        "security": [{"bearer": []}],
        "responses": {
            "200": {"description": "The answer (with `consistency` when a token was given)"},
            "400": {"description": "A bad parameter (problem+json naming it)",
                    "content": {"application/problem+json": {}}},
            "401": {"description": "No credential, or an unknown, revoked, expired or forged one (problem+json)"},
            "403": {"description": "Another user's or org's data, or an ADMIN-only read (problem+json)"},
            "404": {"description": "Nothing known there (problem+json)"},
            "503": {"description": "The view store did not answer (problem+json)"}
        }
    }})
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let pool = || {
        vec![
            parameter("kind", "path", "user or org", true),
            parameter("id", "path", "the user's or org's id", true),
            parameter("provider", "path", "openai, gemini, qwen, …", true),
            parameter(
                "consistency_token",
                "query",
                "partition:offset from a command reply: wait until the view has applied it",
                false,
            ),
            parameter(
                "wait_ms",
                "query",
                "how long to wait for the token (default 2000, at most max_wait_ms)",
                false,
            ),
        ]
    };
    let owner = || {
        let mut p = pool();
        p.remove(2);
        p
    };
    let usage = |extra: Vec<Value>| {
        let mut p = vec![
            parameter("dimension", "path", "provider, user or org", true),
            parameter(
                "subject",
                "path",
                "the provider name, user id or org id",
                true,
            ),
            parameter(
                "granularity",
                "query",
                "minute, hour (default) or day",
                false,
            ),
            parameter(
                "from",
                "query",
                "start, epoch ms (default: 24 buckets before to)",
                false,
            ),
            parameter(
                "to",
                "query",
                "end, epoch ms, exclusive (default: the current bucket's end)",
                false,
            ),
        ];
        p.extend(extra);
        p
    };
    let consistency = || {
        let p = pool();
        p[3..].to_vec()
    };
    let purchase = {
        let mut p = vec![parameter(
            "id",
            "path",
            "the purchase id (a UUID, from the purchase reply)",
            true,
        )];
        p.extend(consistency());
        p
    };
    let owner_purchases = {
        let mut p = owner();
        p.insert(2, parameter("state", "query", "only purchases in this status: requested, payment_reserved, tokens_granted, completed, compensating, failed", false));
        p.insert(
            3,
            parameter(
                "limit",
                "query",
                "how many, newest first (default 50, at most 500)",
                false,
            ),
        );
        p
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Leaky Tokens query API", "version": "1",
                 "description": "Reads from the views built by the projectors. Errors are RFC 9457 problem+json. The Leaky-View header says fresh or stale when a consistency token was given."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
            "description": "An access token (RS256 JWT) or API key from the auth service. A caller reads its own and its orgs' pools, quotas and usage; an ADMIN reads everything, and alone the top consumers, anomalies and a provider's usage."}}},
        "paths": {
            "/api/v1/pools/{kind}/{id}/{provider}": read("A pool: granted, consumed, reserved, overdraft, remaining, tier, policy", pool()),
            "/api/v1/pools/{kind}/{id}/{provider}/reservations": read("A pool's open reservations", pool()),
            "/api/v1/pools/{kind}/{id}/{provider}/buckets": read("A pool's rate-limit buckets as of its newest snapshot (Redis): per limit capacity, rate, period_ms, level, remaining, reset_after_ms; strategy, updated_at_ms, retry_after_ms, next_event_offset. A consistency token must come from a write to this pool (its partition)", pool()),
            "/api/v1/quota/{kind}/{id}": read("An owner's totals across providers, and each pool", owner()),
            "/api/v1/quota/{kind}/{id}/{provider}": read("An owner's quota for one provider", pool()),
            "/api/v1/purchases/{id}": read("A purchase: its order (pool, tokens, price_cents, payment_method), status, failure (code and detail), compensation progress (pending and done undo steps, awaiting), times and the last event applied. Pass the consistency token of the purchase reply to read your own purchase", purchase),
            "/api/v1/owners/{kind}/{id}/purchases": read("An owner's purchases, newest first, optionally of one status", owner_purchases),
            "/api/v1/usage/{dimension}/{subject}": read("Tokens, requests and rejections per time bucket", usage(vec![])),
            "/api/v1/usage/{dimension}/{subject}/trend": read("The range's totals against the range before it", usage(vec![])),
            "/api/v1/usage/{dimension}/{subject}/anomalies": read("Buckets far above the subject's own baseline (median + threshold x MAD), with the method", usage(vec![
                parameter("threshold", "query", "spreads above the baseline (default 3)", false)])),
            "/api/v1/top/{dimension}": read("The subjects (providers, users or orgs) that used most tokens over the range", {
                let mut p = usage(vec![parameter("limit", "query", "how many (default 10, at most 100)", false)]);
                p.remove(1);
                p
            }),
            "/health/live": {"get": {"summary": "Liveness", "responses": {"200": {"description": "live"}}}},
            "/health/ready": {"get": {"summary": "Readiness of every dependency", "responses": {"200": {"description": "ready"}, "503": {"description": "a dependency is down"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text format"}}}}
        }
    })
}
