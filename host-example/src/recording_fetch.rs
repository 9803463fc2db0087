//! Fetching a call's recording from a URL in the vendor payload (Vapi `recordingUrl`,
//! Retell `recording_url`, `recording_urls` of the native stream).
//!
//! A payload is untrusted, so its URLs are too. The host fetches only from hosts on a
//! configured allowlist, which is empty by default, so by default nothing is fetched.
//! It fetches over HTTPS (plain HTTP only from a loopback address), within a size
//! limit and a time limit, and follows a redirect only to the same scheme, host and
//! port. Each URL it skips or fails to fetch becomes a finding on the call, so the
//! user can read why no recording is attached.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use callscope_api_types as api;
use reqwest::Url;
use tokio::io::AsyncWriteExt;

/// Redirects followed within the same origin before the fetch fails.
const MAX_REDIRECTS: usize = 5;

/// A host recordings may be fetched from: a DNS name or an IP address, with a port when
/// the server does not listen on the scheme's default port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingHost {
    /// Lower-case host name, or an IP address without brackets.
    pub host: String,
    /// `None` accepts the scheme's default port only (443 for HTTPS, 80 for HTTP).
    pub port: Option<u16>,
}

impl FromStr for RecordingHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| {
            format!("invalid recording host {text:?}: {why}; give a host name such as recordings.example.com, optionally with :PORT")
        };
        let text = text.trim();
        if text.is_empty() || text.contains("://") || text.contains('/') || text.contains('@') {
            return Err(invalid("expected a bare host, not a URL"));
        }
        // Parse through the URL parser, so the host is normalised as it is in the URLs
        // that are checked against it (lower case, IPv6 in brackets).
        let url = Url::parse(&format!("https://{text}/")).map_err(|e| invalid(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| invalid("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        // The parser drops port 443, the default, which `None` stands for anyway.
        Ok(Self { host, port: url.port() })
    }
}

impl fmt::Display for RecordingHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => f.write_str(&host),
        }
    }
}

impl RecordingHost {
    fn matches(&self, url: &Url) -> bool {
        let Some(host) = url_host(url) else {
            return false;
        };
        let port = url.port_or_known_default();
        host == self.host && port == Some(self.port.unwrap_or_else(|| default_port(url.scheme())))
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "http" { 80 } else { 443 }
}

/// Returns the URL's host without IPv6 brackets.
fn url_host(url: &Url) -> Option<String> {
    Some(url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Configuration of recording fetches: the allowed hosts and the limits.
#[derive(Debug, Clone)]
pub struct RecordingFetchConfig {
    /// Hosts recordings may be fetched from. Empty (the default) means never fetch.
    pub allowed_hosts: Vec<RecordingHost>,
    /// Largest recording fetched, in bytes. The default equals the upload limit
    /// ([`crate::app::HttpLimits::max_recording_bytes`], 1 GiB).
    pub max_bytes: u64,
    /// Time one fetch may take from connecting to the last byte. In 60 s, 40 Mbit/s
    /// moves an hour-long 16 kHz 16-bit stereo WAV (230 MB). A slower or stalled server
    /// fails the fetch instead of holding the import open.
    pub timeout: Duration,
    /// Time to establish the connection. 10 s covers a slow TLS handshake.
    pub connect_timeout: Duration,
}

impl Default for RecordingFetchConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_bytes: 1 << 30,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Reason a recording URL was not fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("recording URL {url:?} is invalid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("recording host {host} is not on the allowlist; start the server with --recording-host {host} to fetch from it")]
    HostNotAllowed { host: String },
    #[error("recording URL {url} uses {scheme}; only https is fetched (http only from a loopback address)")]
    SchemeNotAllowed { url: String, scheme: String },
    #[error("{url} redirected to {target}, another host or port; redirects are followed within the same origin only")]
    RedirectRejected { url: String, target: String },
    #[error("{url} redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects { url: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the recording at {url} exceeds the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("fetching {url} timed out after {timeout_ms} ms")]
    TimedOut { url: String, timeout_ms: u64 },
    #[error("fetching {url} failed: {reason}")]
    Http { url: String, reason: String },
    #[error("writing the fetched recording to {path} failed: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("building the HTTP client for recording fetches failed: {0}")]
    Client(String),
}

impl FetchError {
    /// Returns the finding code stored on the call.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::HostNotAllowed { .. } | FetchError::SchemeNotAllowed { .. } => "recording-url-not-allowed",
            FetchError::InvalidUrl { .. } => "recording-url-invalid",
            _ => "recording-fetch-failed",
        }
    }
}

/// The redirect a policy refused, carried out of reqwest inside its error.
#[derive(Debug)]
struct RedirectRejected {
    target: String,
    too_many: bool,
}

impl fmt::Display for RedirectRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redirect to {} rejected", self.target)
    }
}

