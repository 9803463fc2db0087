//! Calls in progress: events from a stream are validated by the component, stored
//! once by id, and turned into a growing call that open widgets follow over SSE.
//!
//! The stream consumer only validates and stores. The [`LiveHub`]'s updater task
//! rebuilds the touched calls from their stored events after a pause between
//! [`MIN_UPDATE_PAUSE`] and [`MAX_UPDATE_PAUSE`] that grows with the time the last
//! round of rebuilds took, so under load events coalesce into fewer rebuilds.

pub mod nats;
pub mod replay;
pub mod store;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast};

use crate::app::AppState;
use crate::import::ingest_event;
use store::{AcceptedEvent, BatchOutcome, RejectedEvent};

/// Minimum pause between the first event that marks a call and its rebuild. 50 ms
/// gathers the events of one burst while a quiet stream reaches the widget at once.
pub const MIN_UPDATE_PAUSE: Duration = Duration::from_millis(50);

/// Maximum pause before a rebuild. Under load the pause equals the time the last
/// round of rebuilds took, up to this cap, so events coalesce into fewer rebuilds.
/// The cap keeps a busy call changing on screen at least every half second plus the
/// time its rebuild takes.
pub const MAX_UPDATE_PAUSE: Duration = Duration::from_millis(500);

/// Notices to open widgets. Slow receivers skip notices rather than hold memory, so
/// this many notices are buffered per receiver.
const NOTICE_BUFFER: usize = 1024;

/// Notice of a changed call, sent to SSE subscribers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveNotice {
    /// callscope's id of the call.
    pub call_id: String,
    /// `update` while the call grows, `final` once its final analysis is stored.
    pub kind: &'static str,
    pub utterance_count: u32,
}

/// Shared state of the live path: the set of calls to rebuild and the notice channel.
pub struct LiveHub {
    dirty: Mutex<BTreeSet<String>>,
    ended: Mutex<BTreeSet<String>>,
    wake: Notify,
    notices: broadcast::Sender<LiveNotice>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            dirty: Mutex::default(),
            ended: Mutex::default(),
            wake: Notify::new(),
            notices: broadcast::channel(NOTICE_BUFFER).0,
        }
    }
}

impl LiveHub {
    pub fn subscribe(&self) -> broadcast::Receiver<LiveNotice> {
        self.notices.subscribe()
    }

    /// Queues the calls a committed batch touched for rebuilding.
    pub fn mark(&self, outcome: &BatchOutcome) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        dirty.extend(outcome.touched.iter().map(|(call, _)| call.clone()));
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).extend(outcome.ended.iter().cloned());
        drop(dirty);
        self.wake.notify_one();
    }

    /// Queues stream calls by id, for example every call found at start-up.
    pub fn mark_calls(&self, calls: impl IntoIterator<Item = String>) {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner()).extend(calls);
        self.wake.notify_one();
    }
}

/// Validates raw stream events in the component and stores them in one transaction;
/// returns what changed. The caller acknowledges the events only after this returns.
/// Each event is `(source, payload)`, and the source is stored with a rejected event.
pub async fn store_batch(state: &AppState, batch: Vec<(String, Vec<u8>)>) -> Result<BatchOutcome, crate::import::ImportError> {
    let (sources, payloads): (Vec<String>, Vec<Vec<u8>>) = batch.into_iter().unzip();
    store_events(state, payloads, |index| sources[index].clone()).await
}

