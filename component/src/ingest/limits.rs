//! Guards applied to an untrusted payload before and while it is parsed as JSON.

use serde_json::Value;

use super::IngestError;

/// Largest payload accepted, in bytes. A two-hour Vapi end-of-call report with word
/// timings is a few MiB; 16 MiB leaves room for that while bounding the memory one
/// request can make the component allocate.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Deepest nesting of JSON arrays and objects accepted. Vendor reports nest about ten
/// levels deep; the cap stops a crafted payload from exhausting the parser's stack.
pub const MAX_JSON_DEPTH: usize = 64;

/// Checks the size, encoding and nesting of `payload`, then parses it as JSON.
pub fn parse_json(payload: &[u8]) -> Result<Value, IngestError> {
    let text = check_text(payload)?;
    serde_json::from_str(text).map_err(|error| {
        IngestError::InvalidJson(format!(
            "payload is not valid JSON at line {}, column {}: {error}",
            error.line(),
            error.column()
        ))
    })
}

/// Checks the size, encoding and nesting of `payload` and returns it as text for a
/// JSON parser.
pub fn check_text(payload: &[u8]) -> Result<&str, IngestError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(IngestError::TooLarge(format!(
            "payload is {} bytes, more than the limit of {MAX_PAYLOAD_BYTES} bytes; \
             split the call or send the report without embedded audio",
            payload.len()
        )));
    }

    let text = std::str::from_utf8(payload).map_err(|error| {
        IngestError::InvalidJson(format!(
            "payload is not UTF-8: invalid byte sequence at byte offset {}; \
             send the JSON encoded as UTF-8",
            error.valid_up_to()
        ))
    })?;

    check_depth(text)?;
    Ok(text)
}

/// Rejects text whose arrays and objects nest deeper than [`MAX_JSON_DEPTH`].
///
/// The scan only counts brackets outside strings, so it runs in one pass before the
/// parser builds anything. Text that is not JSON passes here and fails in the parser.
fn check_depth(text: &str) -> Result<(), IngestError> {
    // Nesting never exceeds the number of opening brackets. Counting them is a plain
    // loop that LLVM can vectorise, and it settles most small payloads at once.
    let opening = text.bytes().filter(|&byte| byte == b'[' || byte == b'{').count();
    if opening <= MAX_JSON_DEPTH {
        return Ok(());
    }

    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;

    for (offset, byte) in text.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }

        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(IngestError::TooLarge(format!(
                        "JSON nests deeper than {MAX_JSON_DEPTH} levels at byte offset \
                         {offset}; flatten the payload"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_at_limit_is_accepted() {
        let text = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(parse_json(text.as_bytes()).is_ok());
    }

    #[test]
    fn depth_over_limit_is_too_large() {
        let depth = MAX_JSON_DEPTH + 1;
        let text = "[".repeat(depth) + &"]".repeat(depth);
        let error = parse_json(text.as_bytes()).unwrap_err();
        assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
    }

    #[test]
    fn brackets_inside_strings_are_not_counted() {
        let text = format!("{{\"a\": \"{}\"}}", "[".repeat(MAX_JSON_DEPTH * 2));
        assert!(parse_json(text.as_bytes()).is_ok());
    }

    #[test]
    fn escaped_quote_keeps_string_open() {
        let text = format!("[\"\\\"{}\"]", "{".repeat(MAX_JSON_DEPTH * 2));
        assert!(parse_json(text.as_bytes()).is_ok());
    }

    #[test]
    fn oversized_payload_is_too_large() {
        let payload = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        let error = parse_json(&payload).unwrap_err();
        assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
    }
}
