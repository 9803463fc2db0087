//! Brings stored analyses up to the active component version. Every stored call
//! records the sha256 of the component that analysed it; after an install, a
//! rollback or a restart, this job analyses again each call another version produced.
//! The database is the job's only state, so a restart resumes where it stopped.

use std::sync::Mutex;

use callscope_api_types as api;
use tokio::sync::Notify;

use crate::app::AppState;

/// The job's progress, shown on the admin page, and the signal that starts a pass.
#[derive(Default)]
pub struct Progress {
    current: Mutex<api::ReanalysisProgress>,
    wake: Notify,
}

impl Progress {
    pub fn snapshot(&self) -> api::ReanalysisProgress {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks the job to look for calls analysed by another version.
    pub fn request(&self) {
        self.wake.notify_one();
    }

    fn update(&self, change: impl FnOnce(&mut api::ReanalysisProgress)) {
        change(&mut self.current.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Runs forever: one pass at start, then one after every [`Progress::request`].
pub async fn run(state: AppState) {
    loop {
        if let Err(error) = pass(&state).await {
            tracing::error!(%error, "re-analysing stored calls failed; retrying after the next install or in a minute");
            state.components.reanalysis.update(|p| p.running = false);
            tokio::select! {
                () = state.components.reanalysis.wake.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            }
            continue;
        }
        state.components.reanalysis.wake.notified().await;
    }
}

/// Analyses again every call whose analysis another component version produced.
async fn pass(state: &AppState) -> Result<(), crate::storage::StorageError> {
    let progress = &state.components.reanalysis;
    let runtime = state.components.active();
    let target = runtime.sha256().to_owned();
    let pending = state.storage.calls_not_analysed_by(target.clone()).await?;
    progress.update(|p| *p = api::ReanalysisProgress { target_sha256: target.clone(), total: pending.len() as u64, done: 0, failed: 0, running: !pending.is_empty() });
    if pending.is_empty() {
        return Ok(());
    }
    tracing::info!(component_sha = %target, calls = pending.len(), "re-analysing stored calls with the active component");

    let total = pending.len();
    for (index, call_id) in pending.into_iter().enumerate() {
        // A newer install restarts the pass with its own version.
        if state.components.active().sha256() != target {
            tracing::info!(component_sha = %target, "component changed during re-analysis; starting over");
            progress.request();
            return Ok(());
        }
        match crate::import::reanalyse(runtime.clone(), &state.storage, state.settings.clone(), call_id.clone()).await {
            Ok(()) => progress.update(|p| p.done += 1),
            Err(error) => {
                tracing::warn!(%call_id, %error, "re-analysing a call failed; it keeps its earlier analysis");
                progress.update(|p| p.failed += 1);
            }
        }
        if (index + 1) % 50 == 0 || index + 1 == total {
            tracing::info!(component_sha = %target, done = index + 1, total, "re-analysis progress");
        }
    }
    progress.update(|p| p.running = false);
    Ok(())
}
