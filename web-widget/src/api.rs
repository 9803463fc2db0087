//! The widget's only door to the host: typed GET requests against the callscope JSON
//! API, relative to the API base the host page passed to `mount`, and the live-call
//! feed in [`live`].

pub mod live;

use std::rc::Rc;

use callscope_api_types::{ApiError, CallDetail, CallList, Me, PeaksWindow};
use serde::de::DeserializeOwned;

/// Largest `pixels` value the widget asks the peaks endpoint for. A 4K screen at
/// device pixel ratio 2 is 7680 pixels wide, so wider requests only waste bandwidth.
pub const MAX_PEAK_PIXELS: u32 = 8192;

/// A failed API request, with the URL it went to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiFailure {
    #[error("request to {url} failed before a response arrived ({reason}); check that the backoffice server is running")]
    Network { url: String, reason: String },

    #[error("{message} (HTTP {status} from {url})")]
    Status { url: String, status: u16, kind: String, message: String },

    #[error("response from {url} is not the expected JSON ({reason}); the widget and the host may be different versions")]
    Decode { url: String, reason: String },
}

impl ApiFailure {
    /// Whether the host rejected the request because the user is not signed in.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiFailure::Status { status: 401, .. })
    }
}

/// Client for the callscope JSON API under one base path, such as `/callscope/api`.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    base: Rc<str>,
}

impl Api {
    /// Creates a client for `base`; a trailing slash is ignored and an empty base
    /// means the document's origin root.
    pub fn new(base: &str) -> Self {
        Self { base: Rc::from(base.trim_end_matches('/')) }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Resolves `path` against the API base. A path starting with `/` or naming a
    /// scheme (`https://`) is already complete and is returned unchanged.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') || path.contains("://") {
            return path.to_owned();
        }
        format!("{}/{}", self.base, path)
    }

    pub async fn me(&self) -> Result<Me, ApiFailure> {
        self.get_json("me").await
    }

    pub async fn calls(&self, offset: u64, limit: u32) -> Result<CallList, ApiFailure> {
        self.get_json(&calls_path(offset, limit)).await
    }

    pub async fn call(&self, id: &str) -> Result<CallDetail, ApiFailure> {
        self.get_json(&call_path(id)).await
    }

    /// Subscribes to live-call notices; see [`live::LiveFeed`].
    pub fn live_feed(&self, on_event: impl Fn(live::LiveEvent) + 'static) -> live::LiveFeed {
        live::LiveFeed::open(self.url("live"), on_event)
    }

    pub async fn peaks(&self, id: &str, start_ms: i64, end_ms: i64, pixels: u32) -> Result<PeaksWindow, ApiFailure> {
        self.get_json(&peaks_path(id, start_ms, end_ms, pixels)).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiFailure> {
        let url = self.url(path);
        let response = gloo_net::http::Request::get(&url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|error| ApiFailure::Network { url: url.clone(), reason: error.to_string() })?;

        if !response.ok() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(status_failure(url, status, &body));
        }

        response.json::<T>().await.map_err(|error| ApiFailure::Decode { url, reason: error.to_string() })
    }
}

/// Builds the failure for a non-2xx response, using the host's `ApiError` body when
/// there is one and the status code alone otherwise.
fn status_failure(url: String, status: u16, body: &str) -> ApiFailure {
    match serde_json::from_str::<ApiError>(body) {
        Ok(error) => ApiFailure::Status { url, status, kind: error.error, message: error.message },
        Err(_) => ApiFailure::Status {
            url,
            status,
            kind: String::from("http-status"),
            message: format!("the server answered HTTP {status} without an error body"),
        },
    }
}

fn calls_path(offset: u64, limit: u32) -> String {
    format!("calls?offset={offset}&limit={limit}")
}

fn call_path(id: &str) -> String {
    format!("calls/{}", encode_segment(id))
}

fn peaks_path(id: &str, start_ms: i64, end_ms: i64, pixels: u32) -> String {
    let pixels = pixels.clamp(1, MAX_PEAK_PIXELS);
    format!("calls/{}/peaks?start_ms={start_ms}&end_ms={end_ms}&pixels={pixels}", encode_segment(id))
}

/// Percent-encodes one URL path segment: everything but RFC 3986 unreserved
/// characters, so an id can never add a path level or a query.
fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_base_and_relative_path() {
        let api = Api::new("/callscope/api/");
        assert_eq!(api.url("calls/abc/audio"), "/callscope/api/calls/abc/audio");
    }

    #[test]
    fn url_keeps_absolute_paths() {
        let api = Api::new("/callscope/api");
        assert_eq!(api.url("/media/a.wav"), "/media/a.wav");
        assert_eq!(api.url("http://127.0.0.1:8080/a.wav"), "http://127.0.0.1:8080/a.wav");
    }

    #[test]
    fn calls_path_has_paging() {
        assert_eq!(calls_path(50, 25), "calls?offset=50&limit=25");
    }

    #[test]
    fn call_path_encodes_id() {
        assert_eq!(call_path("a/b?c"), "calls/a%2Fb%3Fc");
        assert_eq!(call_path("call-01_x.y~z"), "calls/call-01_x.y~z");
    }

    #[test]
    fn call_path_encodes_non_ascii_id() {
        assert_eq!(call_path("é"), "calls/%C3%A9");
    }

    #[test]
    fn peaks_path_clamps_pixels() {
        assert_eq!(peaks_path("c1", 0, 5000, 0), "calls/c1/peaks?start_ms=0&end_ms=5000&pixels=1");
        assert_eq!(peaks_path("c1", 10, 20, 100_000), "calls/c1/peaks?start_ms=10&end_ms=20&pixels=8192");
    }

    #[test]
    fn status_failure_uses_api_error_body() {
        let body = r#"{"error":"not-found","message":"call x not found"}"#;
        let failure = status_failure(String::from("/api/calls/x"), 404, body);
        assert_eq!(failure.to_string(), "call x not found (HTTP 404 from /api/calls/x)");
    }

    #[test]
    fn status_failure_without_body() {
        let failure = status_failure(String::from("/api/me"), 401, "<html>");
        assert!(failure.is_unauthorized());
        assert_eq!(failure.to_string(), "the server answered HTTP 401 without an error body (HTTP 401 from /api/me)");
    }
}
