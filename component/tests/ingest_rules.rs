//! Normalisation rules every format follows, each pinned to a small fixture. Times
//! are in ms from the recording start with the original kept, and duration units are
//! resolved per message. Impossible delays and interrupted turns are flagged and kept
//! out of percentiles, missing anchors give approximate values, and unknown fields
//! are kept.

mod ingest_support;

use callscope_api_types::{TimingQuality, metric_flag};
use callscope_component::ingest::normalize;
use ingest_support::{codes, percentiles, read_payload, turn, value};

#[test]
fn vapi_times_count_from_recording_start() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    assert_eq!(call.utterances[1].start_ms, 500);
    assert_eq!(call.utterances[1].end_ms, 2_500);
}

#[test]
fn vapi_original_times_are_kept() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    let original = &call.utterances[1].original_times;
    assert!(original.contains("\"time\":1715698931500"), "{original}");
    assert!(original.contains("\"secondsFromStart\":0.5"), "{original}");
}

#[test]
fn vapi_duration_units_resolve_per_message() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    // Message 1 carries `duration: 2000` (ms) and message 2 `duration: 2.0` (s);
    // both span two seconds by their own time and endTime.
    assert_eq!(call.utterances[1].end_ms - call.utterances[1].start_ms, 2_000);
    assert_eq!(call.utterances[2].end_ms - call.utterances[2].start_ms, 2_000);
    assert!(!codes(&call).contains(&"duration-unit-ambiguous"));
}

#[test]
fn vapi_turn_latency_keeps_path_and_unit() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    let llm = value(&call, 0, "llm");
    assert_eq!(llm.value_ms, Some(812));
    assert_eq!(
        llm.original,
        r#"{"path":"/message/artifact/performanceMetrics/turnLatencies/0/modelLatency","unit":"ms","value":812}"#
    );
}

#[test]
fn vapi_turns_match_bot_responses() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    assert_eq!(turn(&call, 0).utterance_index, Some(5));
    assert_eq!(turn(&call, 1).utterance_index, Some(7));
}

#[test]
fn vapi_report_fields_are_read() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    assert_eq!(call.ended_reason.as_deref(), Some("customer-ended-call"));
    assert!(call.vendor_analysis.contains("successEvaluation"));
    assert_eq!(call.recording_urls.len(), 4);
    assert!(call.unknown_fields.contains("/message/fixtureNote"));
}

#[test]
fn negative_delay_is_flagged() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    assert_eq!(value(&call, 0, "llm").flag.as_deref(), Some(metric_flag::NEGATIVE));
}

#[test]
fn delay_longer_than_call_is_flagged() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    assert_eq!(value(&call, 1, "llm").flag.as_deref(), Some(metric_flag::LONGER_THAN_CALL));
}

#[test]
fn epoch_sized_delay_is_flagged_without_value() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    let llm = value(&call, 2, "llm");
    assert_eq!(llm.flag.as_deref(), Some(metric_flag::EPOCH_SIZED));
    assert_eq!(llm.value_ms, None);
    assert!(llm.original.contains("1715698931000"), "{}", llm.original);
}

#[test]
fn flagged_delays_stay_out_of_percentiles() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    let llm = percentiles(&call, "llm");
    assert_eq!(llm.count, 1);
    assert_eq!(llm.excluded, 3);
    assert_eq!(llm.p50_ms, 520);
}

#[test]
fn repeated_configuration_default_is_flagged() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    for turn_number in 0..4 {
        assert_eq!(
            value(&call, turn_number, "endpointing").flag.as_deref(),
            Some(metric_flag::CONFIGURATION_DEFAULT),
            "turn {turn_number}"
        );
    }
}

#[test]
fn varying_endpointing_is_not_a_default() {
    let mut report: serde_json::Value =
        serde_json::from_slice(&read_payload("rules/impossible-delays.vapi.json")).expect("JSON");
    report["message"]["artifact"]["performanceMetrics"]["turnLatencies"][1]["endpointingLatency"] =
        serde_json::json!(430);
    let call = normalize(&serde_json::to_vec(&report).expect("serialise")).expect("normalises");
    assert_eq!(value(&call, 0, "endpointing").flag, None);
}

#[test]
fn percentiles_of_turn_latency() {
    let call = normalize(&read_payload("rules/impossible-delays.vapi.json")).expect("normalises");
    let turn_latency = percentiles(&call, "turn");
    // Values 600, 700, 800, 900: nearest rank.
    assert_eq!(turn_latency.p50_ms, 700);
    assert_eq!(turn_latency.p90_ms, 900);
    assert_eq!(turn_latency.count, 4);
}

