//! Pipecat OpenTelemetry traces received over OTLP/HTTP (`/v1/traces`), as JSON or
//! protobuf.
//!
//! Pipecat (`src/pipecat/utils/tracing/`) opens one `conversation` span per session,
//! a `turn` span per turn beneath it, and `stt`, `llm` and `tts` spans beneath each
//! turn. Spans are exported when they end, so one call arrives in many requests
//! and children usually before their parents. The host therefore stores spans per
//! conversation ([`split`]) and normalises all of them again after each batch
//! ([`normalize_spans`]).
//!
//! Both encodings become one canonical JSON form per span (see [`canonical`]):
//! hex ids, nanosecond times as decimal strings, attributes as a JSON object, with
//! the resource and scope attributes folded in.

use callscope_api_types::NormalizedCall;
use serde_json::Value;

use super::IngestError;
use super::limits::{self, MAX_PAYLOAD_BYTES};

mod canonical;
mod messages;
mod normalize;
mod protobuf;

/// Name of this format in `detect_format` results and `NormalizedCall::format`.
pub const FORMAT_NAME: &str = "pipecat-otlp";

/// Encoding of an OTLP/HTTP request body, from its `Content-Type`
/// (`application/json` or `application/x-protobuf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpEncoding {
    Json,
    Protobuf,
}

/// One span of an export request, keyed for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSpan {
    /// `conversation.id` of the span or of another span of its trace in the same
    /// request, else `trace:<trace id>`.
    pub conversation_id: String,
    pub trace_id: String,
    pub span_id: String,
    /// The span in canonical JSON, the input of [`normalize_spans`].
    pub span_json: String,
}

/// Returns whether `root` is an OTLP/JSON trace export uploaded as a file.
pub fn matches(root: &Value) -> bool {
    root.get("resourceSpans").is_some_and(Value::is_array)
}

/// Splits a request body into canonical spans keyed by conversation.
pub fn split(body: &[u8], encoding: OtlpEncoding) -> Result<Vec<OtlpSpan>, IngestError> {
    let spans = match encoding {
        OtlpEncoding::Json => {
            let root = limits::parse_json(body)?;
            if !matches(&root) {
                return Err(IngestError::InvalidPayload(
                    "OTLP/JSON body has no \"resourceSpans\" array; send an \
                     ExportTraceServiceRequest to /v1/traces"
                        .to_string(),
                ));
            }
            canonical::from_json(&root)?
        }
        OtlpEncoding::Protobuf => {
            if body.len() > MAX_PAYLOAD_BYTES {
                return Err(IngestError::TooLarge(format!(
                    "OTLP body is {} bytes, more than the limit of {MAX_PAYLOAD_BYTES} bytes; \
                     export smaller batches",
                    body.len()
                )));
            }
            protobuf::decode(body)?
        }
    };
    Ok(canonical::key_by_conversation(spans))
}

/// Normalises an uploaded OTLP/JSON export file as one call.
pub fn normalize_export(root: &Value) -> Result<NormalizedCall, IngestError> {
    let spans: Vec<String> = canonical::from_json(root)?
        .into_iter()
        .map(|span| span.to_string())
        .collect();
    normalize::normalize(&spans)
}

/// Normalises the canonical spans of one conversation.
pub fn normalize_spans(spans: &[String]) -> Result<NormalizedCall, IngestError> {
    normalize::normalize(spans)
}