/// Stores events like [`store_batch`]. `source(i)` returns the origin of
/// `payloads[i]`, and it is called only for events the component rejects.
pub async fn store_events(
    state: &AppState,
    payloads: Vec<Vec<u8>>,
    source: impl Fn(usize) -> String,
) -> Result<BatchOutcome, crate::import::ImportError> {
    let runtime = state.runtime();
    let (payloads, parsed) = tokio::task::spawn_blocking(move || {
        let parsed = runtime.parse_events(&payloads);
        (payloads, parsed)
    })
    .await
    .map_err(|e| crate::import::ImportError::Task(e.to_string()))?;
    let parsed = parsed?;

    let mut accepted = Vec::with_capacity(parsed.len());
    let mut rejected = Vec::new();
    for (index, (payload, result)) in payloads.into_iter().zip(parsed).enumerate() {
        match result {
            Ok(event) => accepted.push(AcceptedEvent {
                event_id: event.id,
                call_id: event.call_id,
                event_type: event.event_type,
                json: event.json,
            }),
            Err(error) => {
                let source = source(index);
                tracing::warn!(%source, %error, "stream event rejected");
                rejected.push(RejectedEvent { source, payload, error });
            }
        }
    }

    let received_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let outcome = state.storage.insert_events(accepted, rejected, received_at).await?;
    state.live.mark(&outcome);
    Ok(outcome)
}

/// Runs the updater until the process ends: rebuilds touched calls from their
/// stored events, stores the final analysis of ended calls and notifies widgets.
pub async fn run_updater(state: AppState) {
    let mut pause = MIN_UPDATE_PAUSE;
    loop {
        state.live.wake.notified().await;
        tokio::time::sleep(pause).await;

        let started = Instant::now();
        let dirty = std::mem::take(&mut *state.live.dirty.lock().unwrap_or_else(|p| p.into_inner()));
        let ended = std::mem::take(&mut *state.live.ended.lock().unwrap_or_else(|p| p.into_inner()));
        for stream_call_id in dirty.union(&ended) {
            if let Err(error) = rebuild(&state, stream_call_id).await {
                tracing::error!(stream_call_id = %stream_call_id, %error, "rebuilding a live call failed");
            }
        }
        pause = next_pause(started.elapsed());
    }
}

/// Returns the pause before the next round of rebuilds: as long as the last round
/// took, within [`MIN_UPDATE_PAUSE`] and [`MAX_UPDATE_PAUSE`].
fn next_pause(last_round: Duration) -> Duration {
    last_round.clamp(MIN_UPDATE_PAUSE, MAX_UPDATE_PAUSE)
}

/// Rebuilds one stream call from all its stored events and stores it.
async fn rebuild(state: &AppState, stream_call_id: &str) -> anyhow::Result<()> {
    let Some(ndjson) = state.storage.call_events_ndjson(stream_call_id.to_owned()).await? else {
        return Ok(());
    };
    let runtime = state.runtime();
    let payload = ndjson.into_bytes();
    let call = tokio::task::spawn_blocking(move || runtime.normalize(&payload)).await??;
    let utterance_count = call.utterances.len() as u32;

    // The raw events stay in `stream_events`, so the rebuilt call stores no copy.
    let (call_id, _) = ingest_event(state.runtime(), &state.storage, state.settings.clone(), Vec::new(), call).await?;
    let ended = state.storage.live_state(stream_call_id.to_owned()).await? == Some(false);
    state.storage.set_live(call_id.clone(), !ended).await?;

    let kind = if ended { "final" } else { "update" };
    tracing::debug!(%call_id, %stream_call_id, kind, "live call rebuilt");
    // A send without subscribers fails, which only means no widget is open.
    let _ = state.live.notices.send(LiveNotice { call_id, kind, utterance_count });
    Ok(())
}

/// Returns the hub shared by the consumer, the updater and the SSE routes.
pub fn new_hub() -> Arc<LiveHub> {
    Arc::new(LiveHub::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_after_quick_round_is_minimum() {
        assert_eq!(next_pause(Duration::from_millis(3)), MIN_UPDATE_PAUSE);
    }

    #[test]
    fn pause_follows_round_length() {
        assert_eq!(next_pause(Duration::from_millis(180)), Duration::from_millis(180));
    }

    #[test]
    fn pause_after_long_round_is_capped() {
        assert_eq!(next_pause(Duration::from_secs(4)), MAX_UPDATE_PAUSE);
    }
}
