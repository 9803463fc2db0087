//! Checks that a webhook or trace export comes from the configured sender, before its
//! body is parsed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::http_error::HttpError;

/// Largest difference between a Retell signature's timestamp and the host's clock.
/// Five minutes covers clock drift and retries while keeping a captured request from
/// being replayed much later.
pub const RETELL_MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Credentials of the senders allowed to call the ingest endpoints. An endpoint whose
/// credential is not configured, or configured empty, rejects every request.
#[derive(Debug, Clone, Default)]
pub struct IngestSecrets {
    /// Retell API key, the HMAC key of `X-Retell-Signature`.
    pub retell_api_key: Option<String>,
    /// Value Vapi sends in `X-Vapi-Secret` (the server URL secret).
    pub vapi_secret: Option<String>,
    /// Bearer token OpenTelemetry exporters send in `Authorization`.
    pub otlp_token: Option<String>,
}

fn not_configured(endpoint: &str, setting: &str) -> HttpError {
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ingest-not-configured",
        format!("the {endpoint} endpoint is disabled because {setting} is not configured"),
    )
}

fn unauthorized(message: String) -> HttpError {
    tracing::warn!(%message, "ingest request rejected");
    HttpError::new(StatusCode::UNAUTHORIZED, "invalid-signature", message)
}

/// Returns the credential when it is set and not empty. An empty value, such as an
/// environment variable set to nothing, would match a missing header or sign with an
/// empty key, so it counts as not configured.
fn configured(credential: Option<&str>) -> Option<&str> {
    credential.filter(|value| !value.is_empty())
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Checks `X-Vapi-Secret` against the configured secret.
pub fn check_vapi_secret(secret: Option<&str>, headers: &HeaderMap) -> Result<(), HttpError> {
    let secret = configured(secret).ok_or_else(|| not_configured("Vapi webhook", "the Vapi secret"))?;
    let sent = headers.get("x-vapi-secret").map(|v| v.as_bytes()).unwrap_or_default();
    if !equal(sent, secret.as_bytes()) {
        return Err(unauthorized("X-Vapi-Secret is missing or does not match the configured secret".into()));
    }
    Ok(())
}

/// Checks `Authorization: Bearer <token>` against the configured token.
pub fn check_bearer_token(token: Option<&str>, headers: &HeaderMap) -> Result<(), HttpError> {
    let token = configured(token).ok_or_else(|| not_configured("OTLP traces", "the OTLP bearer token"))?;
    let sent = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !equal(sent.as_bytes(), token.as_bytes()) {
        return Err(unauthorized("the Authorization bearer token is missing or wrong".into()));
    }
    Ok(())
}

/// Checks `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of body followed by the
/// timestamp>` with the API key, and that the timestamp is within [`RETELL_MAX_SKEW`].
pub fn check_retell_signature(
    api_key: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), HttpError> {
    let api_key = configured(api_key).ok_or_else(|| not_configured("Retell webhook", "the Retell API key"))?;
    let header = headers
        .get("x-retell-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("X-Retell-Signature is missing".into()))?;

    let mut timestamp = None;
    let mut digest = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("v", value)) => timestamp = Some(value),
            Some(("d", value)) => digest = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(digest)) = (timestamp, digest) else {
        return Err(unauthorized(format!("X-Retell-Signature {header:?} is not of the form v=<unix ms>,d=<hex>")));
    };

    let sent_ms: u64 = timestamp
        .parse()
        .map_err(|_| unauthorized(format!("X-Retell-Signature timestamp {timestamp:?} is not a number of milliseconds")))?;
    let now_ms = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    let skew = Duration::from_millis(now_ms.abs_diff(sent_ms));
    if skew > RETELL_MAX_SKEW {
        return Err(unauthorized(format!(
            "X-Retell-Signature timestamp is {} s away from this server's clock, more than the {} s allowed; \
             check the server clock",
            skew.as_secs(),
            RETELL_MAX_SKEW.as_secs()
        )));
    }

    let expected = retell_digest(api_key, body, timestamp);
    if !equal(digest.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        return Err(unauthorized("X-Retell-Signature does not match the body; check the configured Retell API key".into()));
    }
    Ok(())
}

/// Returns the lowercase hex HMAC-SHA256 Retell signs a webhook with.
pub fn retell_digest(api_key: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &str, body: &[u8], at_ms: u64) -> HeaderMap {
        let timestamp = at_ms.to_string();
        let mut headers = HeaderMap::new();
        let value = format!("v={timestamp},d={}", retell_digest(key, body, &timestamp));
        headers.insert("x-retell-signature", value.parse().unwrap());
        headers
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    const NOW_MS: u64 = 1_780_000_000_000;

    #[test]
    fn retell_signature_accepted() {
        let headers = signed("key_123", b"{\"event\":\"call_ended\"}", NOW_MS);
        assert!(check_retell_signature(Some("key_123"), &headers, b"{\"event\":\"call_ended\"}", at(NOW_MS + 1000)).is_ok());
    }

    #[test]
    fn retell_signature_wrong_key_rejected() {
        let headers = signed("other", b"{}", NOW_MS);
        let error = check_retell_signature(Some("key_123"), &headers, b"{}", at(NOW_MS)).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert!(error.message.contains("does not match"));
    }

    #[test]
    fn retell_signature_changed_body_rejected() {
        let headers = signed("key_123", b"{\"a\":1}", NOW_MS);
        let error = check_retell_signature(Some("key_123"), &headers, b"{\"a\":2}", at(NOW_MS)).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn retell_signature_old_timestamp_rejected() {
        let headers = signed("key_123", b"{}", NOW_MS);
        let error = check_retell_signature(Some("key_123"), &headers, b"{}", at(NOW_MS + 6 * 60 * 1000)).unwrap_err();
        assert!(error.message.contains("360 s away"), "{}", error.message);
    }

    #[test]
    fn empty_credentials_disable_endpoints() {
        let no_headers = HeaderMap::new();
        assert_eq!(check_vapi_secret(Some(""), &no_headers).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(check_bearer_token(Some(""), &no_headers).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        let signed_with_empty_key = signed("", b"{}", NOW_MS);
        let error = check_retell_signature(Some(""), &signed_with_empty_key, b"{}", at(NOW_MS)).unwrap_err();
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn retell_without_key_is_disabled() {
        let headers = signed("key_123", b"{}", NOW_MS);
        let error = check_retell_signature(None, &headers, b"{}", at(NOW_MS)).unwrap_err();
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn bearer_token_checked() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer s3cret".parse().unwrap());
        assert!(check_bearer_token(Some("s3cret"), &headers).is_ok());
        assert!(check_bearer_token(Some("other"), &headers).is_err());
    }
}
