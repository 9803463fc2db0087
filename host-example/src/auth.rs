//! Authentication of requests. callscope keeps no user database: the backoffice supplies an
//! [`Authenticator`] that maps a request to a user and the backoffice's role names,
//! and a role map turns those names into callscope permissions.

use std::collections::{BTreeMap, BTreeSet};

/// A signed-in backoffice user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    /// Role names as the backoffice defines them.
    pub roles: Vec<String>,
}

/// Maps an incoming request to the backoffice user who sent it.
pub trait Authenticator: Send + Sync + 'static {
    /// Returns the user, or `None` when the request carries no valid credentials.
    fn authenticate(&self, request: &axum::http::request::Parts) -> Option<Principal>;
}

/// What a user may do in callscope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// See the calls list, call views, transcripts, waveforms and recordings.
    ViewCalls,
    /// Upload payloads and recordings.
    ImportCalls,
}

/// Backoffice role name to callscope permissions.
#[derive(Debug, Clone, Default)]
pub struct RoleMap {
    roles: BTreeMap<String, BTreeSet<Permission>>,
}

impl RoleMap {
    pub fn new(roles: impl IntoIterator<Item = (String, Vec<Permission>)>) -> Self {
        Self { roles: roles.into_iter().map(|(name, perms)| (name, perms.into_iter().collect())).collect() }
    }

    /// Returns the example backoffice's roles: everyone views, only admins import.
    pub fn demo() -> Self {
        Self::new([
            ("viewer".to_owned(), vec![Permission::ViewCalls]),
            ("annotator".to_owned(), vec![Permission::ViewCalls]),
            ("admin".to_owned(), vec![Permission::ViewCalls, Permission::ImportCalls]),
        ])
    }

    /// Returns whether any of the principal's roles grants `permission`. Unknown role names
    /// grant nothing.
    pub fn allows(&self, principal: &Principal, permission: Permission) -> bool {
        principal.roles.iter().any(|role| self.roles.get(role).is_some_and(|perms| perms.contains(&permission)))
    }
}
