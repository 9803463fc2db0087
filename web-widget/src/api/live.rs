//! Live-call notices over server-sent events from `{apiBase}/live`.
//!
//! The host sends an `update` event while a call grows and a `final` event once the
//! call's final analysis is stored. The data of both is a [`LiveNotice`]. A notice
//! only says that something changed, so the widget re-reads what it shows.
//!
//! `EventSource` reconnects by itself after a network error (readyState goes back to
//! `CONNECTING`). It gives up for good after an HTTP error status or a wrong content
//! type (readyState `CLOSED`); [`LiveFeed`] then closes that source and opens a new one
//! after a delay that doubles up to [`MAX_RETRY_DELAY_MS`]. Notices sent while the
//! feed was disconnected are lost, so after every reconnect the feed emits
//! [`LiveEvent::Resync`] and the widget re-reads everything it shows.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use serde::Deserialize;
use wasm_bindgen::JsCast;

/// Delay before the first new `EventSource` after the browser gave one up, in
/// milliseconds. Chromium's own reconnect delay is 3 s, so a restarted server is
/// found about as fast either way.
pub const FIRST_RETRY_DELAY_MS: u32 = 2_000;
/// Maximum delay between two new `EventSource`s, in milliseconds. A minute keeps a
/// tab left open on an expired session from polling the server often.
pub const MAX_RETRY_DELAY_MS: u32 = 60_000;

/// Whether a call still grows or has its final analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveKind {
    Update,
    Final,
}

/// Data of one `update` or `final` event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LiveNotice {
    /// callscope's id of the call.
    pub call_id: String,
    pub kind: LiveKind,
    pub utterance_count: u32,
}

/// An event the feed passes to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A call changed.
    Notice(LiveNotice),
    /// The feed reconnected after an error and may have missed notices.
    Resync,
}

/// An open subscription to `{apiBase}/live`. Dropping it closes the `EventSource`,
/// removes its listeners and cancels a pending reconnect.
pub struct LiveFeed {
    _state: Rc<RefCell<FeedState>>,
}

struct FeedState {
    url: String,
    on_event: Rc<dyn Fn(LiveEvent)>,
    connection: Option<Connection>,
    /// The timer that opens the next `EventSource` after the browser gave one up.
    retry: Option<Timeout>,
    retry_delay_ms: u32,
    /// Whether an error happened since the last `open` event.
    interrupted: bool,
}

/// One `EventSource` and the listeners on it; dropping it closes the source.
struct Connection {
    source: web_sys::EventSource,
    _listeners: [EventListener; 4],
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
    }
}

impl LiveFeed {
    /// Opens an `EventSource` on `url` and calls `on_event` for every notice and
    /// reconnect until the feed is dropped.
    pub fn open(url: String, on_event: impl Fn(LiveEvent) + 'static) -> Self {
        let state = Rc::new(RefCell::new(FeedState {
            url,
            on_event: Rc::new(on_event),
            connection: None,
            retry: None,
            retry_delay_ms: FIRST_RETRY_DELAY_MS,
            interrupted: false,
        }));
        connect(&state);
        Self { _state: state }
    }
}

/// Replaces the feed's connection with a new `EventSource`. When the browser rejects
/// the URL outright, the failure is logged and retried like a closed source.
fn connect(state: &Rc<RefCell<FeedState>>) {
    let url = state.borrow().url.clone();
    let source = match web_sys::EventSource::new(&url) {
        Ok(source) => source,
        Err(error) => {
            web_sys::console::warn_3(&"callscope: opening the live feed failed:".into(), &url.as_str().into(), &error);
            schedule_retry(state);
            return;
        }
    };

    let weak = Rc::downgrade(state);
    let listeners = [
        notice_listener(&source, "update", weak.clone()),
        notice_listener(&source, "final", weak.clone()),
        open_listener(&source, weak.clone()),
        error_listener(&source, weak),
    ];
    // Dropping the previous connection closes its source.
    state.borrow_mut().connection = Some(Connection { source, _listeners: listeners });
}

fn notice_listener(source: &web_sys::EventSource, name: &'static str, state: Weak<RefCell<FeedState>>) -> EventListener {
    EventListener::new(source, name, move |event| {
        let Some(state) = state.upgrade() else { return };
        let Some(data) = event.dyn_ref::<web_sys::MessageEvent>().and_then(|message| message.data().as_string()) else { return };
        match serde_json::from_str::<LiveNotice>(&data) {
            Ok(notice) => emit(&state, LiveEvent::Notice(notice)),
            Err(error) => {
                let message = format!("callscope: ignoring a live `{name}` event whose data is not a notice ({error}): {data}");
                web_sys::console::warn_1(&message.into());
            }
        }
    })
}

fn open_listener(source: &web_sys::EventSource, state: Weak<RefCell<FeedState>>) -> EventListener {
    EventListener::new(source, "open", move |_| {
        let Some(state) = state.upgrade() else { return };
        let resync = {
            let mut feed = state.borrow_mut();
            feed.retry_delay_ms = FIRST_RETRY_DELAY_MS;
            std::mem::take(&mut feed.interrupted)
        };
        if resync {
            emit(&state, LiveEvent::Resync);
        }
    })
}

fn error_listener(source: &web_sys::EventSource, state: Weak<RefCell<FeedState>>) -> EventListener {
    EventListener::new(source, "error", move |_| {
        let Some(state) = state.upgrade() else { return };
        let closed = {
            let mut feed = state.borrow_mut();
            feed.interrupted = true;
            feed.connection.as_ref().is_some_and(|connection| connection.source.ready_state() == web_sys::EventSource::CLOSED)
        };
        // While CONNECTING the browser retries by itself; only a closed source needs
        // a new one. The closed connection is replaced when the timer fires, not
        // here, because this listener belongs to it.
        if closed {
            schedule_retry(&state);
        }
    })
}

fn schedule_retry(state: &Rc<RefCell<FeedState>>) {
    let weak = Rc::downgrade(state);
    let mut feed = state.borrow_mut();
    let delay_ms = feed.retry_delay_ms;
    feed.retry_delay_ms = delay_ms.saturating_mul(2).min(MAX_RETRY_DELAY_MS);
    let message = format!("callscope: the live feed at {} closed; reconnecting in {} s", feed.url, delay_ms / 1000);
    web_sys::console::warn_1(&message.into());

    feed.retry = Some(Timeout::new(delay_ms, move || {
        if let Some(state) = weak.upgrade() {
            connect(&state);
        }
    }));
}

/// Calls the owner's callback without holding the state borrowed, so the callback
/// may drop or reopen the feed.
fn emit(state: &Rc<RefCell<FeedState>>, event: LiveEvent) {
    let on_event = Rc::clone(&state.borrow().on_event);
    on_event(event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_decodes_update() {
        let notice: LiveNotice = serde_json::from_str(r#"{"call_id":"c1","kind":"update","utterance_count":3}"#).unwrap();
        assert_eq!(notice, LiveNotice { call_id: String::from("c1"), kind: LiveKind::Update, utterance_count: 3 });
    }

    #[test]
    fn notice_decodes_final() {
        let notice: LiveNotice = serde_json::from_str(r#"{"call_id":"c1","kind":"final","utterance_count":0}"#).unwrap();
        assert_eq!(notice.kind, LiveKind::Final);
    }

    #[test]
    fn notice_unknown_kind_rejected() {
        assert!(serde_json::from_str::<LiveNotice>(r#"{"call_id":"c1","kind":"gone","utterance_count":0}"#).is_err());
    }
}
