//! Loading the sample calls the demo starts with. Each call is a folder with a
//! `call.json` manifest naming its payload, its recording and the channel layout.

use std::path::{Path, PathBuf};

use anyhow::Context;
use callscope_api_types as api;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::import::{ImportRequest, LayoutChoice, import_call};
use crate::runtime::OtlpEncoding;

#[derive(Debug, serde::Deserialize)]
struct Manifest {
    title: String,
    payload: PathBuf,
    recording: Option<PathBuf>,
    layout: Option<api::ChannelLayout>,
    /// `otlp-json` or `otlp-protobuf` when the payload is an OTLP trace export rather
    /// than a call report.
    #[serde(default)]
    ingest: Option<String>,
}

/// Imports every `*/call.json` under `dir` whose payload is not stored yet; returns
/// how many calls were imported.
pub async fn load(state: &AppState, dir: &Path) -> anyhow::Result<usize> {
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading sample calls folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("call.json")))
        .filter(|path| path.is_file())
        .collect();
    manifests.sort();

    let mut imported = 0;
    for manifest_path in manifests {
        if load_one(state, &manifest_path).await.with_context(|| format!("importing {}", manifest_path.display()))? {
            imported += 1;
        }
    }
    Ok(imported)
}

async fn load_one(state: &AppState, manifest_path: &Path) -> anyhow::Result<bool> {
    let folder = manifest_path.parent().expect("a manifest path has a parent");
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(manifest_path)?)?;
    let payload = std::fs::read(folder.join(&manifest.payload))
        .with_context(|| format!("reading payload {}", manifest.payload.display()))?;

    if state.storage.has_payload(hex::encode(Sha256::digest(&payload))).await? {
        tracing::debug!(title = %manifest.title, "sample call already stored");
        return Ok(false);
    }

    if let Some(encoding) = &manifest.ingest {
        load_traces(state, &manifest.title, encoding, payload).await?;
        return Ok(true);
    }

    // The import moves its recording into place, so it gets a copy of the sample.
    let recording = match &manifest.recording {
        Some(relative) => {
            let uploads = state.data_dir.join("uploads");
            std::fs::create_dir_all(&uploads)?;
            let copy = uploads.join(format!("sample-{}.wav", uuid::Uuid::new_v4()));
            std::fs::copy(folder.join(relative), &copy)
                .with_context(|| format!("copying recording {}", relative.display()))?;
            Some(copy)
        }
        None => None,
    };
    let layout = match manifest.layout {
        None => LayoutChoice::Auto,
        Some(api::ChannelLayout::Mixed) => LayoutChoice::Mixed,
        Some(api::ChannelLayout::Separate { user_channel: 0, .. }) => LayoutChoice::UserLeft,
        Some(api::ChannelLayout::Separate { .. }) => LayoutChoice::UserRight,
    };

    let request = ImportRequest { title: Some(manifest.title.clone()), payload, recording, layout, format: None };
    let summary = import_call(state.runtime(), &state.storage, &state.data_dir, state.settings.clone(), request).await?;
    tracing::info!(call_id = %summary.id, title = %summary.title, "sample call loaded");
    Ok(true)
}

/// Loads an OTLP trace export the way the `/v1/traces` endpoint does.
async fn load_traces(state: &AppState, title: &str, encoding: &str, payload: Vec<u8>) -> anyhow::Result<()> {
    let encoding = match encoding {
        "otlp-json" => OtlpEncoding::Json,
        "otlp-protobuf" => OtlpEncoding::Protobuf,
        other => anyhow::bail!("unknown ingest kind {other:?}; use otlp-json or otlp-protobuf"),
    };
    let spans = state.runtime().split_otlp(&payload, encoding)?;
    for (call_id, _) in crate::traces::store_spans(state, spans).await? {
        state.storage.set_title(call_id.clone(), title.to_owned()).await?;
        tracing::info!(%call_id, "sample trace loaded");
    }
    Ok(())
}
