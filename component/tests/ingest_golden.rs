//! Golden tests: each format's fixture normalised and compared with the checked-in
//! result under `fixtures/payloads/golden/`.

mod ingest_support;

use callscope_component::ingest::{OtlpEncoding, detect_format, normalize, normalize_spans, split_otlp};
use ingest_support::{assert_golden, read_payload};

#[test]
fn vapi_complete_report_matches_golden() {
    let call = normalize(&read_payload("vapi__end-of-call-report.complete.json")).expect("normalises");
    assert_golden("vapi__end-of-call-report.complete", &call);
}

#[test]
fn vapi_docs_example_matches_golden() {
    let call = normalize(&read_payload("vapi-docs__end-of-call-report.example.json")).expect("normalises");
    assert_golden("vapi-docs__end-of-call-report.example", &call);
}

#[test]
fn retell_call_analyzed_matches_golden() {
    let call = normalize(&read_payload("retell__call_analyzed.webhook.json")).expect("normalises");
    assert_golden("retell__call_analyzed.webhook", &call);
}

#[test]
fn retell_call_started_matches_golden() {
    let call = normalize(&read_payload("retell__call_started.webhook.json")).expect("normalises");
    assert_golden("retell__call_started.webhook", &call);
}

#[test]
fn pipecat_otlp_json_matches_golden() {
    let spans = split_otlp(&read_payload("pipecat__conversation.otlp.json"), OtlpEncoding::Json)
        .expect("splits");
    let texts: Vec<String> = spans.into_iter().map(|span| span.span_json).collect();
    let call = normalize_spans(&texts).expect("normalises");
    assert_golden("pipecat__conversation", &call);
}

#[test]
fn livekit_session_report_matches_golden() {
    let call = normalize(&read_payload("livekit__session-report.json")).expect("normalises");
    assert_golden("livekit__session-report", &call);
}

#[test]
fn native_stream_matches_golden() {
    let call = normalize(&read_payload("callscope-native__support-call.ndjson")).expect("normalises");
    assert_golden("callscope-native__support-call", &call);
}

#[test]
fn every_fixture_is_detected() {
    for (file, format) in [
        ("vapi__end-of-call-report.complete.json", "vapi-end-of-call-report"),
        ("retell__call_analyzed.webhook.json", "retell-call"),
        ("retell__call_started.webhook.json", "retell-call"),
        ("pipecat__conversation.otlp.json", "pipecat-otlp"),
        ("livekit__session-report.json", "livekit-session-report"),
        ("callscope-native__support-call.ndjson", "callscope-ndjson"),
    ] {
        assert_eq!(detect_format(&read_payload(file)), Ok(format), "{file}");
    }
}
