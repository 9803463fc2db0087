//! OTLP/protobuf `ExportTraceServiceRequest` bodies, decoded with the prost
//! messages of [`super::messages`] and turned into the canonical span JSON.

use prost::Message;
use serde_json::{Map, Value, json};

use super::messages::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span, any_value,
};
use crate::ingest::IngestError;

/// Decodes a request body. The size was checked by the caller; prost bounds the
/// nesting of messages.
pub fn decode(body: &[u8]) -> Result<Vec<Value>, IngestError> {
    let request = ExportTraceServiceRequest::decode(body).map_err(|error| {
        let hint = if body.first() == Some(&b'{') {
            "; the body looks like JSON, so send it with Content-Type: application/json"
        } else {
            ""
        };
        IngestError::InvalidPayload(format!(
            "body is not an OTLP protobuf ExportTraceServiceRequest: {error}{hint}"
        ))
    })?;

    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = attributes(
            resource_spans
                .resource
                .as_ref()
                .map_or(&[][..], |resource| &resource.attributes),
        );
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope(scope_spans.scope.as_ref());
            for span in &scope_spans.spans {
                spans.push(span_json(span, &resource, &scope)?);
            }
        }
    }
    Ok(spans)
}

fn span_json(span: &Span, resource: &Value, scope: &Value) -> Result<Value, IngestError> {
    if span.trace_id.is_empty() || span.span_id.is_empty() {
        return Err(IngestError::InvalidPayload(format!(
            "span {:?} lacks trace_id or span_id; every OTLP span has both",
            span.name
        )));
    }
    let status = span.status.as_ref().map_or(Value::Null, |status| {
        json!({ "code": status.code, "message": status.message })
    });
    let events: Vec<Value> = span
        .events
        .iter()
        .map(|event| {
            json!({
                "name": event.name,
                "timeUnixNano": event.time_unix_nano.to_string(),
                "attributes": attributes(&event.attributes),
            })
        })
        .collect();

    Ok(json!({
        "trace_id": hex(&span.trace_id),
        "span_id": hex(&span.span_id),
        "parent_span_id": hex(&span.parent_span_id),
        "name": span.name,
        "kind": span.kind,
        "start_time_unix_nano": span.start_time_unix_nano.to_string(),
        "end_time_unix_nano": span.end_time_unix_nano.to_string(),
        "attributes": attributes(&span.attributes),
        "resource": resource,
        "scope": scope,
        "status": status,
        "events": events,
        "unknown": {},
    }))
}

fn scope(scope: Option<&InstrumentationScope>) -> Value {
    json!({
        "name": scope.map_or("", |scope| scope.name.as_str()),
        "version": scope.map_or("", |scope| scope.version.as_str()),
        "attributes": attributes(scope.map_or(&[][..], |scope| &scope.attributes)),
    })
}

fn attributes(list: &[KeyValue]) -> Value {
    let object: Map<String, Value> = list
        .iter()
        .map(|entry| (entry.key.clone(), any(entry.value.as_ref())))
        .collect();
    Value::Object(object)
}

fn any(value: Option<&AnyValue>) -> Value {
    let Some(value) = value.and_then(|value| value.value.as_ref()) else {
        return Value::Null;
    };
    match value {
        any_value::Value::StringValue(text) => Value::from(text.as_str()),
        any_value::Value::BoolValue(flag) => Value::from(*flag),
        any_value::Value::IntValue(integer) => Value::from(*integer),
        any_value::Value::DoubleValue(double) => Value::from(*double),
        any_value::Value::ArrayValue(array) => {
            Value::Array(array.values.iter().map(|value| any(Some(value))).collect())
        }
        any_value::Value::KvlistValue(list) => attributes(&list.values),
        // OTLP/JSON writes bytes as base64; hex keeps this decoder free of a base64
        // dependency and no Pipecat attribute carries bytes.
        any_value::Value::BytesValue(bytes) => Value::from(hex(bytes)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
