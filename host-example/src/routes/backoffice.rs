//! The stand-in "existing backoffice": its own login, its own page with navigation and
//! tabs, and the callscope widget mounted as one more tab. A real backoffice has all
//! of this already and only nests [`crate::routes::api::router`] and the widget files.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Query, Request, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::services::ServeDir;

use crate::app::AppState;
use crate::auth::Authenticator;
use crate::demo_auth::{DemoSessions, SESSION_COOKIE, session_token};

/// Folders of the example's static files.
#[derive(Debug, Clone)]
pub struct SiteDirs {
    /// The backoffice's own pages and styles (`index.html`, `login.html`, CSS).
    pub assets: PathBuf,
    /// The built widget: `callscope_widget.js` and `callscope_widget_bg.wasm`.
    pub widget: PathBuf,
}

/// Attributes of the session cookie.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookiePolicy {
    /// Adds `Secure`, so browsers send the cookie over HTTPS only. Set it whenever the
    /// server or a proxy in front of it terminates TLS. Plain HTTP on loopback leaves
    /// it off, because browsers drop a `Secure` cookie received over plain HTTP, so
    /// signing in to the local demo would fail. Loopback traffic stays on the machine.
    pub secure: bool,
}

impl CookiePolicy {
    /// Returns the `Set-Cookie` attributes after the value: always `Path=/`,
    /// `HttpOnly` (no script reads the cookie) and `SameSite=Strict` (no cross-site
    /// request carries it), plus `Secure` when set.
    pub fn attributes(&self) -> &'static str {
        if self.secure { "Path=/; HttpOnly; SameSite=Strict; Secure" } else { "Path=/; HttpOnly; SameSite=Strict" }
    }
}

/// Largest login form body, in bytes: a user name and a password.
pub const MAX_LOGIN_FORM_BYTES: usize = 4 << 10;

#[derive(Clone)]
struct SiteState {
    sessions: Arc<DemoSessions>,
    dirs: SiteDirs,
    cookies: CookiePolicy,
}

/// Builds the whole example site: backoffice pages at `/`, the widget files under
/// `/callscope/widget/` and the callscope API under `/callscope/api/`. The session
/// cookie goes without `Secure`, for plain HTTP on loopback; see [`site_with_cookies`].
pub fn site(state: AppState, sessions: Arc<DemoSessions>, dirs: SiteDirs) -> Router {
    site_with_cookies(state, sessions, dirs, CookiePolicy::default())
}

/// Builds the example site with the given session cookie attributes.
pub fn site_with_cookies(state: AppState, sessions: Arc<DemoSessions>, dirs: SiteDirs, cookies: CookiePolicy) -> Router {
    let site_state = SiteState { sessions, dirs: dirs.clone(), cookies };
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login).layer(DefaultBodyLimit::max(MAX_LOGIN_FORM_BYTES)))
        .route("/logout", post(logout))
        .with_state(site_state)
        .nest_service("/assets", ServeDir::new(dirs.assets.join("backoffice")))
        .nest_service("/callscope/widget", ServeDir::new(&dirs.widget))
        .nest("/callscope/ingest", crate::routes::ingest::router(state.clone()))
        .nest("/callscope/api", crate::routes::api::router(state))
}

async fn index(State(site): State<SiteState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let Some(principal) = site.sessions.authenticate(&parts) else {
        return Redirect::to("/login").into_response();
    };
    let path = site.dirs.assets.join("backoffice/index.html");
    match tokio::fs::read_to_string(&path).await {
        Ok(page) => Html(
            page.replace("{{user}}", &html_escape(&principal.user))
                .replace("{{roles}}", &html_escape(&principal.roles.join(", "))),
        )
        .into_response(),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "backoffice page missing");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("backoffice page {} is missing: {e}", path.display()))
                .into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    error: Option<String>,
}

async fn login_page(State(site): State<SiteState>, Query(query): Query<LoginQuery>) -> Response {
    let path = site.dirs.assets.join("backoffice/login.html");
    match tokio::fs::read_to_string(&path).await {
        Ok(page) => {
            let message = if query.error.is_some() { "Unknown user or wrong password." } else { "" };
            Html(page.replace("{{error}}", message)).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("login page {} is missing: {e}", path.display()))
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(State(site): State<SiteState>, Form(form): Form<LoginForm>) -> Response {
    let Some(token) = site.sessions.login(&form.username, &form.password) else {
        tracing::info!(user = %form.username, "login failed");
        return Redirect::to("/login?error=1").into_response();
    };
    tracing::info!(user = %form.username, "login");
    let cookie = format!("{SESSION_COOKIE}={token}; {}", site.cookies.attributes());
    redirect_with_cookie("/", &cookie)
}

async fn logout(State(site): State<SiteState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(token) = session_token(&parts) {
        site.sessions.logout(&token);
    }
    redirect_with_cookie("/login", &format!("{SESSION_COOKIE}=; {}; Max-Age=0", site.cookies.attributes()))
}

fn redirect_with_cookie(location: &'static str, cookie: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(LOCATION, HeaderValue::from_static(location));
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
