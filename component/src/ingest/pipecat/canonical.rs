//! The canonical JSON form of one span, built from OTLP/JSON. The protobuf decoder
//! builds the same form, so everything after [`from_json`] is shared.
//!
//! ```json
//! {"trace_id": "5b8e…", "span_id": "eee1…", "parent_span_id": "",
//!  "name": "tts", "kind": 1,
//!  "start_time_unix_nano": "1715698931000000000", "end_time_unix_nano": "…",
//!  "attributes": {"metrics.ttfb": 0.21}, "resource": {"service.name": "bot"},
//!  "scope": {"name": "pipecat", "version": "", "attributes": {}},
//!  "status": {…}, "events": […], "unknown": {…}}
//! ```

use serde_json::{Map, Value, json};

use super::OtlpSpan;
use crate::ingest::IngestError;

/// OTLP/JSON keys of a span that the canonical form carries by name.
const SPAN_KEYS: &[&str] = &[
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "status",
    "events",
];

/// Reads every span of an OTLP/JSON `ExportTraceServiceRequest`.
pub fn from_json(root: &Value) -> Result<Vec<Value>, IngestError> {
    let mut spans = Vec::new();
    for (resource_position, resource_spans) in array(root, "resourceSpans").iter().enumerate() {
        let resource = attributes(
            resource_spans
                .get("resource")
                .and_then(|resource| resource.get("attributes")),
        );
        for (scope_position, scope_spans) in array(resource_spans, "scopeSpans").iter().enumerate() {
            let scope = scope_spans.get("scope");
            let scope = json!({
                "name": scope.and_then(|scope| scope.get("name")).and_then(Value::as_str).unwrap_or(""),
                "version": scope.and_then(|scope| scope.get("version")).and_then(Value::as_str).unwrap_or(""),
                "attributes": attributes(scope.and_then(|scope| scope.get("attributes"))),
            });
            for (position, span) in array(scope_spans, "spans").iter().enumerate() {
                let pointer =
                    format!("/resourceSpans/{resource_position}/scopeSpans/{scope_position}/spans/{position}");
                spans.push(span_from_json(span, &pointer, &resource, &scope)?);
            }
        }
    }
    Ok(spans)
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn span_from_json(
    span: &Value,
    pointer: &str,
    resource: &Value,
    scope: &Value,
) -> Result<Value, IngestError> {
    let object = span.as_object().ok_or_else(|| {
        IngestError::InvalidPayload(format!("{pointer} is not an object; expected an OTLP span"))
    })?;
    let id = |key: &str| -> Result<String, IngestError> {
        let text = object.get(key).and_then(Value::as_str).unwrap_or("");
        if text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(text.to_ascii_lowercase())
        } else {
            Err(IngestError::InvalidPayload(format!(
                "{pointer}/{key} is {text:?}, not a hex id; OTLP/JSON encodes ids as hex"
            )))
        }
    };
    let trace_id = id("traceId")?;
    let span_id = id("spanId")?;
    if trace_id.is_empty() || span_id.is_empty() {
        return Err(IngestError::InvalidPayload(format!(
            "{pointer} lacks traceId or spanId; every OTLP span has both"
        )));
    }

    let unknown: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| !SPAN_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(json!({
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": id("parentSpanId")?,
        "name": object.get("name").and_then(Value::as_str).unwrap_or(""),
        "kind": object.get("kind").cloned().unwrap_or(Value::from(0)),
        "start_time_unix_nano": nanos(object.get("startTimeUnixNano")),
        "end_time_unix_nano": nanos(object.get("endTimeUnixNano")),
        "attributes": attributes(object.get("attributes")),
        "resource": resource,
        "scope": scope,
        "status": object.get("status").cloned().unwrap_or(Value::Null),
        "events": object.get("events").cloned().unwrap_or(Value::Array(Vec::new())),
        "unknown": unknown,
    }))
}

/// OTLP/JSON writes 64-bit integers as decimal strings, though some exporters
/// write numbers; both become a string.
fn nanos(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// Turns a list of OTLP `KeyValue`s into a JSON object.
pub fn attributes(list: Option<&Value>) -> Value {
    let mut object = Map::new();
    for entry in list.and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = entry.get("key").and_then(Value::as_str) {
            object.insert(
                key.to_string(),
                any_value(entry.get("value").unwrap_or(&Value::Null)),
            );
        }
    }
    Value::Object(object)
}

/// Turns an OTLP/JSON `AnyValue` into plain JSON.
fn any_value(value: &Value) -> Value {
    let Some(object) = value.as_object() else {
        return Value::Null;
    };
    if let Some(text) = object.get("stringValue") {
        return text.clone();
    }
    if let Some(flag) = object.get("boolValue") {
        return flag.clone();
    }
    if let Some(integer) = object.get("intValue") {
        return match integer {
            Value::String(text) => text.parse::<i64>().map_or(integer.clone(), Value::from),
            other => other.clone(),
        };
    }
    if let Some(double) = object.get("doubleValue") {
        return double.clone();
    }
    if let Some(bytes) = object.get("bytesValue") {
        return bytes.clone();
    }
    if let Some(array) = object.get("arrayValue") {
        return Value::Array(
            array
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(any_value)
                .collect(),
        );
    }
    if let Some(list) = object.get("kvlistValue") {
        return attributes(list.get("values"));
    }
    Value::Null
}

/// Keys each span by the conversation it belongs to: the `conversation.id`
/// attribute of the span or of any span of the same trace in this request, else
/// `trace:<trace id>`.
pub fn key_by_conversation(spans: Vec<Value>) -> Vec<OtlpSpan> {
    let mut conversations: Vec<(String, String)> = Vec::new();
    for span in &spans {
        if let (Some(trace_id), Some(conversation)) = (
            span.get("trace_id").and_then(Value::as_str),
            conversation_id(span),
        ) && !conversations.iter().any(|(trace, _)| trace == trace_id)
        {
            conversations.push((trace_id.to_string(), conversation.to_string()));
        }
    }

    spans
        .into_iter()
        .map(|span| {
            let trace_id = span
                .get("trace_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let conversation_id = conversation_id(&span)
                .map(str::to_string)
                .or_else(|| {
                    conversations
                        .iter()
                        .find(|(trace, _)| *trace == trace_id)
                        .map(|(_, conversation)| conversation.clone())
                })
                .unwrap_or_else(|| format!("trace:{trace_id}"));
            OtlpSpan {
                conversation_id,
                span_id: span
                    .get("span_id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                trace_id,
                span_json: span.to_string(),
            }
        })
        .collect()
}

fn conversation_id(span: &Value) -> Option<&str> {
    span.get("attributes")?
        .get("conversation.id")?
        .as_str()
        .filter(|id| !id.is_empty())
}
