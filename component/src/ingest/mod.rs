//! Vendor payloads to callscope's model of a call.
//!
//! Every payload is untrusted, so [`limits`] bounds its size and nesting before it
//! is parsed. Each vendor format lives in its own module:
//!
//! | module | format name | input |
//! |---|---|---|
//! | [`vapi`] | `vapi-end-of-call-report` | Vapi server message `end-of-call-report` |
//! | [`retell`] | `retell-call` | Retell call object or webhook (`call_started`, `call_ended`, `call_analyzed`) |
//! | [`pipecat`] | `pipecat-otlp` | Pipecat OpenTelemetry spans, OTLP/HTTP JSON or protobuf |
//! | [`livekit`] | `livekit-session-report` | LiveKit Agents `SessionReport.to_dict()` |
//! | [`native`] | `callscope-ndjson` | callscope's own NDJSON event stream (docs/native-events.md) |
//!
//! Every time on the result is milliseconds from the recording start, with the
//! vendor's original value and unit kept beside it. Values that cannot be right
//! (negative times, a message that ends before it starts, a delay longer than the
//! call) become [`Finding`](callscope_api_types::Finding)s or flagged metric values
//! instead of being used silently. Keys and events a format does not define are kept
//! verbatim in `unknown_fields`.

use callscope_api_types::NormalizedCall;
use serde_json::Value;

mod json;
pub mod limits;
pub mod livekit;
pub mod native;
pub mod pipecat;
pub mod retell;
pub mod stream;
mod timestamp;
pub mod turn_metrics;
pub mod vapi;

pub use pipecat::{OtlpEncoding, OtlpSpan};

/// Error returned when a payload cannot be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not UTF-8 JSON (or protobuf, for OTLP); the message names the position.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// No known format matched.
    #[error("unknown payload format; tried {}", .0.join(", "))]
    UnknownFormat(Vec<String>),
    /// The format is known but a required value is missing or has the wrong type.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The payload exceeds a size or nesting limit.
    #[error("payload too large: {0}")]
    TooLarge(String),
}

/// One JSON vendor format: how to recognise it and how to normalise it.
struct Format {
    name: &'static str,
    matches: fn(&Value) -> bool,
    normalize: fn(&Value) -> Result<NormalizedCall, IngestError>,
}

/// Formats in the order they are tried. Each `matches` looks only at
/// discriminating keys, so at most one format claims a payload. A native NDJSON
/// stream of more than one line is not one JSON document, so it is recognised when
/// the payload fails to parse as JSON and its first line is a native event.
const FORMATS: &[Format] = &[
    Format {
        name: vapi::FORMAT_NAME,
        matches: vapi::matches,
        normalize: vapi::normalize,
    },
    Format {
        name: retell::FORMAT_NAME,
        matches: retell::matches,
        normalize: retell::normalize,
    },
    Format {
        name: pipecat::FORMAT_NAME,
        matches: pipecat::matches,
        normalize: pipecat::normalize_export,
    },
    Format {
        name: livekit::FORMAT_NAME,
        matches: livekit::matches,
        normalize: livekit::normalize,
    },
    Format {
        name: native::FORMAT_NAME,
        matches: native::matches,
        normalize: native::normalize_single,
    },
];

/// Returns the names of the formats this version can normalise.
pub fn format_names() -> Vec<String> {
    FORMATS
        .iter()
        .map(|format| format.name.to_string())
        .collect()
}

/// Returns the name of the format `payload` is in.
pub fn detect_format(payload: &[u8]) -> Result<&'static str, IngestError> {
    match limits::parse_json(payload) {
        Ok(root) => Ok(find_format(&root)?.name),
        Err(error) => {
            native::parse_lines(payload, error)?;
            Ok(native::FORMAT_NAME)
        }
    }
}

/// Parses a whole payload into a normalised call.
pub fn normalize(payload: &[u8]) -> Result<NormalizedCall, IngestError> {
    match limits::parse_json(payload) {
        Ok(root) => {
            let format = find_format(&root)?;
            let mut call = (format.normalize)(&root)?;
            finish(&mut call);
            Ok(call)
        }
        Err(error) => {
            let lines = native::parse_lines(payload, error)?;
            let mut call = native::normalize(&lines)?;
            finish(&mut call);
            Ok(call)
        }
    }
}

/// Splits an OTLP/HTTP `/v1/traces` request body into spans keyed by conversation.
pub fn split_otlp(body: &[u8], encoding: OtlpEncoding) -> Result<Vec<OtlpSpan>, IngestError> {
    pipecat::split(body, encoding)
}

/// Normalises every stored span of one conversation, given as the `span_json` that
/// [`split_otlp`] returned, in any order and with duplicates.
pub fn normalize_spans(spans: &[String]) -> Result<NormalizedCall, IngestError> {
    let mut call = pipecat::normalize_spans(spans)?;
    finish(&mut call);
    Ok(call)
}

fn find_format(root: &Value) -> Result<&'static Format, IngestError> {
    FORMATS
        .iter()
        .find(|format| (format.matches)(root))
        .ok_or_else(|| IngestError::UnknownFormat(format_names()))
}

/// Applies the checks every format shares, then computes what derives from the
/// checked values: interrupted turns flagged, percentiles, and the count of turns
/// without latency.
fn finish(call: &mut NormalizedCall) {
    turn_metrics::fill_missing_e2e(
        &mut call.turn_metrics,
        &call.utterances,
        call.duration_ms,
    );
    turn_metrics::flag_interrupted(&mut call.turn_metrics);
    call.latency_percentiles = turn_metrics::percentiles(&call.turn_metrics);
    call.turns_without_latency = turn_metrics::turns_without_latency(&call.turn_metrics);
}
