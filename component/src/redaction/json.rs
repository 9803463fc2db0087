//! Redaction of JSON documents such as raw vendor payloads and vendor summaries.

use serde_json::{Map, Value};

use super::redact_text;
use crate::ingest::IngestError;
use crate::ingest::limits::parse_json;

/// Error returned when a document cannot be redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactJsonError {
    /// The document is not JSON, or exceeds the payload size or nesting limits of
    /// [`crate::ingest::limits`]. The message names the problem.
    #[error("cannot redact the document: {0}")]
    Invalid(String),
}

/// Redacts every string value of a JSON document and returns it as compact JSON with
/// object keys sorted, so equal documents give equal text. Keys, numbers, booleans
/// and nulls are kept as they are.
///
/// NOTE: A phone or card number stored as a JSON number stays. Such fields are rare in
/// vendor payloads, and redacting numbers would also hit epoch timestamps and ids.
pub fn redact_json(json: &str) -> Result<String, RedactJsonError> {
    let document = parse_json(json.as_bytes()).map_err(|error| match error {
        IngestError::InvalidJson(message) | IngestError::TooLarge(message) => {
            RedactJsonError::Invalid(message)
        }
        other => RedactJsonError::Invalid(other.to_string()),
    })?;

    let redacted = redact_value(document);
    Ok(serde_json::to_string(&redacted).expect("a JSON value serialises"))
}

fn redact_value(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(redact_text(&text).text),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_value).collect()),
        Value::Object(fields) => {
            let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
            fields.sort_by(|left, right| left.0.cmp(&right.0));
            let mut sorted = Map::with_capacity(fields.len());
            for (key, field) in fields {
                sorted.insert(key, redact_value(field));
            }
            Value::Object(sorted)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_redacted_keys_kept() {
        let json = r#"{"phone-number": "+1 415 555 0199", "n": 4155550199, "list": ["a@b.io", true, null]}"#;

        let redacted = redact_json(json).unwrap();

        assert_eq!(
            redacted,
            r#"{"list":["[email]",true,null],"n":4155550199,"phone-number":"[phone]"}"#
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        let error = redact_json("{\"a\": ").unwrap_err();

        assert!(error.to_string().contains("not valid JSON"), "{error}");
    }

    #[test]
    fn too_deep_is_an_error() {
        let json = "[".repeat(200) + &"]".repeat(200);

        let error = redact_json(&json).unwrap_err();

        assert!(error.to_string().contains("nest"), "{error}");
    }
}
