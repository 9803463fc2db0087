//! What the signed-in user may do, from `GET me`. The widget hides controls the
//! user may not use; the host rejects such requests anyway.

use std::collections::BTreeSet;

use callscope_api_types::{Me, Permission};

/// The signed-in user and their permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// User id as the host authenticated it, which annotations name as their author.
    pub user: String,
    permissions: BTreeSet<Permission>,
}

impl Access {
    pub fn from_me(me: &Me) -> Self {
        Self { user: me.user.clone(), permissions: me.permissions.iter().copied().collect() }
    }

    /// Access of a user who is still unknown: no permissions, so nothing optional shows.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_from_me_grants_listed_permissions_only() {
        let me = Me { user: String::from("ann"), roles: vec![String::from("annotator")], permissions: vec![Permission::ViewCalls, Permission::Annotate] };
        let access = Access::from_me(&me);
        assert_eq!(access.user, "ann");
        assert!(access.can(Permission::Annotate));
        assert!(!access.can(Permission::Review));
    }

    #[test]
    fn access_none_grants_nothing() {
        assert!(Permission::ALL.iter().all(|permission| !Access::none().can(*permission)));
    }
}
