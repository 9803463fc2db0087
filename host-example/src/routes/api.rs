//! The callscope JSON API. Handlers check the caller, call the import pipeline or
//! storage, and shape responses; all domain work happens in the component.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use callscope_api_types as api;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;

use crate::extract::{ApiMultipart, ApiQuery};
use crate::app::{AppState, Caller};
use crate::auth::Permission;
use crate::http_error::HttpError;
use crate::import::{ImportRequest, LayoutChoice, import_call_fetching};
use crate::peaks_window;

/// Header every state-changing request must carry. A cross-site form cannot set it,
/// so it guards against CSRF together with the `SameSite=Strict` session cookie.
pub const CSRF_HEADER: &str = "x-callscope-request";

/// Largest text field of the import form (`title`, `format`, `layout`), in bytes.
pub const MAX_FORM_TEXT_BYTES: usize = 1 << 10;

/// Returns the callscope API router, to be nested under the backoffice's own path
/// (the example nests it under `/callscope/api`).
///
/// Every request body is bounded: the import form by the payload and recording limits
/// plus 1 MiB for the form's other fields, JSON bodies by
/// [`crate::app::HttpLimits::max_json_body_bytes`].
pub fn router(state: AppState) -> Router {
    let upload_limit = state.limits.max_payload_bytes as u64 + state.limits.max_recording_bytes + (1 << 20);
    Router::new()
        .route("/me", get(me))
        .route(
            "/calls",
            get(list_calls)
                .post(import)
                .layer(DefaultBodyLimit::max(usize::try_from(upload_limit).unwrap_or(usize::MAX))),
        )
        .route("/calls/{id}", get(get_call))
        .route("/calls/{id}/peaks", get(get_peaks))
        .route("/calls/{id}/audio", get(get_audio))
        .route("/calls/{id}/waveform", get(export_peaks))
        .route("/live", get(live_notices))
        .merge(super::review::routes())
        .merge(super::admin::routes())
        // Route layers on `/calls` and `/admin/components` override this for their
        // uploads.
        .layer(DefaultBodyLimit::max(state.limits.max_json_body_bytes))
        .layer(middleware::from_fn(require_csrf_header))
        .with_state(state)
}

async fn require_csrf_header(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && request.headers().get(CSRF_HEADER).is_none_or(|v| v != "1") {
        return HttpError::forbidden(format!(
            "state-changing requests must send the header {CSRF_HEADER}: 1"
        ))
        .into_response();
    }
    next.run(request).await
}

async fn me(caller: Caller) -> Json<api::Me> {
    Json(api::Me {
        user: caller.principal.user,
        roles: caller.principal.roles,
        permissions: caller.permissions.iter().copied().collect(),
    })
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    50
}

/// Largest page of the calls list.
const MAX_PAGE: u64 = 500;

