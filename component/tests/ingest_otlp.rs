//! Pipecat OpenTelemetry traces: splitting OTLP/HTTP bodies, both encodings, spans
//! arriving out of order and twice, and bodies that are not OTLP.

mod ingest_support;

use callscope_api_types::{SpanKind, TimingQuality, metric_flag};
use callscope_component::ingest::{IngestError, OtlpEncoding, normalize_spans, split_otlp};
use ingest_support::{payload_path, percentiles, read_payload, turn, value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

const FIXTURE: &str = "pipecat__conversation.otlp.json";
const PROTOBUF_FIXTURE: &str = "pipecat__conversation.otlp.pb";

fn json_spans() -> Vec<String> {
    split_otlp(&read_payload(FIXTURE), OtlpEncoding::Json)
        .expect("fixture splits")
        .into_iter()
        .map(|span| span.span_json)
        .collect()
}

/// Builds the protobuf request carrying the same spans as the JSON fixture.
fn protobuf_request() -> ExportTraceServiceRequest {
    let root: Value = serde_json::from_slice(&read_payload(FIXTURE)).expect("fixture is JSON");
    let hex = |text: &str| -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex id"))
            .collect()
    };
    let attributes = |list: &Value| -> Vec<KeyValue> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let value = &entry["value"];
                let any = if let Some(text) = value.get("stringValue") {
                    any_value::Value::StringValue(text.as_str().expect("string").to_string())
                } else if let Some(flag) = value.get("boolValue") {
                    any_value::Value::BoolValue(flag.as_bool().expect("bool"))
                } else if let Some(integer) = value.get("intValue") {
                    any_value::Value::IntValue(integer.as_str().expect("int string").parse().expect("int"))
                } else {
                    any_value::Value::DoubleValue(value["doubleValue"].as_f64().expect("double"))
                };
                KeyValue {
                    key: entry["key"].as_str().expect("key").to_string(),
                    value: Some(AnyValue { value: Some(any) }),
                    ..Default::default()
                }
            })
            .collect()
    };

    let resource_spans = &root["resourceSpans"][0];
    let scope_spans = &resource_spans["scopeSpans"][0];
    let spans = scope_spans["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|span| Span {
            trace_id: hex(span["traceId"].as_str().expect("trace id")),
            span_id: hex(span["spanId"].as_str().expect("span id")),
            parent_span_id: hex(span["parentSpanId"].as_str().expect("parent id")),
            name: span["name"].as_str().expect("name").to_string(),
            kind: 1,
            start_time_unix_nano: span["startTimeUnixNano"].as_str().expect("start").parse().expect("u64"),
            end_time_unix_nano: span["endTimeUnixNano"].as_str().expect("end").parse().expect("u64"),
            attributes: attributes(&span["attributes"]),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: attributes(&resource_spans["resource"]["attributes"]),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: scope_spans["scope"]["name"].as_str().expect("scope").to_string(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn protobuf_fixture_matches_json_fixture() {
    let encoded = protobuf_request().encode_to_vec();
    if std::env::var_os("CALLSCOPE_UPDATE_GOLDEN").is_some() {
        std::fs::write(payload_path(PROTOBUF_FIXTURE), &encoded).expect("write protobuf fixture");
    }
    assert_eq!(read_payload(PROTOBUF_FIXTURE), encoded);
}

#[test]
fn protobuf_and_json_normalise_alike() {
    let from_protobuf: Vec<String> = split_otlp(&read_payload(PROTOBUF_FIXTURE), OtlpEncoding::Protobuf)
        .expect("protobuf splits")
        .into_iter()
        .map(|span| span.span_json)
        .collect();
    let protobuf_call = normalize_spans(&from_protobuf).expect("normalises");
    let json_call = normalize_spans(&json_spans()).expect("normalises");
    assert_eq!(protobuf_call.turn_metrics, json_call.turn_metrics);
    assert_eq!(protobuf_call.utterances, json_call.utterances);
    assert_eq!(protobuf_call.spans.len(), json_call.spans.len());
}

#[test]
fn spans_are_keyed_by_conversation_id() {
    let spans = split_otlp(&read_payload(FIXTURE), OtlpEncoding::Json).expect("splits");
    assert_eq!(spans.len(), 14);
    for span in &spans {
        assert_eq!(span.conversation_id, "conv-42", "span {}", span.span_id);
    }
}

#[test]
fn children_without_conversation_fall_back_to_trace() {
    let root: Value = serde_json::from_slice(&read_payload(FIXTURE)).expect("JSON");
    let mut only_stt = root.clone();
    let spans = only_stt["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array_mut()
        .expect("spans");
    spans.retain(|span| span["name"] == "stt");
    let body = serde_json::to_vec(&only_stt).expect("serialise");

    let split = split_otlp(&body, OtlpEncoding::Json).expect("splits");
    assert_eq!(split[0].conversation_id, "trace:5b8efff798038103d269b633813fc60c");
    assert_eq!(split[0].trace_id, "5b8efff798038103d269b633813fc60c");
}

#[test]
fn order_and_duplicates_do_not_matter() {
    let ordered = normalize_spans(&json_spans()).expect("normalises");
    let mut shuffled = json_spans();
    shuffled.reverse();
    shuffled.swap(2, 9);
    let duplicate = shuffled[4].clone();
    shuffled.push(duplicate);
    let again = normalize_spans(&shuffled).expect("normalises");
    assert_eq!(again, ordered);
}

#[test]
fn batches_grow_one_call() {
    let spans = json_spans();
    // Service spans end first, so Pipecat exports them before their turn.
    let (children, parents): (Vec<String>, Vec<String>) = spans
        .iter()
        .cloned()
        .partition(|span| !span.contains("\"name\":\"turn\"") && !span.contains("\"name\":\"conversation\""));
    let partial = normalize_spans(&children).expect("children alone normalise");
    assert!(partial.findings.iter().any(|finding| finding.code == "conversation-span-missing"));

    let mut all = children;
    all.extend(parents);
    let full = normalize_spans(&all).expect("normalises");
    assert_eq!(full.turn_metrics.len(), 3);
}

#[test]
fn ttfb_is_per_service_in_ms() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    assert_eq!(value(&call, 1, "stt_ttfb").value_ms, Some(120));
    assert_eq!(value(&call, 1, "llm_ttfb").value_ms, Some(380));
    assert_eq!(value(&call, 1, "tts_ttfb").value_ms, Some(210));
}

#[test]
fn user_bot_latency_seconds_is_e2e() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    let e2e = value(&call, 1, "e2e");
    assert_eq!(e2e.value_ms, Some(950));
    assert!(e2e.original.contains("\"unit\":\"s\""), "{}", e2e.original);
}

#[test]
fn interrupted_turn_ttfb_is_excluded() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    assert!(turn(&call, 2).interrupted);
    assert_eq!(value(&call, 2, "tts_ttfb").flag.as_deref(), Some(metric_flag::INTERRUPTED));
    assert_eq!(percentiles(&call, "tts_ttfb").excluded, 1);
    assert_eq!(percentiles(&call, "tts_ttfb").count, 2);
}

