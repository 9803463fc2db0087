//! Annotation, review queue, agreement, export and audit endpoints. The component
//! validates and computes; these handlers check permissions, read and write storage,
//! and shape responses.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use callscope_api_types as api;

use crate::extract::{ApiJson, ApiQuery};
use crate::app::{AppState, Caller};
use crate::auth::Permission;
use crate::http_error::HttpError;
use crate::review_store::VersionedWrite;
use crate::runtime::{CallBounds, ExportFormat, ExportRow, MeasurementLevel, QueueCandidate};
use crate::storage::StoredCall;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schema", get(schema))
        .route("/calls/{id}/annotations", get(list_annotations).post(create_annotation))
        .route("/annotations/{id}", put(edit_annotation).delete(delete_annotation))
        .route("/annotations/{id}/history", get(history))
        .route("/review/queue", get(queue))
        .route("/review/assignments/{call_id}", put(assign))
        .route("/review/agreement", get(agreement))
        .route("/export", get(export))
        .route("/audit", get(audit))
}

async fn schema(State(state): State<AppState>, caller: Caller) -> Result<Json<api::Schema>, HttpError> {
    caller.require(&state, Permission::ViewCalls, "GET /schema")?;
    Ok(Json((*state.schema).clone()))
}

async fn list_annotations(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<api::CallAnnotations>, HttpError> {
    caller.require(&state, Permission::ViewCalls, "GET /calls/{id}/annotations")?;
    stored_call(&state, &id).await?;
    let mut annotations = state.storage.call_annotations(id).await?;
    let missing_required = missing_required(&state, &annotations).await?;
    redact_annotations(&state, &caller, &mut annotations).await?;
    Ok(Json(api::CallAnnotations { annotations, missing_required }))
}

async fn create_annotation(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    ApiJson(input): ApiJson<api::AnnotationInput>,
) -> Result<(StatusCode, Json<api::Annotation>), HttpError> {
    caller.require(&state, Permission::Annotate, "POST /calls/{id}/annotations")?;
    let call = stored_call(&state, &id).await?;
    validate(&state, &call, &input).await?;
    let annotation = state.storage.create_annotation(id, caller.user().to_owned(), input).await?;
    tracing::info!(annotation_id = %annotation.id, call_id = %annotation.call_id, user = %annotation.author, "annotation created");
    Ok((StatusCode::CREATED, Json(annotation)))
}

async fn edit_annotation(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    ApiJson(edit): ApiJson<api::AnnotationEdit>,
) -> Result<Response, HttpError> {
    caller.require(&state, Permission::Annotate, "PUT /annotations/{id}")?;
    let (current, _) = state.storage.get_annotation(id.clone()).await?.ok_or_else(|| annotation_not_found(&id))?;
    let call = stored_call(&state, &current.call_id).await?;
    validate(&state, &call, &edit.input).await?;
    let outcome = state.storage.edit_annotation(id.clone(), caller.user().to_owned(), edit.base_version, edit.input).await?;
    written(&id, edit.base_version, outcome, |annotation| Json(annotation).into_response())
}

#[derive(serde::Deserialize)]
struct DeleteQuery {
    base_version: Option<u32>,
}

async fn delete_annotation(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Response, HttpError> {
    caller.require(&state, Permission::Annotate, "DELETE /annotations/{id}")?;
    let base_version = query.base_version.ok_or_else(|| {
        HttpError::bad_request("missing-version", "add ?base_version=N, the version you saw, so a newer edit is not deleted unseen")
    })?;
    let outcome = state.storage.delete_annotation(id.clone(), caller.user().to_owned(), base_version).await?;
    written(&id, base_version, outcome, |_| StatusCode::NO_CONTENT.into_response())
}

/// Turns the outcome of a versioned write into a response: the written result, 404,
/// 403 for another author's annotation, or 409 with the stored version.
fn written(id: &str, base_version: u32, outcome: VersionedWrite, ok: impl FnOnce(api::Annotation) -> Response) -> Result<Response, HttpError> {
    match outcome {
        VersionedWrite::Written(Some(annotation)) => {
            tracing::info!(annotation_id = %id, version = annotation.version, "annotation edited");
            Ok(ok(annotation))
        }
        VersionedWrite::Written(None) => {
            tracing::info!(annotation_id = %id, "annotation deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        VersionedWrite::Missing => Err(annotation_not_found(id)),
        VersionedWrite::NotAuthor { author } => Err(HttpError::forbidden(format!(
            "annotation {id} belongs to {author}; only its author may change it, add your own annotation instead"
        ))),
        VersionedWrite::Stale(current) => {
            let message = match &current {
                Some(current) => format!(
                    "annotation {id} is at version {}, not {base_version}: it changed since you read it; \
                     review the current version and apply your change again",
                    current.version
                ),
                None => format!("annotation {id} was deleted after you read version {base_version}"),
            };
            let body = api::VersionConflict { error: "version-conflict".into(), message, current };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Vec<api::AnnotationVersion>>, HttpError> {
    caller.require(&state, Permission::Review, "GET /annotations/{id}/history")?;
    let mut versions = state.storage.annotation_history(id.clone()).await?;
    if versions.is_empty() {
        return Err(annotation_not_found(&id));
    }
    redact_inputs(&state, &caller, versions.iter_mut().filter_map(|version| version.content.as_mut()).collect()).await?;
    Ok(Json(versions))
}

async fn queue(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<api::QueueEntry>>, HttpError> {
    caller.require(&state, Permission::Review, "GET /review/queue")?;
    let calls = state.storage.review_candidates().await?;
    let assignments = state.storage.review_assignments().await?;
    let annotations = state.storage.all_annotations().await?;

    let candidates: Vec<QueueCandidate> = calls
        .iter()
        .map(|c| QueueCandidate { call_id: c.id.clone(), flag_codes: c.flag_codes.clone(), max_latency_ms: c.max_latency_ms })
        .collect();
    let mut by_call: HashMap<String, Vec<api::AnnotationInput>> = HashMap::new();
    for annotation in annotations {
        by_call.entry(annotation.call_id).or_default().push(annotation.input);
    }

    let (schema, review) = (state.schema.clone(), state.review);
    let (ranked, missing) = state
        .runtime()
        .run_blocking(move |runtime| {
            let ranked = runtime.review_queue(&candidates, review.sample_per_mille, review.seed)?;
            let mut missing = HashMap::new();
            for entry in &ranked {
                let set = by_call.get(&entry.call_id).map(Vec::as_slice).unwrap_or_default();
                missing.insert(entry.call_id.clone(), runtime.missing_required(&schema, set)?);
            }
            Ok((ranked, missing))
        })
        .await?;

    let titles: HashMap<_, _> = calls.into_iter().map(|c| (c.id.clone(), c)).collect();
    let entries = ranked
        .into_iter()
        .map(|entry| {
            let call = titles.get(&entry.call_id);
            api::QueueEntry {
                title: call.map(|c| c.title.clone()).unwrap_or_default(),
                flag_codes: call.map(|c| c.flag_codes.clone()).unwrap_or_default(),
                assignee: assignments.get(&entry.call_id).cloned(),
                done: missing.get(&entry.call_id).is_some_and(Vec::is_empty),
                call_id: entry.call_id,
                priority: entry.priority,
                reason: entry.reason,
            }
        })
        .collect();
    Ok(Json(entries))
}

#[derive(serde::Deserialize)]
struct Assignment {
    assignee: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(call_id): UrlPath<String>,
    ApiJson(assignment): ApiJson<Assignment>,
) -> Result<StatusCode, HttpError> {
    caller.require(&state, Permission::Review, "PUT /review/assignments/{call_id}")?;
    stored_call(&state, &call_id).await?;
    let assignee = assignment.assignee.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    let detail = format!("assigned to {}", assignee.as_deref().unwrap_or("nobody"));
    state.storage.assign_review(call_id.clone(), assignee, caller.user().to_owned()).await?;
    state.storage.audit(Some(caller.user().to_owned()), "review.assign", call_id, detail).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn agreement(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<api::LabelAgreement>>, HttpError> {
    caller.require(&state, Permission::Review, "GET /review/agreement")?;
    let annotations = state.storage.all_annotations().await?;
    let schema = state.schema.clone();
    let agreements = state
        .runtime()
        .run_blocking(move |runtime| {
            schema
                .labels
                .iter()
                .map(|label| {
                    let ratings: Vec<(String, String, String)> = annotations
                        .iter()
                        .filter(|a| a.input.label_id == label.id)
                        .map(|a| (item_key(&a.call_id, &a.input.target), a.author.clone(), a.input.value.to_text()))
                        .collect();
                    let level = match label.kind {
                        api::LabelKind::Numeric { .. } => MeasurementLevel::Interval,
                        _ => MeasurementLevel::Nominal,
                    };
                    runtime.compute_agreement(&label.id, &ratings, level)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(agreements))
}

/// Identifies what an annotation rates, so two annotators' values on it pair up.
fn item_key(call_id: &str, target: &api::Target) -> String {
    match target {
        api::Target::Call => format!("{call_id}/call"),
        api::Target::Utterance { index } => format!("{call_id}/utterance/{index}"),
        api::Target::TimeRange { start_ms, end_ms } => format!("{call_id}/range/{start_ms}-{end_ms}"),
        api::Target::ChannelRange { channel, start_ms, end_ms } => format!("{call_id}/channel/{channel}/{start_ms}-{end_ms}"),
    }
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn export(State(state): State<AppState>, caller: Caller, ApiQuery(query): ApiQuery<ExportQuery>) -> Result<Response, HttpError> {
    caller.require(&state, Permission::Export, "GET /export")?;
    // Rows carry utterance text, which only `view-transcript` may read.
    caller.require(&state, Permission::ViewTranscript, "GET /export")?;
    let (format, content_type, extension) = match query.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => (ExportFormat::Jsonl, "application/x-ndjson", "jsonl"),
        "csv" => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        other => return Err(HttpError::bad_request("invalid-query", format!("format {other:?} is not jsonl or csv"))),
    };

    let annotations = state.storage.all_annotations().await?;
    let mut by_call: BTreeMap<String, Vec<api::Annotation>> = BTreeMap::new();
    for annotation in annotations {
        by_call.entry(annotation.call_id.clone()).or_default().push(annotation);
    }
    let mut rows = Vec::new();
    for (call_id, annotations) in by_call {
        let call = stored_call(&state, &call_id).await?;
        rows.extend(export_rows(&call, annotations));
    }

    let redact = !caller.may(Permission::ViewPersonalData);
    let count = rows.len();
    let body = state.runtime().run_blocking(move |runtime| runtime.export_rows(&rows, format, redact)).await?;
    let detail = format!("{count} rows as {extension}, personal data {}", if redact { "removed" } else { "included" });
    state.storage.audit(Some(caller.user().to_owned()), "export", "annotations".into(), detail).await?;
    let disposition = format!("attachment; filename=\"callscope-annotations.{extension}\"");
    Ok(([(axum::http::header::CONTENT_TYPE, content_type.to_owned()), (axum::http::header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// Builds one row per annotated target of a call, with every label set on it.
fn export_rows(call: &StoredCall, annotations: Vec<api::Annotation>) -> Vec<ExportRow> {
    let mut rows: Vec<ExportRow> = Vec::new();
    for annotation in annotations {
        let target = annotation.input.target;
        let row = match rows.iter_mut().position(|row| row.target == target) {
            Some(index) => &mut rows[index],
            None => {
                rows.push(new_row(call, target));
                rows.last_mut().expect("a row was just added")
            }
        };
        row.labels.push((annotation.input.label_id.clone(), annotation.input.value.to_text()));
        if let Some(comment) = annotation.input.comment.filter(|c| !c.is_empty()) {
            row.comments.push(comment);
        }
        if !row.annotators.contains(&annotation.author) {
            row.annotators.push(annotation.author);
        }
    }
    rows
}

fn new_row(call: &StoredCall, target: api::Target) -> ExportRow {
    let mut row = ExportRow {
        call_id: call.summary.id.clone(),
        target,
        speaker: None,
        text: None,
        start_ms: None,
        end_ms: None,
        labels: Vec::new(),
        comments: Vec::new(),
        annotators: Vec::new(),
    };
    match target {
        api::Target::Call => {}
        api::Target::Utterance { index } => {
            if let Some(utterance) = call.call.utterances.iter().find(|u| u.index == index) {
                row.speaker = Some(utterance.speaker.as_str().to_owned());
                row.text = Some(utterance.text.clone());
                row.start_ms = Some(utterance.start_ms);
                row.end_ms = Some(utterance.end_ms);
            }
        }
        api::Target::TimeRange { start_ms, end_ms } | api::Target::ChannelRange { start_ms, end_ms, .. } => {
            row.start_ms = Some(start_ms);
            row.end_ms = Some(end_ms);
            let spoken: Vec<&str> = call
                .call
                .utterances
                .iter()
                .filter(|u| u.start_ms < end_ms && u.end_ms > start_ms)
                .map(|u| u.text.as_str())
                .collect();
            if !spoken.is_empty() {
                row.text = Some(spoken.join(" "));
            }
        }
    }
    row
}

#[derive(serde::Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn audit(State(state): State<AppState>, caller: Caller, ApiQuery(query): ApiQuery<AuditQuery>) -> Result<Json<Vec<api::AuditEntry>>, HttpError> {
    caller.require(&state, Permission::ManageComponent, "GET /audit")?;
    let limit = query.limit.unwrap_or(200).clamp(1, 5000);
    Ok(Json(state.storage.audit_log(limit).await?))
}

async fn stored_call(state: &AppState, id: &str) -> Result<StoredCall, HttpError> {
    state
        .storage
        .get_call(id.to_owned())
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no call with id {id}; it may have been deleted, reload the calls list")))
}

fn annotation_not_found(id: &str) -> HttpError {
    HttpError::not_found(format!("no annotation with id {id}; it may have been deleted, reload the call"))
}

async fn validate(state: &AppState, call: &StoredCall, input: &api::AnnotationInput) -> Result<(), HttpError> {
    let bounds = CallBounds {
        duration_ms: call
            .recording
            .as_ref()
            .map(|r| r.format.duration_ms)
            .or(call.call.duration_ms)
            .unwrap_or_else(|| call.call.utterances.iter().map(|u| u.end_ms).max().unwrap_or(0)),
        utterance_indices: call.call.utterances.iter().map(|u| u.index).collect(),
        channels: call.recording.as_ref().map(|r| r.format.channels).unwrap_or(0),
    };
    let (schema, input) = (state.schema.clone(), input.clone());
    state.runtime().run_blocking(move |runtime| runtime.validate_annotation(&schema, &input, &bounds)).await?;
    Ok(())
}

async fn missing_required(state: &AppState, annotations: &[api::Annotation]) -> Result<Vec<String>, HttpError> {
    let inputs: Vec<_> = annotations.iter().map(|a| a.input.clone()).collect();
    let schema = state.schema.clone();
    Ok(state.runtime().run_blocking(move |runtime| runtime.missing_required(&schema, &inputs)).await?)
}

/// Redacts comments and free-text values for a caller without `view-personal-data`.
async fn redact_annotations(state: &AppState, caller: &Caller, annotations: &mut [api::Annotation]) -> Result<(), HttpError> {
    redact_inputs(state, caller, annotations.iter_mut().map(|annotation| &mut annotation.input).collect()).await
}

/// Replaces personal data in the comments and text values of `inputs` for a caller
/// without `view-personal-data`.
async fn redact_inputs(state: &AppState, caller: &Caller, mut inputs: Vec<&mut api::AnnotationInput>) -> Result<(), HttpError> {
    let mut texts = Vec::new();
    for input in &inputs {
        texts.push(input.comment.clone().unwrap_or_default());
        texts.push(match &input.value {
            api::LabelValue::Text(text) => text.clone(),
            _ => String::new(),
        });
    }
    let redacted = crate::redact::texts_for(state, caller, texts).await?;
    for (input, pair) in inputs.iter_mut().zip(redacted.chunks(2)) {
        if input.comment.is_some() {
            input.comment = Some(pair[0].clone());
        }
        if let api::LabelValue::Text(text) = &mut input.value {
            *text = pair[1].clone();
        }
    }
    Ok(())
}
