//! SQLite storage of calls: one database file in the data directory, WAL mode, one
//! transaction per imported call so a failed import leaves nothing behind.

use std::path::Path;
use std::sync::{Arc, Mutex};

use callscope_api_types as api;
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("stored JSON of call {call_id} is unreadable: {source}")]
    Corrupt { call_id: String, source: serde_json::Error },
    #[error("the storage task failed: {0}")]
    Task(String),
}

/// Everything stored for one imported call.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub summary: api::CallSummary,
    /// `format:vendor call id` when the payload names the call, for updates by later
    /// webhooks of the same call.
    pub vendor_key: Option<String>,
    pub payload: Vec<u8>,
    pub payload_sha256: String,
    pub call: api::NormalizedCall,
    pub analysis: api::CallAnalysis,
    pub recording: Option<StoredRecording>,
    pub peaks: Vec<api::PeaksLevel>,
    pub analysed_by: api::ComponentVersion,
}

/// A recording's facts and where its playable file lies under the data directory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredRecording {
    pub format: api::AudioFormat,
    pub layout: api::ChannelLayout,
    pub activity: Vec<api::ChannelActivity>,
    pub levels: Vec<api::ChannelLevels>,
    /// Path of the browser-playable WAV relative to the data directory.
    pub playback_path: String,
}