#[test]
fn stop_before_start_is_flagged() {
    let call = normalize(&read_payload("rules/stop-before-start.livekit.json")).expect("normalises");
    // The assistant starts at 0.8 s, before the user stops at 1.0 s.
    let e2e = value(&call, 0, "e2e");
    assert_eq!(e2e.value_ms, Some(-200));
    assert_eq!(e2e.flag.as_deref(), Some(metric_flag::STOP_BEFORE_START));
}

#[test]
fn speaking_stop_before_start_is_a_finding() {
    let call = normalize(&read_payload("rules/stop-before-start.livekit.json")).expect("normalises");
    assert!(codes(&call).contains(&"end-before-start"), "{:?}", codes(&call));
    assert_eq!(call.utterances[2].timing, TimingQuality::Approximate);
}

#[test]
fn missing_anchor_gives_approximate_latency() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    // item_6 has no speaking times: the user_state_changed event at 10.2 s is the
    // anchor, and the assistant starts at 11.1 s.
    let e2e = value(&call, 1, "e2e");
    assert_eq!(e2e.value_ms, Some(900));
    assert_eq!(e2e.quality, TimingQuality::Approximate);
}

#[test]
fn turns_without_latency_are_counted() {
    let call = normalize(&read_payload("rules/stop-before-start.livekit.json")).expect("normalises");
    // Turn 0 is flagged stop-before-start; turn 1 is measured from a user message
    // whose own times are reversed, so it is approximate but counts.
    assert_eq!(call.turns_without_latency, 1);
}

#[test]
fn livekit_interrupted_turn_is_excluded() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    assert!(turn(&call, 2).interrupted);
    assert_eq!(value(&call, 2, "tts").flag.as_deref(), Some(metric_flag::INTERRUPTED));
    assert_eq!(percentiles(&call, "e2e").excluded, 1);
}

#[test]
fn livekit_endpointing_equal_to_option_is_flagged() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    assert_eq!(
        value(&call, 0, "endpointing").flag.as_deref(),
        Some(metric_flag::CONFIGURATION_DEFAULT)
    );
}

#[test]
fn livekit_aligns_to_recording_start() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    assert_eq!(call.started_at_epoch_ms, Some(1_715_698_931_000));
    assert_eq!(call.utterances[1].start_ms, 2_000);
    assert_eq!(call.utterances[1].end_ms, 4_100);
}

#[test]
fn livekit_unknown_event_is_kept() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    assert!(call.unknown_fields.contains("session_usage_updated"), "{}", call.unknown_fields);
}

#[test]
fn retell_word_seconds_become_ms() {
    let call = normalize(&read_payload("retell__call_analyzed.webhook.json")).expect("normalises");
    assert_eq!(call.utterances[1].words[0].start_ms, 3_000);
    assert_eq!(call.utterances[1].end_ms, 4_600);
}

#[test]
fn retell_e2e_values_map_to_turns() {
    let call = normalize(&read_payload("retell__call_analyzed.webhook.json")).expect("normalises");
    assert_eq!(value(&call, 0, "e2e").value_ms, Some(790));
    assert_eq!(turn(&call, 1).utterance_index, Some(4));
}

#[test]
fn retell_vendor_percentiles_are_call_metrics() {
    let call = normalize(&read_payload("retell__call_analyzed.webhook.json")).expect("normalises");
    let p50 = call
        .metrics
        .iter()
        .find(|metric| metric.name == "vendor.latency.e2e.p50")
        .expect("vendor p50");
    assert_eq!(p50.value, 790.0);
}

#[test]
fn retell_analysis_and_reason_are_read() {
    let call = normalize(&read_payload("retell__call_analyzed.webhook.json")).expect("normalises");
    assert_eq!(call.ended_reason.as_deref(), Some("user_hangup"));
    assert!(call.vendor_analysis.contains("call_successful"));
}

#[test]
fn native_duplicate_event_is_read_once() {
    let call = normalize(&read_payload("callscope-native__support-call.ndjson")).expect("normalises");
    assert_eq!(call.utterances.len(), 5);
}

#[test]
fn native_unknown_event_is_kept() {
    let call = normalize(&read_payload("callscope-native__support-call.ndjson")).expect("normalises");
    assert!(call.unknown_fields.contains("sentiment_scored"), "{}", call.unknown_fields);
}
