//! Vendor payloads to callscope's model of a call.
//!
//! Every payload is untrusted, so [`limits`] bounds its size and nesting before it
//! is parsed. Each vendor format lives in its own module. Values that cannot be
//! right (negative times, a message that ends before it starts, a duration in the
//! wrong unit) become [`Finding`](callscope_api_types::Finding)s on the normalised
//! call instead of being used silently. Keys a format does not define are kept
//! verbatim in `unknown_fields`.

use callscope_api_types::NormalizedCall;
use serde_json::Value;

mod json;
pub mod limits;
mod timestamp;
pub mod vapi;

/// Error returned when a payload cannot be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not UTF-8 JSON; the message names the position.
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

/// One vendor format: how to recognise it and how to normalise it.
struct Format {
    name: &'static str,
    matches: fn(&Value) -> bool,
    normalize: fn(&Value) -> Result<NormalizedCall, IngestError>,
}

/// Formats in the order they are tried. Each `matches` looks only at
/// discriminating keys, so at most one format claims a payload.
const FORMATS: &[Format] = &[Format {
    name: vapi::FORMAT_NAME,
    matches: vapi::matches,
    normalize: vapi::normalize,
}];

/// Returns the names of the formats this version can normalise.
pub fn format_names() -> Vec<String> {
    FORMATS
        .iter()
        .map(|format| format.name.to_string())
        .collect()
}

/// Returns the name of the format `payload` is in.
pub fn detect_format(payload: &[u8]) -> Result<&'static str, IngestError> {
    let root = limits::parse_json(payload)?;
    Ok(find_format(&root)?.name)
}

/// Parses a whole payload into a normalised call.
pub fn normalize(payload: &[u8]) -> Result<NormalizedCall, IngestError> {
    let root = limits::parse_json(payload)?;
    let format = find_format(&root)?;
    (format.normalize)(&root)
}

fn find_format(root: &Value) -> Result<&'static Format, IngestError> {
    FORMATS
        .iter()
        .find(|format| (format.matches)(root))
        .ok_or_else(|| IngestError::UnknownFormat(format_names()))
}
