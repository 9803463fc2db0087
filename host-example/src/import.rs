//! Importing a call. The component normalises the payload, decodes the recording and
//! analyses both. The host then moves the files into place and stores everything in
//! one transaction, so a failure at any step leaves nothing behind.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use callscope_api_types as api;
use sha2::{Digest, Sha256};

use crate::recording_fetch::{RecordingFetcher, fetching_off_finding};
use crate::runtime::{ComponentError, ComponentRuntime};
use crate::storage::{NewCall, Storage, StorageError, StoredRecording};

/// Mapping of the recording's channels to parties, as the uploader states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutChoice {
    /// Two channels: user on channel 0, bot on channel 1; one channel: mixed.
    #[default]
    Auto,
    Mixed,
    UserLeft,
    UserRight,
}

impl std::str::FromStr for LayoutChoice {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "" | "auto" => Ok(Self::Auto),
            "mixed" => Ok(Self::Mixed),
            "user-left" => Ok(Self::UserLeft),
            "user-right" => Ok(Self::UserRight),
            other => Err(format!(
                "invalid layout {other:?}; use auto, mixed, user-left (user on channel 0) or user-right (user on channel 1)"
            )),
        }
    }
}

/// A call to import: the payload bytes, and the recording already written to a file
/// under the data directory that the import may move.
#[derive(Debug)]
pub struct ImportRequest {
    pub title: Option<String>,
    pub payload: Vec<u8>,
    pub recording: Option<PathBuf>,
    pub layout: LayoutChoice,
    /// The format the uploader says the payload is in; `None` detects it.
    pub format: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Component(#[from] ComponentError),
    #[error("the payload is in format {detected}, not {named} as the upload says; name the right format or leave it out")]
    FormatMismatch { named: String, detected: String },
    #[error("unknown format {named}; leave the format out to detect it, or name one of: {}", .known.join(", "))]
    UnknownFormatName { named: String, known: Vec<String> },
    #[error("the recording has {channels} channel(s); layout {layout} needs exactly 2; use layout auto or mixed for it")]
    LayoutMismatch { channels: u16, layout: &'static str },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("file operation failed on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the import task failed: {0}")]
    Task(String),
    #[error("this call ({vendor_key}) was already imported as call {call_id}; open that call, or import another")]
    AlreadyImported { vendor_key: String, call_id: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_owned(), source }
}

/// Imports one call and returns its summary.
pub async fn import_call(
    runtime: Arc<ComponentRuntime>,
    storage: &Storage,
    data_dir: &Path,
    settings: api::AnalysisSettings,
    request: ImportRequest,
) -> Result<api::CallSummary, ImportError> {
    import_call_fetching(runtime, storage, data_dir, settings, request, None).await
}

/// Imports one call like [`import_call`]; when the request has no recording and the
/// payload names recording URLs, `fetcher` fetches one from an allow-listed host.
pub async fn import_call_fetching(
    runtime: Arc<ComponentRuntime>,
    storage: &Storage,
    data_dir: &Path,
    settings: api::AnalysisSettings,
    request: ImportRequest,
    fetcher: Option<Arc<RecordingFetcher>>,
) -> Result<api::CallSummary, ImportError> {
    let id = uuid::Uuid::new_v4().to_string();
    let staging = data_dir.join("staging").join(&id);
    let final_dir = data_dir.join("recordings").join(&id);

    let result = async {
        let mut request = request;
        if let Some(upload) = request.recording.take() {
            std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
            let staged = staging.join("source.wav");
            std::fs::rename(&upload, &staged).map_err(io_error(&upload))?;
            request.recording = Some(staged);
        }

        let staging_for_task = staging.clone();
        let id_for_task = id.clone();
        let new_call = tokio::task::spawn_blocking(move || {
            process(&runtime, &id_for_task, &staging_for_task, &settings, request, fetcher.as_deref())
        })
        .await
        .map_err(|e| ImportError::Task(e.to_string()))??;

        if new_call.recording.is_some() {
            std::fs::create_dir_all(final_dir.parent().expect("recordings dir has a parent"))
                .map_err(io_error(&final_dir))?;
            std::fs::rename(&staging, &final_dir).map_err(io_error(&final_dir))?;
        }
        let summary = new_call.summary.clone();
        if let Some(vendor_key) = &new_call.vendor_key
            && let Some(call_id) = storage.id_for_vendor_key(vendor_key.clone()).await?
        {
            remove_dir_logged(&final_dir);
            return Err(ImportError::AlreadyImported { vendor_key: vendor_key.clone(), call_id });
        }
        if let Err(e) = storage.insert_call(new_call).await {
            remove_dir_logged(&final_dir);
            return Err(e.into());
        }
        Ok(summary)
    }
    .await;

    remove_dir_logged(&staging);
    match &result {
        Ok(summary) => tracing::info!(call_id = %summary.id, format = %summary.format, "call imported"),
        Err(e) => tracing::warn!(call_id = %id, error = %e, "call import failed"),
    }
    result
}

fn remove_dir_logged(dir: &Path) {
    if dir.exists()
        && let Err(e) = std::fs::remove_dir_all(dir)
    {
        tracing::warn!(path = %dir.display(), error = %e, "could not remove directory after import");
    }
}

/// Runs the component steps on a blocking thread.
fn process(
    runtime: &ComponentRuntime,
    id: &str,
    staging: &Path,
    settings: &api::AnalysisSettings,
    mut request: ImportRequest,
    fetcher: Option<&RecordingFetcher>,
) -> Result<NewCall, ImportError> {
    let mut call = runtime.normalize(&request.payload)?;
    if let Some(named) = request.format.take().filter(|f| !f.is_empty() && *f != call.format) {
        // A component of interface 0.1 cannot list its formats; its error stays the mismatch.
        if let Ok(Some(info)) = runtime.describe()
            && !info.formats.contains(&named)
        {
            return Err(ImportError::UnknownFormatName { named, known: info.formats });
        }
        return Err(ImportError::FormatMismatch { named, detected: call.format });
    }

    // An uploaded recording wins; a URL from the payload is fetched only without one.
    if request.recording.is_none() {
        match fetcher.filter(|fetcher| fetcher.is_enabled()) {
            Some(fetcher) => request.recording = fetch_recording(fetcher, staging, &mut call)?,
            None => call.findings.extend(fetching_off_finding(&call.recording_urls)),
        }
    }

    let (recording, peaks) = match &request.recording {
        Some(source) => {
            let (recording, peaks) = decode(runtime, id, staging, source, request.layout)?;
            (Some(recording), peaks)
        }
        None => (None, Vec::new()),
    };

    let (activity, layout) = match &recording {
        Some(r) => (r.activity.clone(), r.layout),
        None => (Vec::new(), api::ChannelLayout::Mixed),
    };
    let analysis = runtime.analyze(&call.utterances, &activity, layout, settings)?;

    let summary = summarise(id, request.title, &call, &analysis, recording.as_ref());
    Ok(NewCall {
        summary,
        vendor_key: vendor_key(&call),
        payload_sha256: hex::encode(Sha256::digest(&request.payload)),
        payload: request.payload,
        call,
        analysis,
        recording,
        peaks,
        analysed_by: runtime.version(),
    })
}

/// Fetches the first allowed recording URL of `call` into `staging/source.wav`, on the
/// blocking thread an import runs on. Adds a finding to `call` for each URL skipped or
/// failed; returns the file when one was fetched.
fn fetch_recording(
    fetcher: &RecordingFetcher,
    staging: &Path,
    call: &mut api::NormalizedCall,
) -> Result<Option<PathBuf>, ImportError> {
    if call.recording_urls.is_empty() || !fetcher.is_enabled() {
        return Ok(None);
    }
    std::fs::create_dir_all(staging).map_err(io_error(staging))?;
    let destination = staging.join("source.wav");
    let outcome = tokio::runtime::Handle::current().block_on(fetcher.fetch_first(&call.recording_urls, &destination));
    call.findings.extend(outcome.findings);
    Ok(outcome.fetched_bytes.map(|_| destination))
}

/// Decodes the staged recording; writes `playback.wav` beside it when the source is
/// not browser-playable.
fn decode(
    runtime: &ComponentRuntime,
    id: &str,
    staging: &Path,
    source: &Path,
    choice: LayoutChoice,
) -> Result<(StoredRecording, Vec<api::PeaksLevel>), ImportError> {
    let playback_path = staging.join("playback.wav");
    let mut playback = File::create(&playback_path).map_err(io_error(&playback_path))?;
    // Room for the WAV header, written once the length is known.
    playback.write_all(&[0u8; 44]).map_err(io_error(&playback_path))?;

    let mut reader = BufReader::new(File::open(source).map_err(io_error(source))?);
    let (summary, _playback_bytes) = runtime.decode_recording(&mut reader, &mut playback)?;

    let playback_name = match &summary.playback_wav_header {
        Some(header) => {
            playback.seek(SeekFrom::Start(0)).map_err(io_error(&playback_path))?;
            playback.write_all(header).map_err(io_error(&playback_path))?;
            "playback.wav"
        }
        None => {
            drop(playback);
            std::fs::remove_file(&playback_path).map_err(io_error(&playback_path))?;
            source.file_name().and_then(|n| n.to_str()).unwrap_or("source.wav")
        }
    };

    let layout = resolve_layout(choice, summary.format.channels)?;
    let recording = StoredRecording {
        format: summary.format,
        layout,
        activity: summary.activity,
        levels: summary.levels,
        playback_path: format!("recordings/{id}/{playback_name}"),
    };
    Ok((recording, summary.peaks))
}

/// Returns the key under which later payloads of the same call update it.
pub fn vendor_key(call: &api::NormalizedCall) -> Option<String> {
    call.vendor_call_id.as_ref().map(|id| format!("{}:{id}", call.format))
}

/// Stores a call that arrived as a webhook or trace batch: a call already stored under
/// the same vendor key is updated (keeping its recording), any other is inserted.
/// Returns the call id and whether the call is new.
pub async fn ingest_event(
    runtime: Arc<ComponentRuntime>,
    storage: &Storage,
    settings: api::AnalysisSettings,
    payload: Vec<u8>,
    call: api::NormalizedCall,
) -> Result<(String, bool), ImportError> {
    ingest_event_fetching(runtime, storage, settings, payload, call, None).await
}

/// Stores a call like [`ingest_event`]. A new call whose payload names recording
/// URLs gets its recording through `fetch`: the fetcher, and the data directory the
/// recording is stored under.
///
/// NOTE: a call that is already stored keeps what it has: a later delivery never adds
/// a recording, since the storage update keeps the recording and peaks as they are.
pub async fn ingest_event_fetching(
    runtime: Arc<ComponentRuntime>,
    storage: &Storage,
    settings: api::AnalysisSettings,
    payload: Vec<u8>,
    call: api::NormalizedCall,
    fetch: Option<(Arc<RecordingFetcher>, PathBuf)>,
) -> Result<(String, bool), ImportError> {
    let key = vendor_key(&call);
    let existing = match &key {
        Some(key) => match storage.id_for_vendor_key(key.clone()).await? {
            Some(id) => storage.get_call(id).await?,
            None => None,
        },
        None => None,
    };

    let id = existing.as_ref().map(|e| e.summary.id.clone()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let recording = existing.as_ref().and_then(|e| e.recording.clone());
    let title = existing.as_ref().map(|e| e.summary.title.clone());

    // Only a new call may fetch: see the note above.
    let fetching_off = existing.is_none() && !fetch.as_ref().is_some_and(|(fetcher, _)| fetcher.is_enabled());
    let fetch = fetch.filter(|_| existing.is_none());
    let staging = fetch.as_ref().map(|(_, data_dir)| data_dir.join("staging").join(&id));
    let final_dir = fetch.as_ref().map(|(_, data_dir)| data_dir.join("recordings").join(&id));

    let id_for_task = id.clone();
    let staging_for_task = staging.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(NewCall, bool), ImportError> {
        let mut call = call;
        let mut recording = recording;
        let mut peaks = Vec::new();
        let mut fetched = false;
        if fetching_off {
            call.findings.extend(fetching_off_finding(&call.recording_urls));
        }
        if let (Some((fetcher, _)), Some(staging)) = (&fetch, &staging_for_task)
            && let Some(source) = fetch_recording(fetcher, staging, &mut call)?
        {
            let (decoded, decoded_peaks) = decode(&runtime, &id_for_task, staging, &source, LayoutChoice::Auto)?;
            recording = Some(decoded);
            peaks = decoded_peaks;
            fetched = true;
        }

        let (activity, layout) = match &recording {
            Some(r) => (r.activity.clone(), r.layout),
            None => (Vec::new(), api::ChannelLayout::Mixed),
        };
        let analysis = runtime.analyze(&call.utterances, &activity, layout, &settings)?;
        let summary = summarise(&id_for_task, title, &call, &analysis, recording.as_ref());
        let new_call = NewCall {
            summary,
            vendor_key: vendor_key(&call),
            payload_sha256: hex::encode(Sha256::digest(&payload)),
            payload,
            call,
            analysis,
            recording,
            peaks,
            analysed_by: runtime.version(),
        };
        Ok((new_call, fetched))
    })
    .await
    .map_err(|e| ImportError::Task(e.to_string()));

    let stored = async {
        let (new_call, fetched) = result??;
        if let Some(key) = key {
            if storage.update_by_vendor_key(key.clone(), new_call.clone()).await? {
                tracing::info!(call_id = %id, vendor_key = %key, "call updated from event");
                return Ok((id.clone(), false));
            }
        }

        // A fetched recording moves into place before the row that points to it.
        if let (true, Some(staging), Some(final_dir)) = (fetched, &staging, &final_dir) {
            std::fs::create_dir_all(final_dir.parent().expect("recordings dir has a parent")).map_err(io_error(final_dir))?;
            std::fs::rename(staging, final_dir).map_err(io_error(final_dir))?;
        }
        if let Err(e) = storage.insert_call(new_call).await {
            if let Some(final_dir) = final_dir.as_ref().filter(|_| fetched) {
                remove_dir_logged(final_dir);
            }
            return Err(e.into());
        }
        tracing::info!(call_id = %id, recording_fetched = fetched, "call created from event");
        Ok((id.clone(), true))
    }
    .await;

    if let Some(staging) = &staging {
        remove_dir_logged(staging);
    }
    stored
}

fn resolve_layout(choice: LayoutChoice, channels: u16) -> Result<api::ChannelLayout, ImportError> {
    let separate = |user_channel, bot_channel, layout| {
        if channels == 2 {
            Ok(api::ChannelLayout::Separate { user_channel, bot_channel })
        } else {
            Err(ImportError::LayoutMismatch { channels, layout })
        }
    };
    match choice {
        LayoutChoice::Auto if channels == 2 => Ok(api::ChannelLayout::Separate { user_channel: 0, bot_channel: 1 }),
        LayoutChoice::Auto | LayoutChoice::Mixed => Ok(api::ChannelLayout::Mixed),
        LayoutChoice::UserLeft => separate(0, 1, "user-left"),
        LayoutChoice::UserRight => separate(1, 0, "user-right"),
    }
}

fn summarise(
    id: &str,
    title: Option<String>,
    call: &api::NormalizedCall,
    analysis: &api::CallAnalysis,
    recording: Option<&StoredRecording>,
) -> api::CallSummary {
    // Latency measured on the recording is what the caller heard; vendor-reported
    // times are the fallback when no recording exists.
    let measured = |source| analysis.latencies.iter().filter(move |l| l.source == source).map(|l| l.latency_ms).max();
    let max_latency_ms = measured(api::MeasureSource::Audio).or_else(|| measured(api::MeasureSource::Events));

    // The analysis reports pauses and overlaps from both sources; the list counts one
    // source so a gap seen in both is not counted twice.
    let count = |sources: Vec<api::MeasureSource>| {
        let audio = sources.iter().filter(|s| **s == api::MeasureSource::Audio).count();
        let events = sources.len() - audio;
        if recording.is_some() && audio > 0 { audio } else { events }
    };
    let pause_count = count(analysis.pauses.iter().map(|p| p.source).collect());
    let overlap_count = count(analysis.overlaps.iter().map(|o| o.source).collect());

    let title = title
        .filter(|t| !t.trim().is_empty())
        .or_else(|| call.vendor_call_id.as_ref().map(|v| format!("Call {v}")))
        .unwrap_or_else(|| format!("Call {}", &id[..8]));
    let imported_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    api::CallSummary {
        id: id.to_owned(),
        title,
        format: call.format.clone(),
        imported_at,
        duration_ms: recording.map(|r| r.format.duration_ms).or(call.duration_ms),
        utterance_count: call.utterances.len() as u32,
        max_latency_ms,
        pause_count: pause_count as u32,
        overlap_count: overlap_count as u32,
        has_recording: recording.is_some(),
        live: false,
    }
}

/// Analyses a stored call again with `runtime` from its stored utterances and speech
/// activity, keeping its title and import time, and stores the result with the
/// component's version.
pub async fn reanalyse(
    runtime: Arc<ComponentRuntime>,
    storage: &Storage,
    settings: api::AnalysisSettings,
    call_id: String,
) -> Result<(), ImportError> {
    let Some(stored) = storage.get_call(call_id.clone()).await? else { return Ok(()) };
    let (summary, analysis, version) = tokio::task::spawn_blocking(move || -> Result<_, ImportError> {
        let (activity, layout) = match &stored.recording {
            Some(r) => (r.activity.clone(), r.layout),
            None => (Vec::new(), api::ChannelLayout::Mixed),
        };
        let analysis = runtime.analyze(&stored.call.utterances, &activity, layout, &settings)?;
        let mut summary = summarise(&call_id, Some(stored.summary.title.clone()), &stored.call, &analysis, stored.recording.as_ref());
        summary.imported_at = stored.summary.imported_at.clone();
        summary.live = stored.summary.live;
        Ok((summary, analysis, runtime.version()))
    })
    .await
    .map_err(|e| ImportError::Task(e.to_string()))??;
    storage.replace_analysis(summary, analysis, version).await?;
    Ok(())
}
