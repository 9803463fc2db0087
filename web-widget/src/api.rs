//! The widget's only door to the host: typed requests against the callscope JSON
//! API, relative to the API base the host page passed to `mount`. The live-call feed
//! is in [`live`], the annotation and review endpoints in [`review`], and component
//! install and rollback in [`admin`], whose upload goes through [`upload`].

pub mod admin;
pub mod live;
pub mod review;
pub mod upload;

use std::rc::Rc;

use callscope_api_types::{ApiError, CallDetail, CallList, Me, PeaksWindow, VersionConflict};
use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::Serialize;
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

    /// HTTP 409: an edit or deletion was based on an older version of an annotation.
    #[error("{} (HTTP 409 from {url})", conflict.message)]
    Conflict { url: String, conflict: Box<VersionConflict> },
}

impl ApiFailure {
    /// Whether the host rejected the request because the user is not signed in.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiFailure::Status { status: 401, .. })
    }

    /// Returns whether the host rejected the request because the user lacks a permission.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiFailure::Status { status: 403, .. })
    }
}

/// Header every state-changing request carries. A cross-site form cannot set it, so
/// the host rejects POST, PUT and DELETE requests without it (CSRF protection).
pub const REQUEST_HEADER: (&str, &str) = ("X-Callscope-Request", "1");

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
        let request = Request::get(&url).header("Accept", "application/json").build();
        let response = send_checked(&url, request).await?;
        decode(url, response).await
    }

    /// Sends a state-changing request with an optional JSON body and decodes the
    /// JSON response.
    async fn change_json<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<T, ApiFailure> {
        let url = self.url(path);
        let response = send_checked(&url, change_request(&url, method, body)).await?;
        decode(url, response).await
    }

    /// Sends a state-changing request whose success response has no body, such as
    /// 204 No Content.
    async fn change_empty(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<(), ApiFailure> {
        let url = self.url(path);
        send_checked(&url, change_request(&url, method, body)).await.map(drop)
    }
}

fn change_request(url: &str, method: Method, body: Option<&impl Serialize>) -> Result<Request, gloo_net::Error> {
    let builder = RequestBuilder::new(url)
        .method(method)
        .header("Accept", "application/json")
        .header(REQUEST_HEADER.0, REQUEST_HEADER.1);
    match body {
        Some(body) => builder.json(body),
        None => builder.build(),
    }
}

/// Sends `request` and turns a network error or a non-2xx status into a failure.
async fn send_checked(url: &str, request: Result<Request, gloo_net::Error>) -> Result<Response, ApiFailure> {
    let network = |error: gloo_net::Error| ApiFailure::Network { url: url.to_owned(), reason: error.to_string() };
    let response = request.map_err(network)?.send().await.map_err(network)?;

    if !response.ok() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(status_failure(url.to_owned(), status, &body));
    }
    Ok(response)
}

async fn decode<T: DeserializeOwned>(url: String, response: Response) -> Result<T, ApiFailure> {
    response.json::<T>().await.map_err(|error| ApiFailure::Decode { url, reason: error.to_string() })
}

/// Builds the failure for a non-2xx response: a [`VersionConflict`] body on 409, the
/// host's `ApiError` body when there is one, and the status code alone otherwise.
fn status_failure(url: String, status: u16, body: &str) -> ApiFailure {
    if status == 409
        && let Some(conflict) = version_conflict(body)
    {
        return ApiFailure::Conflict { url, conflict: Box::new(conflict) };
    }
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

/// Parses a 409 body as a version conflict. The `current` field must be present,
/// even as `null` for a deleted annotation: serde would read a missing one as `None`,
/// and another kind of 409 would then look like a deletion.
fn version_conflict(body: &str) -> Option<VersionConflict> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("current")?;
    serde_json::from_value(value).ok()
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
pub(crate) fn encode_segment(segment: &str) -> String {
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
    fn status_failure_409_keeps_current_version() {
        let body = r#"{"error":"version-conflict","message":"annotation a1 is at version 3, the edit was based on 2","current":null}"#;
        let failure = status_failure(String::from("/api/annotations/a1"), 409, body);
        let ApiFailure::Conflict { conflict, .. } = &failure else { panic!("expected a conflict, got {failure:?}") };
        assert_eq!(conflict.current, None);
        assert_eq!(failure.to_string(), "annotation a1 is at version 3, the edit was based on 2 (HTTP 409 from /api/annotations/a1)");
    }

    #[test]
    fn status_failure_409_without_conflict_body() {
        let body = r#"{"error":"conflict","message":"busy"}"#;
        let failure = status_failure(String::from("/api/x"), 409, body);
        assert!(matches!(failure, ApiFailure::Status { status: 409, .. }), "{failure:?}");
    }

    #[test]
    fn status_failure_without_body() {
        let failure = status_failure(String::from("/api/me"), 401, "<html>");
        assert!(failure.is_unauthorized());
        assert_eq!(failure.to_string(), "the server answered HTTP 401 without an error body (HTTP 401 from /api/me)");
    }
}