#[test]
fn turn_without_latency_attribute_is_approximate() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    let e2e = value(&call, 3, "e2e");
    // stt ends at 11.0 s, tts starts at 11.3 s with a 0.2 s first byte.
    assert_eq!(e2e.value_ms, Some(500));
    assert_eq!(e2e.quality, TimingQuality::Approximate);
}

#[test]
fn provider_reads_both_attribute_names() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    let stt = call.spans.iter().find(|span| span.kind == SpanKind::Stt).expect("stt span");
    let llm = call.spans.iter().find(|span| span.kind == SpanKind::Llm).expect("llm span");
    assert_eq!(stt.provider.as_deref(), Some("deepgram"));
    assert_eq!(llm.provider.as_deref(), Some("openai"));
}

#[test]
fn token_usage_is_summed() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    let input = call.metrics.iter().find(|metric| metric.name == "tokens.llm.input").expect("input");
    assert_eq!(input.value, 1297.0);
}

#[test]
fn unknown_span_is_kept_verbatim() {
    let call = normalize_spans(&json_spans()).expect("normalises");
    assert!(call.unknown_fields.contains("\"pipeline_setup\""), "{}", call.unknown_fields);
}

#[test]
fn json_body_sent_as_protobuf_is_rejected() {
    let error = split_otlp(&read_payload(FIXTURE), OtlpEncoding::Protobuf).unwrap_err();
    let IngestError::InvalidPayload(message) = error else {
        panic!("expected InvalidPayload, got {error:?}");
    };
    assert!(message.contains("Content-Type: application/json"), "{message}");
}

#[test]
fn protobuf_body_sent_as_json_is_rejected() {
    let error = split_otlp(&read_payload(PROTOBUF_FIXTURE), OtlpEncoding::Json).unwrap_err();
    assert!(matches!(error, IngestError::InvalidJson(_)), "{error:?}");
}

#[test]
fn json_without_resource_spans_is_rejected() {
    let error = split_otlp(b"{\"spans\": []}", OtlpEncoding::Json).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}

#[test]
fn oversized_protobuf_is_too_large() {
    let body = vec![0u8; callscope_component::ingest::limits::MAX_PAYLOAD_BYTES + 1];
    let error = split_otlp(&body, OtlpEncoding::Protobuf).unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
}

#[test]
fn no_spans_is_invalid() {
    let error = normalize_spans(&[]).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}
