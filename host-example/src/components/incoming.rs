//! Installs from the command line. `callscope-host install FILE` drops the file into
//! `<data dir>/components/incoming/` and the running server, which watches that
//! folder, installs it through the same checks as an upload and writes the outcome
//! next to it for the command to print. Write access to the data directory is what
//! authorises it, as it does for the database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use callscope_api_types as api;
use serde::{Deserialize, Serialize};

use super::InstallError;
use crate::app::AppState;

/// How often the server looks into the incoming folder.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Outcome the server writes back for one dropped file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Installed { component: api::InstalledComponent },
    Refused { check: String, message: String },
    Failed { message: String },
}

pub fn incoming_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("components").join("incoming")
}

fn outcome_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("outcome.json")
}

/// Watches the incoming folder of `data_dir` for as long as the server runs.
pub async fn watch(state: AppState, data_dir: PathBuf) {
    let dir = incoming_dir(&data_dir);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        tracing::error!(path = %dir.display(), %error, "cannot create the incoming component folder; command-line installs are off");
        return;
    }
    loop {
        if let Err(error) = process_once(&state, &dir).await {
            tracing::warn!(path = %dir.display(), %error, "reading the incoming component folder failed");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Installs every `*.wasm` waiting in `dir` and writes its outcome file.
pub async fn process_once(state: &AppState, dir: &Path) -> std::io::Result<()> {
    let mut waiting: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    waiting.sort();
    for wasm in waiting {
        let bytes = std::fs::read(&wasm)?;
        let signature_path = super::signature_path(&wasm);
        let signature = std::fs::read(&signature_path).ok();
        let slot = state.components.clone();
        let outcome = tokio::task::spawn_blocking(move || slot.install(&bytes, signature.as_deref(), "command line"))
            .await
            .map_err(std::io::Error::other)?;
        let outcome = match outcome {
            Ok(component) => {
                let detail = format!("interface {}, from the command line", component.interface_version);
                audit(state, "component.install", component.sha256.clone(), detail).await;
                state.components.reanalysis.request();
                Outcome::Installed { component }
            }
            Err(InstallError::Refused(refusal)) => {
                audit(state, "component.refused", "command line".into(), format!("{} check: {}", refusal.check, refusal.message)).await;
                Outcome::Refused { check: refusal.check.into(), message: refusal.message }
            }
            Err(error) => Outcome::Failed { message: error.to_string() },
        };
        let json = serde_json::to_vec_pretty(&outcome).expect("serialising an install outcome");
        let temporary = wasm.with_extension("outcome.tmp");
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, outcome_path(&wasm))?;
        std::fs::remove_file(&wasm)?;
        let _ = std::fs::remove_file(signature_path);
    }
    Ok(())
}

async fn audit(state: &AppState, action: &'static str, subject: String, detail: String) {
    if let Err(error) = state.storage.audit(None, action, subject, detail).await {
        tracing::error!(%error, "writing the audit log failed");
    }
}

/// Drops `component` (and its signature, when given) into the incoming folder of
/// `data_dir` and waits up to `timeout` for the server's outcome.
pub fn submit(data_dir: &Path, component: &Path, signature: Option<&Path>, timeout: Duration) -> anyhow::Result<Outcome> {
    use anyhow::Context;

    let dir = incoming_dir(data_dir);
    anyhow::ensure!(
        dir.is_dir(),
        "{} does not exist: start the server with --data-dir {} first, it creates the folder and installs what lands in it",
        dir.display(),
        data_dir.display()
    );
    let bytes = std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
    let name = format!("{}.wasm", uuid::Uuid::new_v4().simple());
    let target = dir.join(&name);
    if let Some(signature) = signature {
        let signature_bytes = std::fs::read(signature).with_context(|| format!("reading {}", signature.display()))?;
        std::fs::write(super::signature_path(&target), signature_bytes).context("writing the signature")?;
    }
    // Written under another name first, so the server never reads half a file.
    let temporary = dir.join(format!("{name}.partial"));
    std::fs::write(&temporary, &bytes).context("writing into the incoming folder")?;
    std::fs::rename(&temporary, &target).context("moving the component into place")?;

    let outcome = outcome_path(&target);
    let started = std::time::Instant::now();
    while started.elapsed() < timeout {
        if let Ok(json) = std::fs::read(&outcome) {
            let _ = std::fs::remove_file(&outcome);
            return serde_json::from_slice(&json).context("reading the server's outcome");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    anyhow::bail!(
        "no answer from the server within {} s; is it running with --data-dir {}? The file waits in {}",
        timeout.as_secs(),
        data_dir.display(),
        target.display()
    )
}
