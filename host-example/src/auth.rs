//! Authentication and access decisions. callscope keeps no user database: the
//! backoffice supplies an [`Authenticator`] that maps a request to a user and the
//! backoffice's role names, and the component's policy interface turns those names into
//! callscope permissions through the role map in configuration ([`Access`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub use callscope_api_types::{Permission, RoleGrant};

use crate::runtime::{ComponentError, ComponentRuntime};

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

/// The role map from configuration, with the permissions the component's policy decided
/// for each set of role names seen so far. The role map does not change while the
/// server runs, so a decision stays valid for as long as the same component version
/// decides; another version (an install or a rollback) decides afresh.
pub struct Access {
    grants: Vec<RoleGrant>,
    decided: Mutex<Decisions>,
}

/// Permissions per sorted set of role names, and the sha256 of the component that
/// decided them.
#[derive(Default)]
struct Decisions {
    component_sha256: String,
    by_roles: HashMap<Vec<String>, Arc<BTreeSet<Permission>>>,
}

impl Access {
    /// Reads a role map (JSON: role name to permission names) through the component,
    /// which checks every name.
    pub fn from_json(runtime: &ComponentRuntime, json: &str) -> Result<Self, ComponentError> {
        Ok(Self::new(runtime.parse_role_map(json)?))
    }

    pub fn new(grants: Vec<RoleGrant>) -> Self {
        Self { grants, decided: Mutex::default() }
    }

    pub fn grants(&self) -> &[RoleGrant] {
        &self.grants
    }

    /// Returns what the principal's roles grant, asking the component's policy once per
    /// distinct set of role names.
    pub fn permissions(&self, runtime: &ComponentRuntime, principal: &Principal) -> Result<Arc<BTreeSet<Permission>>, ComponentError> {
        let mut roles = principal.roles.clone();
        roles.sort();
        roles.dedup();
        {
            let mut decided = self.decided.lock().unwrap_or_else(|p| p.into_inner());
            if decided.component_sha256 != runtime.sha256() {
                *decided = Decisions { component_sha256: runtime.sha256().to_owned(), by_roles: HashMap::new() };
            }
            if let Some(known) = decided.by_roles.get(&roles) {
                return Ok(known.clone());
            }
        }
        let permissions: Arc<BTreeSet<Permission>> = Arc::new(runtime.permissions_of(&self.grants, &roles)?.into_iter().collect());
        tracing::debug!(user = %principal.user, ?roles, ?permissions, component_sha = %runtime.sha256(), "permissions decided by the component policy");
        let mut decided = self.decided.lock().unwrap_or_else(|p| p.into_inner());
        if decided.component_sha256 == runtime.sha256() {
            decided.by_roles.insert(roles, permissions.clone());
        }
        Ok(permissions)
    }
}

/// The role map of the example backoffice (`config/roles.json`).
pub const DEMO_ROLE_MAP: &str = include_str!("../config/roles.json");

/// The annotation schema of the example backoffice (`config/schema.json`).
pub const DEMO_SCHEMA: &str = include_str!("../config/schema.json");
