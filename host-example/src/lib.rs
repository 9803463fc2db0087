//! callscope host library: runs the sandboxed callscope component with wasmtime,
//! stores calls in SQLite and serves the JSON API the widget reads.
//!
//! A backoffice mounts [`routes::api::router`] under its own path and supplies an
//! [`auth::Authenticator`] that maps its requests to users and role names. The
//! example binary adds a stand-in backoffice around it ([`routes::backoffice`]).

pub mod app;
pub mod auth;
pub mod components;
pub mod demo_auth;
pub mod demo_calls;
pub mod extract;
pub mod http_error;
pub mod import;
pub mod inspect;
pub mod jwt_auth;
pub mod live;
pub mod peaks_window;
pub mod proxy_auth;
pub mod recording_fetch;
pub mod redact;
pub mod review_store;
pub mod routes;
pub mod runtime;
pub mod storage;
pub mod tls;
pub mod traces;
pub mod webhook_auth;

pub use app::{AppState, HttpLimits};
pub use runtime::{ComponentRuntime, RuntimeLimits};
