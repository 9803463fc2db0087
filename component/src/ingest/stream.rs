//! Validation of single events of the native stream as they arrive from a broker,
//! before the host stores them. The whole call is normalised later from all stored
//! events, so this only checks each event on its own.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Number, Value};

use super::json::time_number;
use super::{IngestError, limits, native};

/// A valid stream event with the keys the host stores it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    pub id: String,
    pub call_id: String,
    pub event_type: String,
    /// The event as one line of JSON: the text as sent when it contains no line
    /// break, otherwise re-serialised on one line.
    pub json: String,
}

/// Validates one event: JSON within the size and nesting limits, a native event with
/// string `id`, `call_id` and `type`, whose fields normalise without error.
pub fn parse_event(bytes: &[u8]) -> Result<StreamEvent, String> {
    let text = limits::check_text(bytes).map_err(|e| e.to_string())?;
    match plain_utterance(text) {
        Some(event) => Ok(event),
        None => parse_full(bytes),
    }
}

/// Validates an event by normalising it as a one-event call. Every event that is not
/// a [`PlainUtterance`] takes this path.
fn parse_full(bytes: &[u8]) -> Result<StreamEvent, String> {
    let value = limits::parse_json(bytes).map_err(|e| e.to_string())?;
    if !native::matches(&value) {
        return Err(format!(
            "not a callscope stream event: it needs \"v\": {}, a string \"call_id\" and a string \"type\"",
            native::VERSION
        ));
    }
    let text = |key: &str| value.get(key).and_then(|v| v.as_str());
    let id = text("id").filter(|id| !id.is_empty()).ok_or_else(|| {
        "the event has no \"id\"; give every event a unique string id so redelivery is harmless".to_owned()
    })?;
    let call_id = text("call_id").unwrap_or_default();
    let event_type = text("type").unwrap_or_default();

    native::normalize_single(&value).map_err(|e: IngestError| format!("event {id}: {e}"))?;
    Ok(StreamEvent {
        id: id.to_owned(),
        call_id: call_id.to_owned(),
        event_type: event_type.to_owned(),
        json: one_line(bytes, &value),
    })
}

/// An utterance event in its most common form: one line, no keys but those of an
/// utterance, no word timings and no escapes in the strings it keys on. Deserialising
/// into it borrows from the text and builds no JSON tree. Anything else fails to
/// deserialise and takes the full path, which also words the error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainUtterance<'a> {
    v: u64,
    id: &'a str,
    call_id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    speaker: &'a str,
    start_ms: Number,
    end_ms: Number,
    // Normalising reads `text` as a string or else as empty, and ignores
    // `interrupted`, so neither can make an utterance invalid.
    #[allow(dead_code, reason = "only their presence is checked")]
    text: Option<IgnoredAny>,
    #[allow(dead_code, reason = "only their presence is checked")]
    interrupted: Option<IgnoredAny>,
}

/// Returns the event when `text` is a [`PlainUtterance`] that the full path would
/// accept: version 1, a non-empty id, a known speaker and both times in the range
/// `time_number` accepts. Returns `None` to send the event down the full path.
fn plain_utterance(text: &str) -> Option<StreamEvent> {
    if has_line_break(text.as_bytes()) {
        return None;
    }
    let event: PlainUtterance<'_> = serde_json::from_str(text).ok()?;
    let known_speaker = matches!(event.speaker, "user" | "bot" | "system" | "tool");
    let valid = event.v == native::VERSION
        && event.event_type == "utterance"
        && !event.id.is_empty()
        && known_speaker
        && time_number(Some(&Value::Number(event.start_ms))).is_some()
        && time_number(Some(&Value::Number(event.end_ms))).is_some();
    valid.then(|| StreamEvent {
        id: event.id.to_owned(),
        call_id: event.call_id.to_owned(),
        event_type: event.event_type.to_owned(),
        json: text.to_owned(),
    })
}

/// Returns the event as one NDJSON line. `parse_json` has checked that `bytes` is
/// UTF-8 JSON, so text without a line break is kept as sent instead of being
/// serialised again. Whitespace and key order do not change what it parses to.
fn one_line(bytes: &[u8], value: &Value) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !has_line_break(bytes) => text.to_owned(),
        _ => value.to_string(),
    }
}

/// Returns whether `bytes` contains a CR or LF. A byte loop, not a `char` search, so
/// that it can be vectorised.
fn has_line_break(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &byte| found | (byte == b'\n') | (byte == b'\r'))
}

