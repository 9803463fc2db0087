//! Vapi end-of-call reports: bad input, clock and unit resolution, and the
//! findings for values that cannot be right.

use callscope_api_types::{NormalizedCall, Speaker, TimingQuality};
use callscope_component::ingest::limits::{MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES};
use callscope_component::ingest::{IngestError, detect_format, normalize};
use serde_json::{Value, json};

/// `startedAt` of the hand-written reports below, in epoch milliseconds.
const STARTED_AT_MS: i64 = 1_715_698_931_000;

/// Wraps `messages` in a server message with a 60 s call starting at
/// 2024-05-14T15:02:11Z.
fn report(messages: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "message": {
            "type": "end-of-call-report",
            "endedReason": "hangup",
            "startedAt": "2024-05-14T15:02:11.000Z",
            "endedAt": "2024-05-14T15:03:11.000Z",
            "call": { "id": "call-1" },
            "artifact": { "messages": messages },
        }
    }))
    .expect("serialisable")
}

/// A spoken message at `start_ms`..`end_ms` from the call start, with every clock.
fn spoken(role: &str, start_ms: i64, end_ms: i64) -> Value {
    json!({
        "role": role,
        "message": format!("{role} at {start_ms}"),
        "time": STARTED_AT_MS + start_ms,
        "endTime": STARTED_AT_MS + end_ms,
        "secondsFromStart": start_ms as f64 / 1000.0,
        "duration": end_ms - start_ms,
    })
}

fn normalized(messages: Value) -> NormalizedCall {
    normalize(&report(messages)).expect("report normalises")
}

fn codes(call: &NormalizedCall) -> Vec<&str> {
    call.findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect()
}

