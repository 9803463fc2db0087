//! Authentication by a trusted reverse proxy: the proxy signs the user in and passes
//! the user name and role names in request headers. The headers are believed only on
//! connections from the configured proxy addresses; from anywhere else they are
//! ignored, so a client cannot name itself an admin by sending them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

use crate::auth::{Authenticator, Principal};

/// Header names and the proxies allowed to set them.
#[derive(Debug, Clone)]
pub struct TrustedProxy {
    /// Header with the user name, such as `x-forwarded-user`.
    pub user_header: String,
    /// Header with comma-separated role names, such as `x-forwarded-roles`.
    pub roles_header: String,
    /// Addresses of the proxies whose headers are believed.
    pub proxies: Vec<IpAddr>,
}

impl TrustedProxy {
    pub fn new(proxies: Vec<IpAddr>) -> Self {
        Self { user_header: "x-forwarded-user".into(), roles_header: "x-forwarded-roles".into(), proxies }
    }
}

impl Authenticator for TrustedProxy {
    fn authenticate(&self, request: &axum::http::request::Parts) -> Option<Principal> {
        // The server must be run with `into_make_service_with_connect_info`; without the
        // peer address nothing is trusted.
        let peer = request.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
        if !self.proxies.contains(&peer) {
            if request.headers.contains_key(self.user_header.as_str()) {
                tracing::warn!(%peer, header = %self.user_header, "user header from an address that is not a trusted proxy ignored");
            }
            return None;
        }

        let user = request.headers.get(self.user_header.as_str())?.to_str().ok()?.trim();
        if user.is_empty() {
            return None;
        }
        let roles = request
            .headers
            .get(self.roles_header.as_str())
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        Some(Principal { user: user.to_owned(), roles })
    }
}