async fn list_calls(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<api::CallList>, HttpError> {
    caller.require(&state, Permission::ViewCalls, "GET /calls")?;
    if query.limit == 0 || query.limit > MAX_PAGE {
        return Err(HttpError::bad_request(
            "invalid-query",
            format!("limit {} is out of range; use 1 to {MAX_PAGE}", query.limit),
        ));
    }
    Ok(Json(state.storage.list_calls(query.offset, query.limit).await?))
}

async fn get_call(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<api::CallDetail>, HttpError> {
    caller.require(&state, Permission::ViewCalls, "GET /calls/{id}")?;
    let stored = state.storage.get_call(id.clone()).await?.ok_or_else(|| call_not_found(&id))?;
    let (mut call, redacted, transcript_hidden) = crate::redact::call_for(&state, &caller, stored.call).await?;
    call.recording_urls = call.recording_urls.iter().map(|url| crate::recording_fetch::shown_url(url)).collect();
    let recording = stored.recording.map(|r| api::RecordingInfo {
        format: r.format,
        layout: r.layout,
        activity: r.activity,
        levels: r.levels,
        audio_url: format!("calls/{id}/audio"),
    });
    Ok(Json(api::CallDetail {
        summary: stored.summary,
        call,
        recording,
        analysis: stored.analysis,
        analysed_by: stored.analysed_by,
        redacted,
        transcript_hidden,
    }))
}

fn call_not_found(id: &str) -> HttpError {
    HttpError::not_found(format!("no call with id {id}; it may have been deleted, reload the calls list"))
}

#[derive(serde::Deserialize)]
struct PeaksQuery {
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    #[serde(default = "default_pixels")]
    pixels: u32,
}

fn default_pixels() -> u32 {
    1000
}

async fn get_peaks(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    ApiQuery(query): ApiQuery<PeaksQuery>,
) -> Result<Json<api::PeaksWindow>, HttpError> {
    caller.require(&state, Permission::ViewCalls, "GET /calls/{id}/peaks")?;
    if query.pixels == 0 || query.pixels > peaks_window::MAX_PIXELS {
        return Err(HttpError::bad_request(
            "invalid-query",
            format!("pixels {} is out of range; use 1 to {}", query.pixels, peaks_window::MAX_PIXELS),
        ));
    }
    let stored = state.storage.get_call(id.clone()).await?.ok_or_else(|| call_not_found(&id))?;
    let recording = stored.recording.ok_or_else(|| HttpError::not_found(format!("call {id} has no recording")))?;

    let start_ms = query.start_ms.unwrap_or(0);
    let end_ms = query.end_ms.unwrap_or(recording.format.duration_ms);
    if start_ms < 0 || end_ms <= start_ms {
        return Err(HttpError::bad_request(
            "invalid-query",
            format!("time range {start_ms}..{end_ms} ms is empty or negative; end_ms must be above start_ms >= 0"),
        ));
    }

    let levels = state.storage.get_peaks(id.clone()).await?;
    let window = peaks_window::select(&levels, recording.format.sample_rate, start_ms, end_ms, query.pixels)
        .ok_or_else(|| HttpError::not_found(format!("call {id} has no peaks stored")))?;
    Ok(Json(window))
}

async fn get_audio(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Result<Response, HttpError> {
    caller.require(&state, Permission::Listen, "GET /calls/{id}/audio")?;
    let stored = state.storage.get_call(id.clone()).await?.ok_or_else(|| call_not_found(&id))?;
    let recording = stored.recording.ok_or_else(|| HttpError::not_found(format!("call {id} has no recording")))?;
    let path = state.data_dir.join(&recording.playback_path);

    // ServeFile replies to Range requests with 206, so the audio element can seek.
    let response = tower_http::services::ServeFile::new_with_mime(&path, &"audio/wav".parse().expect("valid mime"))
        .oneshot(request)
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "audio-unavailable", e.to_string()))?;
    Ok(response.into_response())
}

/// Imports a call from a multipart form: `payload` (the vendor JSON, required),
/// `recording` (a WAV, MP3, FLAC or Ogg/Opus file, optional), `title`, `layout` and `format` (optional text).
async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiMultipart(mut form): ApiMultipart,
) -> Result<(StatusCode, Json<api::CallSummary>), HttpError> {
    caller.require(&state, Permission::ImportCalls, "POST /calls")?;

    let upload_dir = state.data_dir.join("uploads").join(uuid::Uuid::new_v4().to_string());
    let result = read_form(&state, &mut form, &upload_dir).await;
    let outcome = match result {
        Ok(request) => {
            let fetcher = state.recording_fetcher.clone();
            let runtime = state.runtime();
            let analysed_by = runtime.sha256().to_owned();
            let imported = import_call_fetching(runtime, &state.storage, &state.data_dir, state.settings.clone(), request, fetcher).await;
            // An install during the import leaves this call on the old version, maybe after
            // the re-analysis pass has looked, so the pass looks again.
            if imported.is_ok() && state.components.active().sha256() != analysed_by {
                state.components.reanalysis.request();
            }
            imported.map_err(HttpError::from)
        }
        Err(e) => Err(e),
    };
    if upload_dir.exists()
        && let Err(e) = tokio::fs::remove_dir_all(&upload_dir).await
    {
        tracing::warn!(path = %upload_dir.display(), error = %e, "could not remove upload directory");
    }

    let summary = outcome?;
    tracing::info!(call_id = %summary.id, user = %caller.user(), "call imported through the API");
    Ok((StatusCode::CREATED, Json(summary)))
}