fn invalid_json_message(payload: &[u8]) -> String {
    match normalize(payload) {
        Err(IngestError::InvalidJson(message)) => message,
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn not_json_names_line_and_column() {
    let message = invalid_json_message(b"{\n  \"message\": nope\n}");
    assert!(message.contains("line 2, column"), "{message}");
}

#[test]
fn truncated_json_is_invalid() {
    let mut payload = report(json!([spoken("user", 0, 1_000)]));
    payload.truncate(payload.len() / 2);
    let message = invalid_json_message(&payload);
    assert!(message.contains("line 1, column"), "{message}");
}

#[test]
fn empty_payload_is_invalid_json() {
    invalid_json_message(b"");
}

#[test]
fn non_utf8_names_byte_offset() {
    let payload = b"{\"message\": \"caf\xE9\"}";
    let message = invalid_json_message(payload);
    assert!(message.contains("byte offset 16"), "{message}");
}

#[test]
fn too_deep_is_too_large() {
    let depth = MAX_JSON_DEPTH + 1;
    let payload = format!(
        "{{\"message\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(matches!(
        normalize(payload.as_bytes()),
        Err(IngestError::TooLarge(_))
    ));
}

#[test]
fn oversized_payload_is_too_large() {
    let payload = vec![b' '; MAX_PAYLOAD_BYTES + 1];
    assert!(matches!(
        detect_format(&payload),
        Err(IngestError::TooLarge(_))
    ));
}

#[test]
fn unknown_format_lists_formats_tried() {
    // A Retell-like wrapper whose call object lacks every key the Retell format needs.
    let payload = br#"{"event": "call_ended", "call": {"call_id": "x"}}"#;
    assert_eq!(
        normalize(payload),
        Err(IngestError::UnknownFormat(
            callscope_component::ingest::format_names()
        ))
    );
}

#[test]
fn other_vapi_message_is_unknown_format() {
    let payload = br#"{"message": {"type": "status-update", "status": "ended"}}"#;
    assert!(matches!(
        detect_format(payload),
        Err(IngestError::UnknownFormat(_))
    ));
}

#[test]
fn array_root_is_unknown_format() {
    assert!(matches!(
        normalize(b"[1, 2]"),
        Err(IngestError::UnknownFormat(_))
    ));
}

#[test]
fn missing_artifact_is_invalid_payload() {
    let payload = br#"{"message": {"type": "end-of-call-report", "endedReason": "hangup"}}"#;
    assert!(matches!(
        normalize(payload),
        Err(IngestError::InvalidPayload(_))
    ));
}

#[test]
fn messages_not_array_is_invalid_payload() {
    let payload = br#"{"type": "end-of-call-report", "artifact": {"messages": {"role": "user"}}}"#;
    assert!(matches!(
        normalize(payload),
        Err(IngestError::InvalidPayload(_))
    ));
}

#[test]
fn bare_and_wrapped_reports_agree() {
    let wrapped = report(json!([spoken("user", 1_000, 2_000)]));
    let wrapped_value: Value = serde_json::from_slice(&wrapped).expect("JSON");
    let bare = serde_json::to_vec(&wrapped_value["message"]).expect("serialisable");

    assert_eq!(detect_format(&bare), Ok("vapi-end-of-call-report"));
    assert_eq!(detect_format(&wrapped), Ok("vapi-end-of-call-report"));
    let bare_call = normalize(&bare).expect("bare report normalises");
    let wrapped_call = normalize(&wrapped).expect("wrapped report normalises");
    assert_eq!(bare_call.utterances, wrapped_call.utterances);
}

#[test]
fn clean_message_is_exact() {
    let call = normalized(json!([spoken("user", 1_500, 2_750)]));
    let utterance = &call.utterances[0];
    assert_eq!((utterance.start_ms, utterance.end_ms), (1_500, 2_750));
    assert_eq!(utterance.speaker, Speaker::User);
    assert_eq!(utterance.timing, TimingQuality::Exact);
    assert!(call.findings.is_empty(), "{:?}", call.findings);
    assert_eq!(call.duration_ms, Some(60_000));
    assert_eq!(call.vendor_call_id.as_deref(), Some("call-1"));
}

#[test]
fn stop_before_start_is_flagged() {
    let mut message = spoken("bot", 5_000, 6_000);
    message["endTime"] = json!(STARTED_AT_MS + 4_000);
    message.as_object_mut().expect("object").remove("duration");
    let call = normalized(json!([message]));

    let utterance = &call.utterances[0];
    assert_eq!(codes(&call), ["end-before-start"]);
    assert_eq!(
        call.findings[0].path,
        "/message/artifact/messages/0/endTime"
    );
    assert_eq!((utterance.start_ms, utterance.end_ms), (5_000, 5_000));
    assert_eq!(utterance.timing, TimingQuality::Approximate);
}

#[test]
fn stop_before_start_uses_valid_duration() {
    let mut message = spoken("bot", 5_000, 6_000);
    message["endTime"] = json!(STARTED_AT_MS + 4_000);
    message["duration"] = json!(1_000);
    let call = normalized(json!([message]));

    // The duration cannot be matched against the broken span, so it is ambiguous.
    assert!(
        codes(&call).contains(&"end-before-start"),
        "{:?}",
        call.findings
    );
    assert!(
        codes(&call).contains(&"duration-mismatch"),
        "{:?}",
        call.findings
    );
    assert_eq!(call.utterances[0].end_ms, 5_000);
}

#[test]
fn negative_time_falls_back_to_seconds_from_start() {
    let mut message = spoken("user", 2_000, 3_000);
    message["time"] = json!(STARTED_AT_MS - 500);
    message["endTime"] = json!(STARTED_AT_MS + 3_000);
    message.as_object_mut().expect("object").remove("duration");
    let call = normalized(json!([message]));

    let utterance = &call.utterances[0];
    assert!(
        codes(&call).contains(&"negative-time"),
        "{:?}",
        call.findings
    );
    assert_eq!((utterance.start_ms, utterance.end_ms), (2_000, 3_000));
    assert_eq!(utterance.timing, TimingQuality::Approximate);
}

#[test]
fn message_beyond_call_end_is_flagged() {
    let call = normalized(json!([spoken("bot", 58_000, 70_000)]));
    assert!(
        codes(&call).contains(&"beyond-call-end"),
        "{:?}",
        call.findings
    );
    assert_eq!(call.utterances[0].end_ms, 60_000);
    assert_eq!(call.utterances[0].timing, TimingQuality::Approximate);
}

#[test]
fn duration_in_seconds_is_resolved_by_span() {
    let mut message = spoken("bot", 1_000, 3_500);
    message["duration"] = json!(2.5);
    let call = normalized(json!([message]));
    assert!(call.findings.is_empty(), "{:?}", call.findings);
    assert_eq!(call.utterances[0].end_ms, 3_500);
}

#[test]
fn duration_matching_neither_unit_is_flagged() {
    let mut message = spoken("bot", 1_000, 3_500);
    message["duration"] = json!(900);
    let call = normalized(json!([message]));
    assert_eq!(codes(&call), ["duration-mismatch"]);
    assert_eq!(call.utterances[0].end_ms, 3_500);
}

#[test]
fn duration_without_end_time_is_ambiguous() {
    let mut message = spoken("user", 1_000, 2_200);
    message.as_object_mut().expect("object").remove("endTime");
    let call = normalized(json!([message]));
    assert_eq!(codes(&call), ["duration-unit-ambiguous"]);
    assert_eq!(call.utterances[0].end_ms, 2_200);
    assert_eq!(call.utterances[0].timing, TimingQuality::Approximate);
}

#[test]
fn ambiguous_duration_names_call_end() {
    let mut message = spoken("user", 50_000, 52_000);
    message.as_object_mut().expect("object").remove("endTime");
    // Read as seconds, 40 would end the message at 90 s, after the 60 s call.
    message["duration"] = json!(40);
    let call = normalized(json!([message]));
    assert_eq!(codes(&call), ["duration-unit-ambiguous"]);
    assert!(
        call.findings[0].message.contains("after the call"),
        "{:?}",
        call.findings
    );
    assert_eq!(call.utterances[0].end_ms, 50_040);
}

#[test]
fn zero_from_first_message_without_started_at() {
    let payload = serde_json::to_vec(&json!({
        "type": "end-of-call-report",
        "artifact": { "messages": [
            { "role": "bot", "message": "Hi", "time": 1_000_000_500, "endTime": 1_000_001_500, "secondsFromStart": 0.5 },
            { "role": "user", "message": "Hello", "time": 1_000_002_000, "endTime": 1_000_002_800, "secondsFromStart": 2.0 },
        ]}
    }))
    .expect("serialisable");
    let call = normalize(&payload).expect("report normalises");
    assert_eq!(call.started_at_epoch_ms, Some(1_000_000_000));
    assert_eq!(call.duration_ms, None);
    assert_eq!(
        (call.utterances[1].start_ms, call.utterances[1].end_ms),
        (2_000, 2_800)
    );
}

#[test]
fn skewed_clock_is_one_finding() {
    let mut first = spoken("bot", 1_000, 2_000);
    let mut second = spoken("user", 3_000, 4_000);
    first["secondsFromStart"] = json!(3.0);
    second["secondsFromStart"] = json!(5.0);
    let call = normalized(json!([first, second]));
    assert_eq!(codes(&call), ["clock-mismatch"]);
    assert!(
        call.findings[0].message.contains("2 message(s)"),
        "{:?}",
        call.findings
    );
    assert_eq!(call.utterances[0].start_ms, 1_000);
}

#[test]
fn invalid_started_at_is_flagged() {
    let payload = serde_json::to_vec(&json!({
        "type": "end-of-call-report",
        "startedAt": "yesterday",
        "artifact": { "messages": [] }
    }))
    .expect("serialisable");
    let call = normalize(&payload).expect("report normalises");
    assert_eq!(codes(&call), ["invalid-timestamp"]);
    assert_eq!(call.findings[0].path, "/startedAt");
}

#[test]
fn absurd_number_is_flagged() {
    let mut message = spoken("bot", 1_000, 2_000);
    message["time"] = json!(1e300);
    let call = normalized(json!([message]));
    assert!(
        codes(&call).contains(&"invalid-number"),
        "{:?}",
        call.findings
    );
    assert_eq!(call.utterances[0].start_ms, 1_000);
}

#[test]
fn word_times_in_seconds() {
    let mut message = spoken("user", 1_000, 2_000);
    message["metadata"] = json!({ "wordLevelConfidence": [
        { "word": "hello", "punctuated_word": "Hello,", "start": 1.0, "end": 1.4, "confidence": 0.9 },
        { "word": "there", "start": 1.5, "end": 2.0, "confidence": 0.8 },
    ]});
    let call = normalized(json!([message]));
    let words = &call.utterances[0].words;
    assert_eq!(words.len(), 2);
    assert_eq!(
        (words[0].text.as_str(), words[0].start_ms, words[0].end_ms),
        ("Hello,", 1_000, 1_400)
    );
    assert_eq!(
        (words[1].text.as_str(), words[1].start_ms, words[1].end_ms),
        ("there", 1_500, 2_000)
    );
}

#[test]
fn word_times_in_milliseconds() {
    let mut message = spoken("user", 10_000, 12_000);
    message["metadata"] = json!({ "wordLevelConfidence": [
        { "word": "yes", "start": 10_100, "end": 10_600, "confidence": 1 },
    ]});
    let call = normalized(json!([message]));
    let word = &call.utterances[0].words[0];
    assert_eq!((word.start_ms, word.end_ms), (10_100, 10_600));
}

#[test]
fn placeholder_word_times_are_dropped() {
    let mut message = spoken("user", 10_000, 12_000);
    message["metadata"] = json!({ "wordLevelConfidence": [
        { "word": "yes", "start": 0, "end": 0, "confidence": 1 },
        { "word": "please", "start": 0, "end": 0, "confidence": 1 },
    ]});
    let call = normalized(json!([message]));
    assert!(call.utterances[0].words.is_empty());
    assert_eq!(codes(&call), ["word-times-placeholder"]);
}

#[test]
fn words_outside_message_are_dropped() {
    let mut message = spoken("user", 10_000, 12_000);
    message["metadata"] = json!({ "wordLevelConfidence": [
        { "word": "late", "start": 40.0, "end": 40.5, "confidence": 1 },
    ]});
    let call = normalized(json!([message]));
    assert!(call.utterances[0].words.is_empty());
    assert_eq!(codes(&call), ["word-times-outside-message"]);
}

#[test]
fn unknown_role_is_kept_verbatim() {
    let call =
        normalized(json!([{ "role": "narrator", "message": "Meanwhile" }, spoken("user", 0, 500)]));
    assert_eq!(call.utterances.len(), 1);
    assert_eq!(codes(&call), ["unknown-role"]);

    let unknown: Value = serde_json::from_str(&call.unknown_fields).expect("JSON");
    assert_eq!(unknown["/message/artifact/messages/0"]["role"], "narrator");
}

#[test]
fn unknown_keys_are_kept_by_pointer() {
    let mut message = spoken("bot", 0, 500);
    message["voiceId/beta"] = json!({ "x": 1 });
    let payload = serde_json::to_vec(&json!({
        "message": {
            "type": "end-of-call-report",
            "startedAt": "2024-05-14T15:02:11.000Z",
            "durationMs": 500,
            "artifact": { "messages": [message], "newArtifactField": [1, 2] },
        },
        "envelope": "v2",
    }))
    .expect("serialisable");
    let call = normalize(&payload).expect("report normalises");
    let unknown: Value = serde_json::from_str(&call.unknown_fields).expect("JSON");

    assert_eq!(unknown["/envelope"], "v2");
    assert_eq!(unknown["/message/durationMs"], 500);
    assert_eq!(unknown["/message/artifact/newArtifactField"], json!([1, 2]));
    assert_eq!(
        unknown["/message/artifact/messages/0/voiceId~1beta"],
        json!({ "x": 1 })
    );
    assert!(unknown.get("/message/startedAt").is_none());
}

#[test]
fn recording_urls_are_collected_once() {
    let payload = serde_json::to_vec(&json!({
        "type": "end-of-call-report",
        "recordingUrl": "https://example.com/mono.wav",
        "artifact": {
            "messages": [],
            "recordingUrl": "https://example.com/mono.wav",
            "stereoRecordingUrl": "https://example.com/stereo.wav",
            "recording": {
                "stereoUrl": "https://example.com/stereo.wav",
                "mono": {
                    "combinedUrl": "https://example.com/mono.wav",
                    "assistantUrl": "https://example.com/assistant.wav",
                    "customerUrl": "https://example.com/customer.wav",
                }
            }
        }
    }))
    .expect("serialisable");
    let call = normalize(&payload).expect("report normalises");
    assert_eq!(
        call.recording_urls,
        [
            "https://example.com/stereo.wav",
            "https://example.com/mono.wav",
            "https://example.com/assistant.wav",
            "https://example.com/customer.wav",
        ]
    );
}

#[test]
fn tool_messages_become_tool_utterances() {
    let call = normalized(json!([
        { "role": "tool_calls", "message": "", "time": STARTED_AT_MS + 1_000, "secondsFromStart": 1.0,
          "toolCalls": [{ "function": { "name": "lookup" } }] },
        { "role": "tool_call_result", "toolCallId": "t1", "name": "lookup", "result": "{\"ok\":true}",
          "time": STARTED_AT_MS + 1_200, "secondsFromStart": 1.2 },
    ]));
    assert_eq!(call.utterances.len(), 2);
    assert!(
        call.utterances
            .iter()
            .all(|utterance| utterance.speaker == Speaker::Tool)
    );
    assert_eq!(call.utterances[1].text, "lookup: {\"ok\":true}");
    assert_eq!(
        (call.utterances[1].start_ms, call.utterances[1].end_ms),
        (1_200, 1_200)
    );
    assert!(call.findings.is_empty(), "{:?}", call.findings);
}

#[test]
fn documentation_example_normalises() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/payloads/vapi-docs__end-of-call-report.example.json"
    );
    let payload = std::fs::read(path).expect("documentation example");
    let call = normalize(&payload).expect("documentation example normalises");

    let speakers: Vec<Speaker> = call
        .utterances
        .iter()
        .map(|utterance| utterance.speaker)
        .collect();
    assert_eq!(speakers, [Speaker::Bot, Speaker::User]);
    assert_eq!(call.utterances[1].text, "What's the weather?");
    // The example carries no times, so each spoken message gets both findings.
    assert_eq!(
        codes(&call),
        [
            "missing-time",
            "missing-end-time",
            "missing-time",
            "missing-end-time"
        ]
    );
    assert!(
        call.utterances
            .iter()
            .all(|utterance| utterance.timing == TimingQuality::Approximate)
    );
}
