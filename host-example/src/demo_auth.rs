//! The example backoffice's own login: a fixed table of demo users and in-memory
//! sessions in a cookie. A real backoffice plugs its existing session, proxy header or
//! JWT check into [`Authenticator`] instead.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::header::COOKIE;
use rand::Rng;

use crate::auth::{Authenticator, Principal};

/// Name of the backoffice's session cookie.
pub const SESSION_COOKIE: &str = "backoffice_session";

#[derive(Debug, Clone)]
pub struct DemoUser {
    pub name: String,
    pub password: String,
    pub roles: Vec<String>,
}

/// Demo users and their sessions.
pub struct DemoSessions {
    users: Vec<DemoUser>,
    sessions: Mutex<HashMap<String, String>>,
}

impl DemoSessions {
    /// The four demo users, one per role of `config/roles.json`; each password equals
    /// the user name. For the demo only.
    pub fn demo() -> Self {
        let user = |name: &str| DemoUser { name: name.into(), password: name.into(), roles: vec![name.into()] };
        let users = vec![user("viewer"), user("annotator"), user("reviewer"), user("admin")];
        Self { users, sessions: Mutex::default() }
    }

    pub fn users(&self) -> &[DemoUser] {
        &self.users
    }

    /// Checks a password and opens a session; returns the session token.
    pub fn login(&self, name: &str, password: &str) -> Option<String> {
        let user = self.users.iter().find(|u| u.name == name && u.password == password)?;
        let token: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(token.clone(), user.name.clone());
        Some(token)
    }

    pub fn logout(&self, token: &str) {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }

    fn principal_for(&self, token: &str) -> Option<Principal> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let name = sessions.get(token)?;
        let user = self.users.iter().find(|u| &u.name == name)?;
        Some(Principal { user: user.name.clone(), roles: user.roles.clone() })
    }
}

/// Returns the value of the session cookie in a request, if any.
pub fn session_token(request: &axum::http::request::Parts) -> Option<String> {
    request
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl Authenticator for DemoSessions {
    fn authenticate(&self, request: &axum::http::request::Parts) -> Option<Principal> {
        self.principal_for(&session_token(request)?)
    }
}