/// A call as read back for the call view.
#[derive(Debug, Clone)]
pub struct StoredCall {
    pub summary: api::CallSummary,
    pub call: api::NormalizedCall,
    pub analysis: api::CallAnalysis,
    pub recording: Option<StoredRecording>,
    pub analysed_by: api::ComponentVersion,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    format TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    duration_ms INTEGER,
    utterance_count INTEGER NOT NULL,
    max_latency_ms INTEGER,
    pause_count INTEGER NOT NULL,
    overlap_count INTEGER NOT NULL,
    has_recording INTEGER NOT NULL,
    live INTEGER NOT NULL DEFAULT 0,
    -- `format:vendor call id`, so repeated webhooks and trace batches of one call
    -- update one row.
    vendor_key TEXT UNIQUE,
    payload_sha256 TEXT NOT NULL,
    normalized_json TEXT NOT NULL,
    analysis_json TEXT NOT NULL,
    recording_json TEXT,
    component_sha256 TEXT NOT NULL,
    interface_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_imported_at ON calls (imported_at);
CREATE INDEX IF NOT EXISTS calls_payload_sha256 ON calls (payload_sha256);
CREATE TABLE IF NOT EXISTS raw_payloads (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls (id),
    received_at TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS raw_payloads_call ON raw_payloads (call_id);
CREATE TABLE IF NOT EXISTS otlp_spans (
    conversation_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    span_json TEXT NOT NULL,
    PRIMARY KEY (conversation_id, span_id)
);
CREATE TABLE IF NOT EXISTS peaks (
    call_id TEXT NOT NULL REFERENCES calls (id),
    level INTEGER NOT NULL,
    samples_per_pixel INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (call_id, level)
);
";

/// A handle to the database, cheap to clone. Queries run on blocking threads.
#[derive(Clone)]
pub struct Storage {
    connection: Arc<Mutex<Connection>>,
}

impl Storage {
    /// Opens (creating if needed) `callscope.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StorageError> {
        let mut connection = Connection::open(data_dir.join("callscope.sqlite3"))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.execute_batch(SCHEMA)?;
        connection.execute_batch(crate::live::store::SCHEMA)?;
        crate::live::store::index_rejected_events(&mut connection)?;
        connection.execute_batch(crate::review_store::SCHEMA)?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)) })
    }

    pub(crate) async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Stores a call, its raw payload and its peaks in one transaction.
    pub async fn insert_call(&self, new: NewCall) -> Result<(), StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let summary = &new.summary;
            let recording_json = new.recording.as_ref().map(|r| serde_json::to_string(r).expect("serialising a recording"));
            transaction.execute(
                "INSERT INTO calls (id, title, format, imported_at, duration_ms, utterance_count, max_latency_ms,
                    pause_count, overlap_count, has_recording, payload_sha256, normalized_json, analysis_json,
                    recording_json, component_sha256, interface_version, vendor_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    summary.id,
                    summary.title,
                    summary.format,
                    summary.imported_at,
                    summary.duration_ms,
                    summary.utterance_count,
                    summary.max_latency_ms,
                    summary.pause_count,
                    summary.overlap_count,
                    summary.has_recording,
                    new.payload_sha256,
                    serde_json::to_string(&new.call).expect("serialising a call"),
                    serde_json::to_string(&new.analysis).expect("serialising an analysis"),
                    recording_json,
                    new.analysed_by.sha256,
                    new.analysed_by.interface_version,
                    new.vendor_key,
                ],
            )?;
            insert_raw_payload(&transaction, &summary.id, &summary.imported_at, &new.payload)?;
            for (level, peaks) in new.peaks.iter().enumerate() {
                let bytes: Vec<u8> = peaks.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                transaction.execute(
                    "INSERT INTO peaks (call_id, level, samples_per_pixel, channels, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![summary.id, level as i64, peaks.samples_per_pixel, peaks.channels, bytes],
                )?;
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    /// Returns the ids of finished calls whose analysis another component produced.
    pub async fn calls_not_analysed_by(&self, component_sha256: String) -> Result<Vec<String>, StorageError> {
        self.with(move |connection| {
            let mut statement =
                connection.prepare("SELECT id FROM calls WHERE component_sha256 != ?1 AND live = 0 ORDER BY imported_at, id")?;
            let ids = statement.query_map(params![component_sha256], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// Replaces a call's analysis and the summary numbers derived from it, recording
    /// the component version that produced it.
    pub async fn replace_analysis(
        &self,
        summary: api::CallSummary,
        analysis: api::CallAnalysis,
        analysed_by: api::ComponentVersion,
    ) -> Result<(), StorageError> {
        self.with(move |connection| {
            connection.execute(
                "UPDATE calls SET analysis_json = ?2, max_latency_ms = ?3, pause_count = ?4, overlap_count = ?5,
                    component_sha256 = ?6, interface_version = ?7 WHERE id = ?1",
                params![
                    summary.id,
                    serde_json::to_string(&analysis).expect("serialising an analysis"),
                    summary.max_latency_ms,
                    summary.pause_count,
                    summary.overlap_count,
                    analysed_by.sha256,
                    analysed_by.interface_version,
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Returns a page of calls, newest first, and the total count.
    pub async fn list_calls(&self, offset: u64, limit: u64) -> Result<api::CallList, StorageError> {
        self.with(move |connection| {
            let total: i64 = connection.query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0))?;
            let mut statement = connection.prepare(
                "SELECT id, title, format, imported_at, duration_ms, utterance_count, max_latency_ms, pause_count,
                        overlap_count, has_recording, live
                 FROM calls ORDER BY imported_at DESC, id LIMIT ?1 OFFSET ?2",
            )?;
            let calls = statement
                .query_map(params![limit as i64, offset as i64], summary_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(api::CallList { calls, total: total as u64 })
        })
        .await
    }

    /// Reads one call, or `None` when no call has this id.
    pub async fn get_call(&self, id: String) -> Result<Option<StoredCall>, StorageError> {
        self.with(move |connection| {
            let row = connection
                .query_row(
                    "SELECT id, title, format, imported_at, duration_ms, utterance_count, max_latency_ms, pause_count,
                            overlap_count, has_recording, live, normalized_json, analysis_json, recording_json,
                            component_sha256, interface_version
                     FROM calls WHERE id = ?1",
                    params![id],
                    |row| {
                        Ok((
                            summary_from_row(row)?,
                            row.get::<_, String>(11)?,
                            row.get::<_, String>(12)?,
                            row.get::<_, Option<String>>(13)?,
                            row.get::<_, String>(14)?,
                            row.get::<_, String>(15)?,
                        ))
                    },
                )
                .optional()?;
            let Some((summary, call_json, analysis_json, recording_json, sha256, interface_version)) = row else {
                return Ok(None);
            };
            let corrupt = |source| StorageError::Corrupt { call_id: summary.id.clone(), source };
            let call = serde_json::from_str(&call_json).map_err(corrupt)?;
            let analysis = serde_json::from_str(&analysis_json).map_err(corrupt)?;
            let recording = recording_json.map(|json| serde_json::from_str(&json)).transpose().map_err(corrupt)?;
            Ok(Some(StoredCall {
                summary,
                call,
                analysis,
                recording,
                analysed_by: api::ComponentVersion { interface_version, sha256 },
            }))
        })
        .await
    }

    /// Reads every level of a call's peaks pyramid, finest first.
    pub async fn get_peaks(&self, id: String) -> Result<Vec<api::PeaksLevel>, StorageError> {
        self.with(move |connection| {
            let mut statement = connection
                .prepare("SELECT samples_per_pixel, channels, data FROM peaks WHERE call_id = ?1 ORDER BY level")?;
            let levels = statement
                .query_map(params![id], |row| {
                    let bytes: Vec<u8> = row.get(2)?;
                    Ok(api::PeaksLevel {
                        samples_per_pixel: row.get(0)?,
                        channels: row.get(1)?,
                        data: bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(levels)
        })
        .await
    }

    /// Returns whether a call with this raw payload was already imported.
    pub async fn has_payload(&self, payload_sha256: String) -> Result<bool, StorageError> {
        self.with(move |connection| {
            let found = connection
                .query_row("SELECT 1 FROM calls WHERE payload_sha256 = ?1 LIMIT 1", params![payload_sha256], |_| Ok(()))
                .optional()?;
            Ok(found.is_some())
        })
        .await
    }

    /// Replaces the transcript, analysis and numbers of the call stored under
    /// `vendor_key` with those of `new`, keeping its id, title, recording and peaks,
    /// and appends the raw payload. Returns `false` when no call has that key.
    pub async fn update_by_vendor_key(&self, vendor_key: String, new: NewCall) -> Result<bool, StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let id: Option<String> = transaction
                .query_row("SELECT id FROM calls WHERE vendor_key = ?1", params![vendor_key], |row| row.get(0))
                .optional()?;
            let Some(id) = id else {
                return Ok(false);
            };
            let summary = &new.summary;
            transaction.execute(
                "UPDATE calls SET format = ?2, duration_ms = COALESCE(?3, duration_ms), utterance_count = ?4,
                    max_latency_ms = ?5, pause_count = ?6, overlap_count = ?7, payload_sha256 = ?8,
                    normalized_json = ?9, analysis_json = ?10, component_sha256 = ?11, interface_version = ?12
                 WHERE id = ?1",
                params![
                    id,
                    summary.format,
                    summary.duration_ms,
                    summary.utterance_count,
                    summary.max_latency_ms,
                    summary.pause_count,
                    summary.overlap_count,
                    new.payload_sha256,
                    serde_json::to_string(&new.call).expect("serialising a call"),
                    serde_json::to_string(&new.analysis).expect("serialising an analysis"),
                    new.analysed_by.sha256,
                    new.analysed_by.interface_version,
                ],
            )?;
            insert_raw_payload(&transaction, &id, &summary.imported_at, &new.payload)?;
            transaction.commit()?;
            Ok(true)
        })
        .await
    }

    /// Returns the id of the call stored under `vendor_key`, if any.
    pub async fn id_for_vendor_key(&self, vendor_key: String) -> Result<Option<String>, StorageError> {
        self.with(move |connection| {
            Ok(connection
                .query_row("SELECT id FROM calls WHERE vendor_key = ?1", params![vendor_key], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    /// Stores trace spans of one conversation, ignoring span ids already stored, and
    /// returns every span of that conversation. Spans of the same traces filed earlier
    /// under `trace:<trace id>`, because their request named no conversation, move to
    /// this conversation. The second returned list names those placeholder keys.
    pub async fn add_spans(
        &self,
        conversation_id: String,
        spans: Vec<crate::runtime::OtlpSpan>,
    ) -> Result<(Vec<String>, Vec<String>), StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let mut moved_from = Vec::new();
            for span in &spans {
                transaction.execute(
                    "INSERT OR IGNORE INTO otlp_spans (conversation_id, trace_id, span_id, span_json) VALUES (?1, ?2, ?3, ?4)",
                    params![conversation_id, span.trace_id, span.span_id, span.span_json],
                )?;
            }
            if !conversation_id.starts_with("trace:") {
                let traces: std::collections::BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
                for trace_id in traces {
                    let placeholder = format!("trace:{trace_id}");
                    let moved = transaction.execute(
                        "UPDATE OR IGNORE otlp_spans SET conversation_id = ?1 WHERE conversation_id = ?2",
                        params![conversation_id, placeholder],
                    )?;
                    transaction.execute("DELETE FROM otlp_spans WHERE conversation_id = ?1", params![placeholder])?;
                    if moved > 0 {
                        moved_from.push(placeholder);
                    }
                }
            }
            let all = {
                let mut statement = transaction
                    .prepare("SELECT span_json FROM otlp_spans WHERE conversation_id = ?1 ORDER BY span_id")?;
                statement.query_map(params![conversation_id], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?
            };
            transaction.commit()?;
            Ok((all, moved_from))
        })
        .await
    }

    /// Deletes a call and everything stored with it, by vendor key. Trace spans filed
    /// under a placeholder key use it once they turn out to belong to a named conversation.
    pub async fn delete_by_vendor_key(&self, vendor_key: String) -> Result<bool, StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let id: Option<String> = transaction
                .query_row("SELECT id FROM calls WHERE vendor_key = ?1", params![vendor_key], |row| row.get(0))
                .optional()?;
            let Some(id) = id else {
                return Ok(false);
            };
            transaction.execute("DELETE FROM raw_payloads WHERE call_id = ?1", params![id])?;
            transaction.execute("DELETE FROM peaks WHERE call_id = ?1", params![id])?;
            transaction.execute("DELETE FROM calls WHERE id = ?1", params![id])?;
            transaction.commit()?;
            Ok(true)
        })
        .await
    }

    /// Sets whether a call is still in progress on the event stream.
    pub async fn set_live(&self, call_id: String, live: bool) -> Result<(), StorageError> {
        self.with(move |connection| {
            connection.execute("UPDATE calls SET live = ?2 WHERE id = ?1", params![call_id, live])?;
            Ok(())
        })
        .await
    }

    /// Renames a call.
    pub async fn set_title(&self, call_id: String, title: String) -> Result<(), StorageError> {
        self.with(move |connection| {
            connection.execute("UPDATE calls SET title = ?2 WHERE id = ?1", params![call_id, title])?;
            Ok(())
        })
        .await
    }

    /// Counts raw payloads stored for a call; every webhook delivery adds one.
    pub async fn count_raw_payloads(&self, call_id: String) -> Result<u64, StorageError> {
        self.with(move |connection| {
            let count: i64 =
                connection.query_row("SELECT COUNT(*) FROM raw_payloads WHERE call_id = ?1", params![call_id], |row| row.get(0))?;
            Ok(count as u64)
        })
        .await
    }

    /// Counts stored calls; used by tests to prove nothing partial was written.
    pub async fn count_calls(&self) -> Result<u64, StorageError> {
        self.with(|connection| {
            let calls: i64 = connection.query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0))?;
            Ok(calls as u64)
        })
        .await
    }
}

fn insert_raw_payload(
    transaction: &rusqlite::Transaction<'_>,
    call_id: &str,
    received_at: &str,
    payload: &[u8],
) -> rusqlite::Result<()> {
    // A call rebuilt from stream events has its raw events in `stream_events` already.
    if payload.is_empty() {
        return Ok(());
    }
    transaction.execute(
        "INSERT INTO raw_payloads (call_id, received_at, payload) VALUES (?1, ?2, ?3)",
        params![call_id, received_at, payload],
    )?;
    Ok(())
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<api::CallSummary> {
    Ok(api::CallSummary {
        id: row.get(0)?,
        title: row.get(1)?,
        format: row.get(2)?,
        imported_at: row.get(3)?,
        duration_ms: row.get(4)?,
        utterance_count: row.get(5)?,
        max_latency_ms: row.get(6)?,
        pause_count: row.get(7)?,
        overlap_count: row.get(8)?,
        has_recording: row.get(9)?,
        live: row.get(10)?,
    })
}
