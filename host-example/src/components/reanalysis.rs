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

    /// Asks the job to look for calls analysed by another version. The progress shows
    /// it running from here on, so a poll never takes the previous pass's end for this one's.
    pub fn request(&self) {
        self.update(|p| p.running = true);
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
/// Requests that began before an install may still store analyses of the old version
/// after the first query, so the pass queries again until only calls it already tried
/// remain.
async fn pass(state: &AppState) -> Result<(), crate::storage::StorageError> {
    let progress = &state.components.reanalysis;
    let runtime = state.components.active();
    let target = runtime.sha256().to_owned();
    let mut pending = state.storage.calls_not_analysed_by(target.clone()).await?;
    progress.update(|p| *p = api::ReanalysisProgress { target_sha256: target.clone(), total: pending.len() as u64, done: 0, failed: 0, running: !pending.is_empty() });
    if pending.is_empty() {
        return Ok(());
    }
    tracing::info!(component_sha = %target, calls = pending.len(), "re-analysing stored calls with the active component");

    let mut tried = std::collections::HashSet::new();
    while !pending.is_empty() {
        let total = progress.snapshot().total;
        for call_id in pending {
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
            tried.insert(call_id);
            let finished = progress.snapshot();
            let finished = finished.done + finished.failed;
            if finished % 50 == 0 || finished == total {
                tracing::info!(component_sha = %target, done = finished, total, "re-analysis progress");
            }
        }
        pending = state.storage.calls_not_analysed_by(target.clone()).await?;
        pending.retain(|call_id| !tried.contains(call_id));
        if !pending.is_empty() {
            tracing::info!(component_sha = %target, calls = pending.len(), "calls stored by the previous version during the pass; re-analysing them too");
            progress.update(|p| p.total += pending.len() as u64);
        }
    }
    progress.update(|p| p.running = false);
    Ok(())
}