impl std::error::Error for RedirectRejected {}

/// Result of [`RecordingFetcher::fetch_first`].
#[derive(Debug, Default)]
pub struct FetchOutcome {
    /// Bytes written to the destination file; `None` when no URL was fetched.
    pub fetched_bytes: Option<u64>,
    /// One finding per URL skipped or failed, with the reason.
    pub findings: Vec<api::Finding>,
}

/// Fetches recordings under a [`RecordingFetchConfig`].
#[derive(Debug, Clone)]
pub struct RecordingFetcher {
    config: RecordingFetchConfig,
    client: reqwest::Client,
}

impl RecordingFetcher {
    pub fn new(config: RecordingFetchConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::custom(same_origin_redirects))
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // NOTE: a proxy from the environment is not used, so the allowlist applies to
            // the server actually reached. A deployment behind an egress proxy cannot
            // fetch recordings.
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Self { config, client })
    }

    pub fn config(&self) -> &RecordingFetchConfig {
        &self.config
    }

    /// Returns whether any host is allowed, that is whether fetching is on at all.
    pub fn is_enabled(&self) -> bool {
        !self.config.allowed_hosts.is_empty()
    }

    /// Parses `url` and checks its scheme and host against the configuration.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let invalid = |reason: String| FetchError::InvalidUrl { url: without_query(url), reason };
        let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let host = url_host(&parsed).ok_or_else(|| invalid("it has no host".into()))?;
        let scheme_allowed = match parsed.scheme() {
            "https" => true,
            "http" => is_loopback_host(&host),
            _ => false,
        };
        if !scheme_allowed {
            return Err(FetchError::SchemeNotAllowed { url: display_url(&parsed), scheme: parsed.scheme().to_owned() });
        }
        if !self.config.allowed_hosts.iter().any(|allowed| allowed.matches(&parsed)) {
            let host = RecordingHost { host, port: parsed.port() }.to_string();
            return Err(FetchError::HostNotAllowed { host });
        }
        Ok(parsed)
    }

    /// Fetches `url` into the file `destination`, which is removed again on failure.
    /// Returns the number of bytes written.
    pub async fn fetch(&self, url: &str, destination: &Path) -> Result<u64, FetchError> {
        let parsed = self.check_url(url)?;
        let result = self.download(&parsed, destination).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(destination).await;
        }
        result
    }

    async fn download(&self, url: &Url, destination: &Path) -> Result<u64, FetchError> {
        let logged_url = display_url(url);
        let limit = self.config.max_bytes;
        let mut response = self.client.get(url.clone()).send().await.map_err(|e| self.request_error(&logged_url, e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status { url: logged_url, status: response.status().as_u16() });
        }
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge { url: logged_url, limit });
        }

        let io_error = |source| FetchError::Io { path: destination.display().to_string(), source };
        let mut file = tokio::fs::File::create(destination).await.map_err(io_error)?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(&logged_url, e))? {
            written += chunk.len() as u64;
            if written > limit {
                return Err(FetchError::TooLarge { url: logged_url, limit });
            }
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        Ok(written)
    }

    fn request_error(&self, url: &str, error: reqwest::Error) -> FetchError {
        if let Some(refused) = find_source::<RedirectRejected>(&error) {
            return if refused.too_many {
                FetchError::TooManyRedirects { url: url.to_owned() }
            } else {
                FetchError::RedirectRejected { url: url.to_owned(), target: refused.target.clone() }
            };
        }
        if error.is_timeout() {
            let timeout_ms = u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX);
            return FetchError::TimedOut { url: url.to_owned(), timeout_ms };
        }
        // reqwest's message ends with the full URL, query included.
        FetchError::Http { url: url.to_owned(), reason: error_chain(&error.without_url()) }
    }

    /// Fetches the first URL of `urls` that the configuration allows and that
    /// succeeds into `destination`. Every URL skipped or failed adds a finding and a
    /// log line; with fetching off nothing is tried, and [`fetching_off_finding`] is
    /// the caller's to add.
    pub async fn fetch_first(&self, urls: &[String], destination: &Path) -> FetchOutcome {
        let mut outcome = FetchOutcome::default();
        if !self.is_enabled() {
            if !urls.is_empty() {
                tracing::info!(urls = urls.len(), "recording URL not fetched: no --recording-host is configured");
            }
            return outcome;
        }

        for (index, url) in urls.iter().enumerate() {
            match self.fetch(url, destination).await {
                Ok(bytes) => {
                    tracing::info!(url = %loggable_url(url), bytes, "recording fetched");
                    outcome.fetched_bytes = Some(bytes);
                    return outcome;
                }
                Err(error) => {
                    tracing::warn!(url = %loggable_url(url), error = %error, "recording URL not fetched");
                    outcome.findings.push(api::Finding {
                        code: error.code().to_owned(),
                        path: format!("/recording_urls/{index}"),
                        message: format!("recording not fetched: {error}"),
                    });
                }
            }
        }
        outcome
    }
}

