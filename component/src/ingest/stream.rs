//! Validation of single events of the native stream as they arrive from a broker,
//! before the host stores them. The whole call is normalised later from all stored
//! events, so this only checks each event on its own.

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

/// Returns the event as one NDJSON line. `parse_json` has checked that `bytes` is
/// UTF-8 JSON, so text without a line break is kept as sent instead of being
/// serialised again; whitespace and key order do not change what it parses to.
fn one_line(bytes: &[u8], value: &serde_json::Value) -> String {
    let has_line_break = bytes.iter().any(|&byte| byte == b'\n' || byte == b'\r');
    match std::str::from_utf8(bytes) {
        Ok(text) if !has_line_break => text.to_owned(),
        _ => value.to_string(),
    }
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
