//! Small helpers for walking an untrusted `serde_json::Value`: JSON pointers, numbers
//! and the collection of keys a parser does not recognise.

use serde_json::{Map, Value};

/// Largest magnitude accepted for a time or duration, in the payload's own unit.
/// Epoch milliseconds today are about 1.8e12; 1e15 leaves room for microsecond
/// epochs to be rejected as impossible rather than overflow an `i64` later.
const MAX_TIME_MAGNITUDE: f64 = 1e15;

/// Appends one key to a JSON pointer, escaping `~` and `/` as RFC 6901 requires.
pub fn pointer_join(base: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{base}/{escaped}")
}

/// Returns a finite number within [`MAX_TIME_MAGNITUDE`], or `None` when the value is
/// missing, not a number, or out of range.
pub fn time_number(value: Option<&Value>) -> Option<f64> {
    let number = value?.as_f64()?;
    if number.is_finite() && number.abs() <= MAX_TIME_MAGNITUDE {
        Some(number)
    } else {
        None
    }
}

/// Rounds a millisecond value that [`time_number`] already bounded.
pub fn round_ms(ms: f64) -> i64 {
    // The magnitude check above keeps the value far inside i64's range.
    ms.round() as i64
}

/// Keys a parser did not recognise, kept verbatim and keyed by JSON pointer.
#[derive(Debug, Default)]
pub struct UnknownFields {
    fields: Map<String, Value>,
}

impl UnknownFields {
    /// Stores every key of `object` that is not in `known`.
    pub fn collect(&mut self, object: &Map<String, Value>, pointer: &str, known: &[&str]) {
        for (key, value) in object {
            if !known.contains(&key.as_str()) {
                self.insert(pointer_join(pointer, key), value.clone());
            }
        }
    }

    /// Stores one value the parser skipped as a whole, such as a message of an
    /// unknown role.
    pub fn insert(&mut self, pointer: String, value: Value) {
        self.fields.insert(pointer, value);
    }

    /// Returns the collected fields as one JSON object.
    pub fn into_json(self) -> String {
        Value::Object(self.fields).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_slash_and_tilde() {
        assert_eq!(pointer_join("/message", "a/b~c"), "/message/a~1b~0c");
    }

    #[test]
    fn time_number_rejects_out_of_range() {
        assert_eq!(time_number(Some(&Value::from(1e16))), None);
    }

    #[test]
    fn time_number_rejects_strings() {
        assert_eq!(time_number(Some(&Value::from("12"))), None);
    }
}
