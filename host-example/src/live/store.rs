//! Storage of stream events: each event once by its id, rejected events with their
//! error, and the live flag of calls still in progress.

use rusqlite::{OptionalExtension, params};

use crate::storage::{Storage, StorageError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stream_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_json TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_events_call ON stream_events (call_id, seq);
CREATE TABLE IF NOT EXISTS rejected_events (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    payload BLOB NOT NULL,
    error TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_calls (
    call_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0
);
";

/// A validated event ready to store.
#[derive(Debug, Clone)]
pub struct AcceptedEvent {
    pub event_id: String,
    pub call_id: String,
    pub event_type: String,
    /// The event as one JSON line, as the component returned it.
    pub json: String,
}

/// An event the component rejected, kept with its error so nothing is lost.
#[derive(Debug, Clone)]
pub struct RejectedEvent {
    /// Origin of the event, for example `nats:callscope.events.call-1 #42`.
    pub source: String,
    pub payload: Vec<u8>,
    pub error: String,
}

/// Changes made by one committed batch.
#[derive(Debug, Default, Clone)]
pub struct BatchOutcome {
    /// Calls that received at least one new event, with the count of new events.
    pub touched: Vec<(String, u32)>,
    /// Calls whose `call_ended` event arrived in this batch.
    pub ended: Vec<String>,
    /// Events skipped because their id was already stored.
    pub duplicates: u32,
    pub rejected: u32,
}

impl Storage {
    /// Stores a batch in one transaction: new events, rejected events and the live
    /// flag of the calls they belong to. Events whose id is already stored change
    /// nothing, so a redelivered batch is harmless.
    pub async fn insert_events(
        &self,
        accepted: Vec<AcceptedEvent>,
        rejected: Vec<RejectedEvent>,
        received_at: String,
    ) -> Result<BatchOutcome, StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let mut outcome = BatchOutcome { rejected: rejected.len() as u32, ..BatchOutcome::default() };
            let mut touched: std::collections::BTreeMap<String, u32> = Default::default();
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT OR IGNORE INTO stream_events (event_id, call_id, event_type, event_json, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                let mut live = transaction.prepare_cached(
                    "INSERT OR IGNORE INTO live_calls (call_id, started_at) VALUES (?1, ?2)",
                )?;
                for event in &accepted {
                    let inserted =
                        insert.execute(params![event.event_id, event.call_id, event.event_type, event.json, received_at])?;
                    if inserted == 0 {
                        outcome.duplicates += 1;
                        continue;
                    }
                    live.execute(params![event.call_id, received_at])?;
                    *touched.entry(event.call_id.clone()).or_default() += 1;
                    if event.event_type == "call_ended" {
                        transaction.execute("UPDATE live_calls SET ended = 1 WHERE call_id = ?1", params![event.call_id])?;
                        outcome.ended.push(event.call_id.clone());
                    }
                }
                let mut reject = transaction.prepare_cached(
                    "INSERT INTO rejected_events (source, payload, error, received_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for event in &rejected {
                    reject.execute(params![event.source, event.payload, event.error, received_at])?;
                }
            }
            transaction.commit()?;
            outcome.touched = touched.into_iter().collect();
            Ok(outcome)
        })
        .await
    }

    /// Returns a call's stream events in arrival order, as NDJSON.
    pub async fn call_events_ndjson(&self, call_id: String) -> Result<Option<String>, StorageError> {
        self.with(move |connection| {
            let mut statement =
                connection.prepare_cached("SELECT event_json FROM stream_events WHERE call_id = ?1 ORDER BY seq")?;
            let lines = statement.query_map(params![call_id], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            if lines.is_empty() {
                return Ok(None);
            }
            Ok(Some(lines.join("\n")))
        })
        .await
    }

    /// Counts stored stream events, optionally of one call.
    pub async fn count_events(&self, call_id: Option<String>) -> Result<u64, StorageError> {
        self.with(move |connection| {
            let count: i64 = match call_id {
                Some(id) => connection.query_row("SELECT COUNT(*) FROM stream_events WHERE call_id = ?1", params![id], |r| r.get(0))?,
                None => connection.query_row("SELECT COUNT(*) FROM stream_events", [], |r| r.get(0))?,
            };
            Ok(count as u64)
        })
        .await
    }

    /// Returns the rejected events as `(error, payload)` pairs, oldest first.
    pub async fn rejected_events(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.with(|connection| {
            let mut statement = connection.prepare("SELECT error, payload FROM rejected_events ORDER BY id")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Returns the stream call ids with stored events, to rebuild after a restart.
    pub async fn stream_call_ids(&self) -> Result<Vec<String>, StorageError> {
        self.with(|connection| {
            let mut statement = connection.prepare("SELECT call_id FROM live_calls")?;
            let ids = statement.query_map([], |row| row.get(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// Returns whether the stream call is still in progress, or `None` when no stream
    /// events exist for it.
    pub async fn live_state(&self, call_id: String) -> Result<Option<bool>, StorageError> {
        self.with(move |connection| {
            let ended: Option<i64> = connection
                .query_row("SELECT ended FROM live_calls WHERE call_id = ?1", params![call_id], |row| row.get(0))
                .optional()?;
            Ok(ended.map(|e| e == 0))
        })
        .await
    }
}