/// Returns the finding for recording URLs that nothing fetches because no host is
/// allowed, so that the call shows why it has no recording.
pub fn fetching_off_finding(urls: &[String]) -> Option<api::Finding> {
    let first = urls.first()?;
    let host = Url::parse(first)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "HOST".to_owned());
    Some(api::Finding {
        code: "recording-url-not-allowed".to_owned(),
        path: "/recording_urls/0".to_owned(),
        message: format!(
            "recording not fetched: the payload names {} recording URL(s) but no recording host is allowed; start the server with --recording-host {host} to fetch it",
            urls.len()
        ),
    })
}

/// Follows a redirect within the original URL's scheme, host and port and rejects any other.
fn same_origin_redirects(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let target = display_url(attempt.url());
    let previous = attempt.previous();
    if previous.len() > MAX_REDIRECTS {
        return attempt.error(RedirectRejected { target, too_many: true });
    }
    let same_origin = previous.first().is_some_and(|first| first.origin() == attempt.url().origin());
    if same_origin { attempt.follow() } else { attempt.error(RedirectRejected { target, too_many: false }) }
}

/// Returns the text of a URL that did not parse up to its query or fragment, which
/// may hold a credential.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// Returns the URL without its query and fragment: a signed URL's query is a
/// credential and stays out of logs, findings and errors.
fn display_url(url: &Url) -> String {
    let mut logged_url = url.clone();
    logged_url.set_query(None);
    logged_url.set_fragment(None);
    logged_url.to_string()
}

/// Returns a recording URL as the API shows it: without its query and fragment, which
/// in a signed URL are a credential.
pub fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => display_url(&parsed),
        Err(_) => without_query(url),
    }
}

fn loggable_url(url: &str) -> String {
    Url::parse(url).map(|u| display_url(&u)).unwrap_or_else(|_| "(invalid URL)".into())
}

fn find_source<'a, E: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
