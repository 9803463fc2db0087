//! Storage of stream events: each event once by its id, rejected events with their
//! error, and the live flag of calls still in progress.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, params};

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

/// Adds the unique index that keeps each rejected event once. A database made before
/// the index existed may contain copies that redeliveries stored, so they are removed
/// first, keeping the oldest.
pub(crate) fn index_rejected_events(connection: &mut Connection) -> rusqlite::Result<()> {
    let indexed: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'rejected_events_once')",
        [],
        |row| row.get(0),
    )?;
    if indexed {
        return Ok(());
    }
    let transaction = connection.transaction()?;
    transaction.execute_batch(
        "DELETE FROM rejected_events WHERE id NOT IN (SELECT MIN(id) FROM rejected_events GROUP BY source, payload);
         CREATE UNIQUE INDEX IF NOT EXISTS rejected_events_once ON rejected_events (source, payload);",
    )?;
    transaction.commit()
}

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
            // New events per call; the live-call rows are written once per call below.
            let mut touched: BTreeMap<&str, u32> = BTreeMap::new();
            let mut ended: BTreeSet<&str> = BTreeSet::new();
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT OR IGNORE INTO stream_events (event_id, call_id, event_type, event_json, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for event in &accepted {
                    let inserted =
                        insert.execute(params![event.event_id, event.call_id, event.event_type, event.json, received_at])?;
                    if inserted == 0 {
                        outcome.duplicates += 1;
                        continue;
                    }
                    *touched.entry(&event.call_id).or_default() += 1;
                    if event.event_type == "call_ended" {
                        ended.insert(&event.call_id);
                    }
                }

                let mut live = transaction.prepare_cached(
                    "INSERT OR IGNORE INTO live_calls (call_id, started_at) VALUES (?1, ?2)",
                )?;
                for call_id in touched.keys() {
                    live.execute(params![call_id, received_at])?;
                }
                let mut end = transaction.prepare_cached("UPDATE live_calls SET ended = 1 WHERE call_id = ?1")?;
                for call_id in &ended {
                    end.execute(params![call_id])?;
                }

                // A redelivered rejected event has the same source and payload, so the
                // unique index keeps it once.
                let mut reject = transaction.prepare_cached(
                    "INSERT OR IGNORE INTO rejected_events (source, payload, error, received_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for event in &rejected {
                    reject.execute(params![event.source, event.payload, event.error, received_at])?;
                }
            }
            transaction.commit()?;
            outcome.touched = touched.into_iter().map(|(call_id, count)| (call_id.to_owned(), count)).collect();
            outcome.ended = ended.into_iter().map(str::to_owned).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn utterance(id: &str, call_id: &str) -> AcceptedEvent {
        AcceptedEvent {
            event_id: id.to_owned(),
            call_id: call_id.to_owned(),
            event_type: "utterance".to_owned(),
            json: format!(r#"{{"v":1,"id":"{id}","call_id":"{call_id}","type":"utterance"}}"#),
        }
    }

    fn malformed(source: &str) -> RejectedEvent {
        RejectedEvent { source: source.to_owned(), payload: b"{\"v\":1".to_vec(), error: "not JSON".to_owned() }
    }

    #[tokio::test]
    async fn redelivered_batch_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let batch = || (vec![utterance("e1", "c1"), utterance("e2", "c1")], vec![malformed("nats:events.c1 #3")]);

        let (accepted, rejected) = batch();
        let first = storage.insert_events(accepted, rejected, "2026-01-01T00:00:00Z".into()).await.unwrap();
        let (accepted, rejected) = batch();
        let second = storage.insert_events(accepted, rejected, "2026-01-01T00:00:01Z".into()).await.unwrap();

        assert_eq!(first.touched, vec![("c1".to_owned(), 2)]);
        assert_eq!(second.touched, Vec::new());
        assert_eq!(second.duplicates, 2);
        assert_eq!(storage.count_events(None).await.unwrap(), 2);
        assert_eq!(storage.rejected_events().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn same_payload_from_other_source_kept() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();

        let rejected = vec![malformed("nats:events.c1 #3"), malformed("nats:events.c1 #9")];
        storage.insert_events(Vec::new(), rejected, "2026-01-01T00:00:00Z".into()).await.unwrap();

        assert_eq!(storage.rejected_events().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn call_ended_marks_call_once() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let ended = AcceptedEvent { event_type: "call_ended".to_owned(), ..utterance("e9", "c2") };

        let outcome = storage
            .insert_events(vec![utterance("e1", "c1"), utterance("e8", "c2"), ended], Vec::new(), "2026-01-01T00:00:00Z".into())
            .await
            .unwrap();

        assert_eq!(outcome.touched, vec![("c1".to_owned(), 1), ("c2".to_owned(), 2)]);
        assert_eq!(outcome.ended, vec!["c2".to_owned()]);
        assert_eq!(storage.live_state("c1".into()).await.unwrap(), Some(true));
        assert_eq!(storage.live_state("c2".into()).await.unwrap(), Some(false));
    }

    #[test]
    fn copies_from_before_index_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = Connection::open(dir.path().join("old.sqlite3")).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        for _ in 0..3 {
            connection
                .execute(
                    "INSERT INTO rejected_events (source, payload, error, received_at) VALUES ('nats:a #1', x'7b', 'e', 't')",
                    [],
                )
                .unwrap();
        }

        index_rejected_events(&mut connection).unwrap();

        let rows: i64 = connection.query_row("SELECT COUNT(*) FROM rejected_events", [], |row| row.get(0)).unwrap();
        assert_eq!(rows, 1);
    }
}