/// Validates each event of a batch independently.
pub fn parse_events(events: &[Vec<u8>]) -> Vec<Result<StreamEvent, String>> {
    events.iter().map(|bytes| parse_event(bytes)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_event_keyed() {
        let event = br#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","text":"hi","start_ms":0,"end_ms":400}"#;
        let parsed = parse_event(event).unwrap();
        assert_eq!(parsed.id, "e1");
        assert_eq!(parsed.call_id, "c1");
        assert_eq!(parsed.event_type, "utterance");
    }

    #[test]
    fn one_line_event_kept_as_sent() {
        let event = br#"{"v":1, "type":"call_started", "call_id":"c1", "id":"e1"}"#;
        let parsed = parse_event(event).unwrap();
        assert_eq!(parsed.json.as_bytes(), event);
    }

    #[test]
    fn multi_line_event_stored_on_one_line() {
        let event = b"{\"v\":1,\n \"id\":\"e1\",\r\n \"call_id\":\"c1\",\n \"type\":\"call_started\"}";
        let parsed = parse_event(event).unwrap();
        assert!(!parsed.json.contains(['\n', '\r']), "{:?}", parsed.json);
        let stored: serde_json::Value = serde_json::from_str(&parsed.json).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(event).unwrap();
        assert_eq!(stored, sent);
    }

    /// Utterances that take the fast path, each with the full path's result.
    const PLAIN: &[&str] = &[
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","text":"hi","start_ms":0,"end_ms":400}"#,
        r#" {"type":"utterance","v":1,"call_id":"c1","id":"e1","speaker":"tool","start_ms":1.5,"end_ms":2} "#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"bot","text":null,"start_ms":900,"end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"system","text":"say \"hi\"","start_ms":0,"end_ms":1e3,"interrupted":"yes"}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","text":7,"start_ms":0,"end_ms":400}"#,
    ];

    /// Events the fast path leaves to the full path, valid or not.
    const NOT_PLAIN: &[&str] = &[
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","text":"hi","start_ms":0,"end_ms":400,"words":[]}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400,"mood":"calm"}"#,
        r#"{"v":1,"id":"e\u0031","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","speaker":"bot","start_ms":0,"end_ms":400}"#,
        r#"{"v":1.0,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400}"#,
        r#"{"v":2,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400}"#,
        r#"{"v":1,"id":"","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"span","speaker":"user","start_ms":0,"end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"caller","start_ms":0,"end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":"0","end_ms":400}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":1e300}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0}"#,
        r#"{"v":1,"id":"e1","call_id":"c1","type":"utterance","speaker":"user","start_ms":0,"end_ms":400} x"#,
        "{\"v\":1,\"id\":\"e1\",\"call_id\":\"c1\",\"type\":\"utterance\",\n\"speaker\":\"user\",\"start_ms\":0,\"end_ms\":400}",
    ];

    #[test]
    fn plain_utterance_matches_full_path() {
        for text in PLAIN {
            let fast = plain_utterance(text);
            assert!(fast.is_some(), "not on the fast path: {text}");
            assert_eq!(fast.map(Ok), Some(parse_full(text.as_bytes())), "{text}");
        }
    }

    #[test]
    fn other_events_take_full_path() {
        for text in NOT_PLAIN {
            assert_eq!(plain_utterance(text), None, "{text}");
        }
    }

    #[test]
    fn event_without_id_rejected() {
        let error = parse_event(br#"{"v":1,"call_id":"c1","type":"call_started"}"#).unwrap_err();
        assert!(error.contains("no \"id\""), "{error}");
    }

    #[test]
    fn redelivered_order_gives_same_call() {
        let started = r#"{"v":1,"id":"s","call_id":"c1","type":"call_started"}"#;
        let first = r#"{"v":1,"id":"u1","call_id":"c1","type":"utterance","speaker":"user","text":"hello","start_ms":100,"end_ms":900}"#;
        let second = r#"{"v":1,"id":"u2","call_id":"c1","type":"utterance","speaker":"bot","text":"hi there","start_ms":1500,"end_ms":2500}"#;
        let ended = r#"{"v":1,"id":"e","call_id":"c1","type":"call_ended","end_ms":3000}"#;

        let in_order = crate::ingest::normalize(format!("{started}\n{first}\n{second}\n{ended}").as_bytes()).unwrap();
        let redelivered = crate::ingest::normalize(format!("{started}\n{ended}\n{second}\n{first}").as_bytes()).unwrap();
        assert_eq!(redelivered.utterances, in_order.utterances);
        assert_eq!(redelivered.utterances[0].text, "hello");
        assert_eq!(redelivered.utterances[1].index, 1);
    }

    #[test]
    fn bad_event_does_not_affect_others() {
        let batch = vec![
            br#"{"v":1,"id":"e1","call_id":"c1","type":"call_started"}"#.to_vec(),
            b"{not json".to_vec(),
            br#"{"v":1,"id":"e3","call_id":"c1","type":"call_ended","end_ms":1000}"#.to_vec(),
        ];
        let results = parse_events(&batch);
        assert!(results[0].is_ok());
        assert!(results[1].is_err());
        assert!(results[2].is_ok());
    }
}
