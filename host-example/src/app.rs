//! Shared state of the callscope routes and the extractor that checks who calls them.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callscope_api_types as api;

use crate::auth::{Authenticator, Permission, Principal, RoleMap};
use crate::http_error::HttpError;
use crate::runtime::ComponentRuntime;
use crate::storage::Storage;

/// Size limits of the HTTP API, in bytes.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest vendor payload. 16 MiB is several times the largest end-of-call report
    /// of an hour-long call with word timings.
    pub max_payload_bytes: usize,
    /// Largest recording upload. 1 GiB is about 4.6 hours of 16 kHz 16-bit stereo WAV.
    pub max_recording_bytes: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_payload_bytes: 16 << 20, max_recording_bytes: 1 << 30 }
    }
}

/// Everything the callscope routes need.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<ComponentRuntime>,
    pub storage: Storage,
    pub data_dir: PathBuf,
    pub limits: HttpLimits,
    pub settings: api::AnalysisSettings,
    pub authenticator: Arc<dyn Authenticator>,
    pub role_map: Arc<RoleMap>,
    pub ingest: crate::webhook_auth::IngestSecrets,
    pub live: Arc<crate::live::LiveHub>,
}

/// The authenticated caller of a callscope route.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.authenticator.authenticate(parts).map(Caller).ok_or_else(HttpError::unauthenticated)
    }
}

impl Caller {
    /// Fails with 403 unless the caller's roles grant `permission`.
    pub fn require(&self, state: &AppState, permission: Permission) -> Result<(), HttpError> {
        if state.role_map.allows(&self.0, permission) {
            return Ok(());
        }
        tracing::info!(user = %self.0.user, ?permission, "request rejected: missing permission");
        Err(HttpError::forbidden(format!(
            "user {} has no role granting {}; ask a backoffice admin for a role that does",
            self.0.user,
            serde_json::to_string(&permission).unwrap_or_default().trim_matches('"')
        )))
    }
}
