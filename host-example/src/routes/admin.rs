//! Component administration: the installed versions, installing a new one while the
//! server runs, and rolling back. Every action needs `manage-component` and goes to
//! the audit log.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callscope_api_types as api;

use crate::extract::ApiMultipart;
use crate::app::{AppState, Caller};
use crate::auth::Permission;
use crate::components::InstallError;
use crate::http_error::HttpError;

/// Largest component file accepted. The callscope component is a few MiB; 64 MiB
/// leaves room for debug builds without letting an upload fill the disk.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/components", get(status).post(install).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES + (1 << 20))))
        .route("/admin/components/rollback", post(rollback))
}

async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<api::ComponentsStatus>, HttpError> {
    caller.require(&state, Permission::ManageComponent, "GET /admin/components")?;
    Ok(Json(state.components.status()))
}

/// Installs the uploaded component (form field `component`, optional `signature`).
async fn install(State(state): State<AppState>, caller: Caller, ApiMultipart(mut form): ApiMultipart) -> Result<Response, HttpError> {
    caller.require(&state, Permission::ManageComponent, "POST /admin/components")?;
    let mut component = None;
    let mut signature = None;
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        match field.name().unwrap_or_default() {
            "component" => component = Some(field.bytes().await.map_err(form_error)?),
            "signature" => signature = Some(field.bytes().await.map_err(form_error)?),
            other => {
                return Err(HttpError::bad_request(
                    "invalid-form",
                    format!("unexpected form field {other:?}; send component and, when keys are configured, signature"),
                ));
            }
        }
    }
    let component = component
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| HttpError::bad_request("missing-component", "the form has no component file; attach the .wasm as component"))?;

    let (slot, user) = (state.components.clone(), caller.user().to_owned());
    let outcome = tokio::task::spawn_blocking(move || slot.install(&component, signature.as_deref(), &user))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "install-failed", e.to_string()))?;
    match outcome {
        Ok(installed) => {
            let detail = format!("interface {}, {} bytes", installed.interface_version, installed.size_bytes);
            state.storage.audit(Some(caller.user().to_owned()), "component.install", installed.sha256.clone(), detail).await?;
            state.components.reanalysis.request();
            Ok((StatusCode::CREATED, Json(installed)).into_response())
        }
        Err(InstallError::Refused(refusal)) => {
            let detail = format!("{} check: {}", refusal.check, refusal.message);
            state.storage.audit(Some(caller.user().to_owned()), "component.refused", "upload".into(), detail).await?;
            let body = api::InstallRefusal { error: "install-refused".into(), check: refusal.check.into(), message: refusal.message };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(error) => Err(HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "install-failed", error.to_string())),
    }
}

async fn rollback(State(state): State<AppState>, caller: Caller) -> Result<Json<api::ComponentsStatus>, HttpError> {
    caller.require(&state, Permission::ManageComponent, "POST /admin/components/rollback")?;
    let (slot, user) = (state.components.clone(), caller.user().to_owned());
    let outcome = tokio::task::spawn_blocking(move || slot.rollback(&user))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "rollback-failed", e.to_string()))?;
    match outcome {
        Ok(status) => {
            let detail = format!("previous version {}", status.previous.as_ref().map(|p| p.sha256.as_str()).unwrap_or("none"));
            state.storage.audit(Some(caller.user().to_owned()), "component.rollback", status.active.sha256.clone(), detail).await?;
            state.components.reanalysis.request();
            Ok(Json(status))
        }
        Err(InstallError::NoPrevious) => Err(HttpError::conflict(
            "no-previous-version",
            "there is no previous component version to roll back to; install one first",
        )),
        Err(error) => Err(HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "rollback-failed", error.to_string())),
    }
}

fn form_error(error: axum::extract::multipart::MultipartError) -> HttpError {
    let status = error.status();
    let kind = if status == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "invalid-form" };
    HttpError::new(status, kind, format!("the upload could not be read: {}", error.body_text()))
}
