//! Shared state of the callscope routes and the extractor that checks who calls them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callscope_api_types as api;

use crate::auth::{Access, Authenticator, Permission, Principal};
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
    /// Largest JSON body of an API request (annotations, edits, assignments). 64 KiB
    /// is thirty times an annotation with a comment of the maximum 2000 characters.
    pub max_json_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_payload_bytes: 16 << 20, max_recording_bytes: 1 << 30, max_json_body_bytes: 64 << 10 }
    }
}

/// Sampling of calls without flags for the review queue.
#[derive(Debug, Clone, Copy)]
pub struct ReviewSettings {
    /// Share of unflagged calls put in the queue, in thousandths.
    pub sample_per_mille: u32,
    /// Seed of the sample, so every reviewer sees the same queue.
    pub seed: u64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self { sample_per_mille: 100, seed: 1 }
    }
}

/// Everything the callscope routes need.
#[derive(Clone)]
pub struct AppState {
    /// The active component version and the one a rollback returns to.
    pub components: Arc<crate::components::ComponentSlot>,
    pub storage: Storage,
    pub data_dir: PathBuf,
    pub limits: HttpLimits,
    pub settings: api::AnalysisSettings,
    pub authenticator: Arc<dyn Authenticator>,
    pub access: Arc<Access>,
    /// The annotation schema, checked by the component at start-up.
    pub schema: Arc<api::Schema>,
    pub review: ReviewSettings,
    pub ingest: crate::webhook_auth::IngestSecrets,
    pub live: Arc<crate::live::LiveHub>,
    /// Fetches recordings named in vendor payloads; `None` (the default) never fetches.
    pub recording_fetcher: Option<Arc<crate::recording_fetch::RecordingFetcher>>,
}

/// The authenticated caller of a callscope route and what the policy grants them.
pub struct Caller {
    pub principal: Principal,
    pub permissions: Arc<BTreeSet<Permission>>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = state.authenticator.authenticate(parts).ok_or_else(HttpError::unauthenticated)?;
        let (runtime, access, asking) = (state.runtime(), state.access.clone(), principal.clone());
        let permissions = tokio::task::spawn_blocking(move || access.permissions(&runtime, &asking))
            .await
            .map_err(|e| HttpError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "policy-failed", e.to_string()))??;
        Ok(Caller { principal, permissions })
    }
}

impl Caller {
    pub fn user(&self) -> &str {
        &self.principal.user
    }

    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Fails with 403 unless the caller has `permission`; a refusal is written to the
    /// audit log with the request it refused.
    pub fn require(&self, state: &AppState, permission: Permission, request: &str) -> Result<(), HttpError> {
        if self.may(permission) {
            return Ok(());
        }
        tracing::info!(user = %self.principal.user, permission = permission.as_str(), request, "request refused: missing permission");
        let storage = state.storage.clone();
        let (user, subject, detail) = (self.principal.user.clone(), request.to_owned(), format!("needs {}", permission.as_str()));
        tokio::spawn(async move {
            if let Err(error) = storage.audit(Some(user), "refused", subject, detail).await {
                tracing::error!(%error, "writing the audit log failed");
            }
        });
        Err(HttpError::forbidden(format!(
            "user {} has no role granting {}; ask a backoffice admin for a role that does",
            self.principal.user,
            permission.as_str()
        )))
    }
}

impl AppState {
    /// Returns the active component; a request takes it once and keeps it, so it
    /// finishes on one version even when another is installed meanwhile.
    pub fn runtime(&self) -> Arc<ComponentRuntime> {
        self.components.active()
    }

    /// Creates the state with default limits, no ingest secrets, the example role map
    /// and the example annotation schema (both checked by the component). Fields are
    /// public: replace what the deployment configures.
    pub fn new(
        runtime: Arc<ComponentRuntime>,
        storage: Storage,
        data_dir: PathBuf,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<Self, crate::runtime::ComponentError> {
        let access = Access::from_json(&runtime, crate::auth::DEMO_ROLE_MAP)?;
        let schema = runtime.parse_schema(crate::auth::DEMO_SCHEMA)?;
        let cache_dir = data_dir.join("compiled");
        let components = crate::components::ComponentSlot::with_runtime(runtime, cache_dir, Vec::new());
        Ok(Self {
            components: Arc::new(components),
            storage,
            data_dir,
            limits: HttpLimits::default(),
            settings: Default::default(),
            authenticator,
            access: Arc::new(access),
            schema: Arc::new(schema),
            review: ReviewSettings::default(),
            ingest: Default::default(),
            live: crate::live::new_hub(),
            recording_fetcher: None,
        })
    }
}
