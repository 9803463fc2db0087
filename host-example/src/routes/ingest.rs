//! Endpoints that voice platforms call: Vapi and Retell webhooks and OTLP/HTTP traces.
//! Each checks the sender's credentials before any byte reaches the component; a
//! request is answered with success only after its call is committed to storage.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::app::AppState;
use crate::http_error::HttpError;
use crate::import::ingest_event_fetching;
use crate::runtime::OtlpEncoding;
use crate::webhook_auth;

/// Returns the router of the ingest endpoints, to be nested under the backoffice's
/// path (the example nests it at `/callscope/ingest`, so an OpenTelemetry exporter
/// is pointed at `/callscope/ingest` and posts to `/callscope/ingest/v1/traces`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/vapi", post(vapi_webhook))
        .route("/webhooks/retell", post(retell_webhook))
        .route("/v1/traces", post(otlp_traces))
        .layer(DefaultBodyLimit::max(state.limits.max_payload_bytes))
        .with_state(state)
}

#[derive(serde::Serialize)]
struct Accepted {
    call_id: String,
    created: bool,
}

async fn store_event(state: &AppState, body: Bytes) -> Result<Accepted, HttpError> {
    let runtime = state.runtime();
    let payload = body.to_vec();
    let call = tokio::task::spawn_blocking(move || runtime.normalize(&payload))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "ingest-failed", e.to_string()))??;
    let fetch = state.recording_fetcher.clone().map(|fetcher| (fetcher, state.data_dir.clone()));
    let runtime = state.runtime();
    let analysed_by = runtime.sha256().to_owned();
    let (call_id, created) = ingest_event_fetching(runtime, &state.storage, state.settings.clone(), body.to_vec(), call, fetch).await?;
    // An install during the ingest leaves this call on the old version, so the
    // re-analysis pass looks again.
    if state.components.active().sha256() != analysed_by {
        state.components.reanalysis.request();
    }
    Ok(Accepted { call_id, created })
}

async fn vapi_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, HttpError> {
    webhook_auth::check_vapi_secret(state.ingest.vapi_secret.as_deref(), &headers)?;
    let accepted = store_event(&state, body).await?;
    tracing::info!(call_id = %accepted.call_id, created = accepted.created, "vapi webhook stored");
    Ok((StatusCode::OK, axum::Json(accepted)).into_response())
}

async fn retell_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, HttpError> {
    webhook_auth::check_retell_signature(
        state.ingest.retell_api_key.as_deref(),
        &headers,
        &body,
        std::time::SystemTime::now(),
    )?;
    let accepted = store_event(&state, body).await?;
    tracing::info!(call_id = %accepted.call_id, created = accepted.created, "retell webhook stored");
    Ok((StatusCode::OK, axum::Json(accepted)).into_response())
}

/// Accepts an OTLP/HTTP trace export. Spans are stored per conversation (duplicates
/// by span id are ignored), and every conversation the batch touched is normalised
/// again from all of its spans, so batches may arrive in any order.
async fn otlp_traces(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, HttpError> {
    webhook_auth::check_bearer_token(state.ingest.otlp_token.as_deref(), &headers)?;
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let encoding = match content_type.split(';').next().unwrap_or("").trim() {
        "application/json" => OtlpEncoding::Json,
        "application/x-protobuf" => OtlpEncoding::Protobuf,
        other => {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-content-type",
                format!(
                    "content type {other:?} is not an OTLP encoding; send application/json or application/x-protobuf"
                ),
            ));
        }
    };

    let runtime = state.runtime();
    let payload = body.to_vec();
    let spans = tokio::task::spawn_blocking(move || runtime.split_otlp(&payload, encoding))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "ingest-failed", e.to_string()))??;

    crate::traces::store_spans(&state, spans).await?;

    // An empty ExportTraceServiceResponse means every span was accepted.
    Ok(match encoding {
        OtlpEncoding::Json => ([(CONTENT_TYPE, "application/json")], "{}").into_response(),
        OtlpEncoding::Protobuf => ([(CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new()).into_response(),
    })
}