async fn read_form(state: &AppState, form: &mut Multipart, upload_dir: &Path) -> Result<ImportRequest, HttpError> {
    let mut payload = None;
    let mut recording = None;
    let mut title = None;
    let mut layout = LayoutChoice::Auto;
    let mut format = None;

    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "payload" => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if bytes.len() + chunk.len() > state.limits.max_payload_bytes {
                        return Err(HttpError::too_large(format!(
                            "the payload exceeds the limit of {} bytes; split the call or raise max_payload_bytes",
                            state.limits.max_payload_bytes
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if bytes.is_empty() {
                    return Err(HttpError::bad_request("empty-upload", "the payload field is empty; attach the call's JSON report"));
                }
                payload = Some(bytes);
            }
            "recording" => {
                let path = stream_to_file(state, &mut field, upload_dir).await?;
                recording = Some(path);
            }
            "title" => title = Some(read_text_field(&mut field, "title").await?),
            "format" => format = Some(read_text_field(&mut field, "format").await?.trim().to_owned()),
            "layout" => {
                let text = read_text_field(&mut field, "layout").await?;
                layout = text.trim().parse().map_err(|message: String| HttpError::bad_request("invalid-layout", message))?;
            }
            other => {
                return Err(HttpError::bad_request(
                    "invalid-form",
                    format!("unexpected form field {other:?}; send payload, recording, title, layout and format"),
                ));
            }
        }
    }

    let payload = payload.ok_or_else(|| {
        HttpError::bad_request("missing-payload", "the form has no payload field; attach the call's JSON report as payload")
    })?;
    Ok(ImportRequest { title, payload, recording, layout, format })
}

/// Reads a short text field of the import form, failing with 413 past
/// [`MAX_FORM_TEXT_BYTES`] instead of buffering whatever the body limit lets through.
async fn read_text_field(field: &mut axum::extract::multipart::Field<'_>, name: &str) -> Result<String, HttpError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_FORM_TEXT_BYTES {
            return Err(HttpError::too_large(format!(
                "the form field {name} exceeds the limit of {MAX_FORM_TEXT_BYTES} bytes; shorten it"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| HttpError::bad_request("invalid-form", format!("the form field {name} is not UTF-8 text")))
}

async fn stream_to_file(
    state: &AppState,
    field: &mut axum::extract::multipart::Field<'_>,
    upload_dir: &Path,
) -> Result<PathBuf, HttpError> {
    let io_failed = |e: std::io::Error| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "upload-failed", e.to_string());
    tokio::fs::create_dir_all(upload_dir).await.map_err(io_failed)?;
    let path = upload_dir.join("source.wav");
    let mut file = tokio::fs::File::create(&path).await.map_err(io_failed)?;

    let mut written = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        written += chunk.len() as u64;
        if written > state.limits.max_recording_bytes {
            return Err(HttpError::too_large(format!(
                "the recording exceeds the limit of {} bytes; upload a shorter or compressed recording",
                state.limits.max_recording_bytes
            )));
        }
        file.write_all(&chunk).await.map_err(io_failed)?;
    }
    file.flush().await.map_err(io_failed)?;

    if written == 0 {
        return Err(HttpError::bad_request("empty-upload", "the recording field is empty; attach the recording (WAV, MP3, FLAC or Ogg/Opus) or leave the field out"));
    }
    Ok(path)
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> HttpError {
    let status = error.status();
    let kind = if status == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "invalid-form" };
    HttpError::new(status, kind, format!("the upload could not be read: {}", error.body_text()))
}

/// Streams live-call notices as server-sent events: `update` while a call grows and
/// `final` once its final analysis is stored. The widget re-reads the call (or the
/// list) on each notice. A client that falls behind skips notices, never the data.
async fn live_notices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::response::sse::Sse<impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>>, HttpError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures::StreamExt;

    caller.require(&state, Permission::ViewCalls, "GET /live")?;
    let notices = tokio_stream::wrappers::BroadcastStream::new(state.live.subscribe()).filter_map(|notice| async move {
        let notice = notice.ok()?;
        let data = serde_json::to_string(&notice).ok()?;
        Some(Ok(Event::default().event(notice.kind).data(data)))
    });
    Ok(Sse::new(notices).keep_alive(KeepAlive::default()))
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    /// `dat` (audiowaveform binary, version 2) or `json`.
    format: String,
    /// 8 or 16.
    #[serde(default = "default_bits")]
    bits: u8,
    /// Pyramid level, 0 being the finest.
    #[serde(default)]
    level: usize,
}

fn default_bits() -> u8 {
    16
}

/// Exports one level of a call's peaks in a format audiowaveform and waveform tools
/// such as peaks.js read.
async fn export_peaks(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, HttpError> {
    use crate::runtime::PeaksFileFormat;

    caller.require(&state, Permission::ViewCalls, "GET /calls/{id}/waveform")?;
    let (format, content_type, extension) = match query.format.as_str() {
        "dat" => (PeaksFileFormat::Dat, "application/octet-stream", "dat"),
        "json" => (PeaksFileFormat::Json, "application/json", "json"),
        other => {
            return Err(HttpError::bad_request("invalid-query", format!("format {other:?} is not dat or json")));
        }
    };
    let stored = state.storage.get_call(id.clone()).await?.ok_or_else(|| call_not_found(&id))?;
    let recording = stored.recording.ok_or_else(|| HttpError::not_found(format!("call {id} has no recording")))?;
    let levels = state.storage.get_peaks(id.clone()).await?;
    let level = levels.get(query.level).ok_or_else(|| {
        HttpError::bad_request("invalid-query", format!("level {} does not exist; use 0 to {}", query.level, levels.len().saturating_sub(1)))
    })?;

    let runtime = state.runtime();
    let level = level.clone();
    let bits = query.bits;
    let sample_rate = recording.format.sample_rate;
    let bytes = tokio::task::spawn_blocking(move || runtime.encode_peaks(&level, sample_rate, format, bits))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "export-failed", e.to_string()))??;
    let disposition = format!("attachment; filename=\"{id}.{extension}\"");
    Ok(([(axum::http::header::CONTENT_TYPE, content_type.to_owned()), (axum::http::header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}
