//! The one place where an error kind becomes an HTTP status code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_api_types::ApiError;

use crate::import::ImportError;
use crate::runtime::{ComponentError, RejectedInput};
use crate::storage::StorageError;

/// An error response: a status, a stable kind and a message for the user.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into() }
    }

    pub fn bad_request(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in to the backoffice first")
    }

    pub fn conflict(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", message)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        // 503 means a part that is switched off or not loaded, which the operator
        // already knows of; other server errors are failures.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status = %self.status, kind = self.kind, message = %self.message, "request rejected");
        } else if self.status.is_server_error() {
            tracing::error!(status = %self.status, kind = self.kind, message = %self.message, "request failed");
        }
        let body = ApiError { error: self.kind.to_owned(), message: self.message };
        (self.status, Json(body)).into_response()
    }
}

impl From<RejectedInput> for HttpError {
    fn from(error: RejectedInput) -> Self {
        let message = error.to_string();
        match error {
            RejectedInput::InvalidJson(_) => Self::bad_request("invalid-json", message),
            RejectedInput::UnknownFormat(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-format", message),
            RejectedInput::InvalidPayload(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-payload", message),
            RejectedInput::PayloadTooLarge(_) | RejectedInput::RecordingTooLarge(_) => Self::too_large(message),
            RejectedInput::InvalidAudio(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-audio", message),
            RejectedInput::UnsupportedAudio(_) => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-audio", message)
            }
            RejectedInput::Analysis(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "analysis-failed", message),
            RejectedInput::InvalidConfig(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "invalid-configuration", message),
            RejectedInput::InvalidAnnotation(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-annotation", message)
            }
        }
    }
}

impl From<ComponentError> for HttpError {
    fn from(error: ComponentError) -> Self {
        let message = error.to_string();
        match error {
            ComponentError::Rejected(rejected) => rejected.into(),
            ComponentError::Timeout { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, "component-timeout", message),
            ComponentError::MemoryLimit { .. } => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "component-memory-limit", message)
            }
            ComponentError::Trap(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "component-failed", message),
            ComponentError::Load { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "component-unavailable", message),
        }
    }
}

impl From<StorageError> for HttpError {
    fn from(error: StorageError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage-failed", error.to_string())
    }
}

impl From<ImportError> for HttpError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Component(e) => e.into(),
            ImportError::LayoutMismatch { .. } => Self::bad_request("invalid-layout", error.to_string()),
            ImportError::UnknownFormatName { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-format", error.to_string())
            }
            ImportError::FormatMismatch { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "format-mismatch", error.to_string())
            }
            ImportError::Storage(e) => e.into(),
            ImportError::AlreadyImported { .. } => Self::conflict("already-imported", error.to_string()),
            ImportError::Io { .. } | ImportError::Task(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "import-failed", error.to_string())
            }
        }
    }
}
