//! Permissions from the backoffice's role names.
//!
//! callscope keeps no users. The host authenticates a request, learns the user's role
//! names from the backoffice, and passes them here with the role map from its
//! configuration to learn what they grant. The map is a JSON object from role name to a list of
//! permission names, e.g. `{"qa": ["view-calls", "annotate"]}`.

use callscope_api_types::{Permission, RoleGrant};
use serde_json::Value;

/// Error returned when a role map cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleMapError {
    #[error("invalid role map: not valid JSON: {0}")]
    InvalidJson(String),
    /// The document is not a JSON object; `found` names its JSON type.
    #[error(
        "invalid role map: expected a JSON object from role name to a list of permission \
         names, found {found}"
    )]
    NotAnObject { found: &'static str },
    #[error("invalid role map: role name at position {position} is empty; give every role a name")]
    EmptyRole { position: usize },
    /// A role's value is not a list; `found` is the value as JSON.
    #[error(
        "invalid role map: role \"{role}\" maps to {found}, expected a list of permission \
         names such as [\"view-calls\"]"
    )]
    NotAList { role: String, found: String },
    /// An entry of a role's list is not a known permission name; `value` is the entry as JSON.
    #[error(
        "invalid role map: role \"{role}\" lists unknown permission {value}; valid \
         permissions are {}",
        valid_names()
    )]
    UnknownPermission { role: String, value: String },
}

fn valid_names() -> String {
    Permission::ALL.map(Permission::as_str).join(", ")
}

/// Parses a role map. Roles come back sorted by name, each permission once, in
/// declaration order.
pub fn parse_role_map(json: &str) -> Result<Vec<RoleGrant>, RoleMapError> {
    let document: Value =
        serde_json::from_str(json).map_err(|error| RoleMapError::InvalidJson(error.to_string()))?;
    let Value::Object(roles) = document else {
        return Err(RoleMapError::NotAnObject {
            found: json_type(&document),
        });
    };

    let mut grants = Vec::with_capacity(roles.len());
    for (position, (role, value)) in roles.iter().enumerate() {
        if role.trim().is_empty() {
            return Err(RoleMapError::EmptyRole { position });
        }
        let Value::Array(names) = value else {
            return Err(RoleMapError::NotAList {
                role: role.clone(),
                found: value.to_string(),
            });
        };

        let mut permissions = Vec::with_capacity(names.len());
        for name in names {
            let permission = name
                .as_str()
                .and_then(Permission::from_name)
                .ok_or_else(|| RoleMapError::UnknownPermission {
                    role: role.clone(),
                    value: name.to_string(),
                })?;
            permissions.push(permission);
        }
        permissions.sort();
        permissions.dedup();

        grants.push(RoleGrant {
            role: role.clone(),
            permissions,
        });
    }

    grants.sort_by(|left, right| left.role.cmp(&right.role));
    Ok(grants)
}

/// Returns the permissions `roles` grant together, each once, in declaration order.
/// Role names the map does not contain grant nothing.
pub fn permissions_of(role_map: &[RoleGrant], roles: &[String]) -> Vec<Permission> {
    let mut permissions: Vec<Permission> = role_map
        .iter()
        .filter(|grant| roles.contains(&grant.role))
        .flat_map(|grant| grant.permissions.iter().copied())
        .collect();
    permissions.sort();
    permissions.dedup();
    permissions
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_map_parses_and_sorts() {
        let grants = parse_role_map(
            r#"{"qa": ["annotate", "view-calls", "annotate"], "admin": ["manage-component"]}"#,
        )
        .unwrap();

        assert_eq!(grants.len(), 2);
        assert_eq!(grants[0].role, "admin");
        assert_eq!(grants[0].permissions, [Permission::ManageComponent]);
        assert_eq!(grants[1].role, "qa");
        assert_eq!(
            grants[1].permissions,
            [Permission::ViewCalls, Permission::Annotate]
        );
    }

    #[test]
    fn unknown_permission_names_role_value_and_valid_names() {
        let error = parse_role_map(r#"{"qa": ["view-calls", "delete-everything"]}"#).unwrap_err();

        assert_eq!(
            error,
            RoleMapError::UnknownPermission {
                role: "qa".into(),
                value: "\"delete-everything\"".into()
            }
        );
        let message = error.to_string();
        assert!(message.contains("role \"qa\""), "{message}");
        assert!(message.contains("\"delete-everything\""), "{message}");
        assert!(
            message.contains("view-calls, view-transcript, view-personal-data"),
            "{message}"
        );
        assert!(message.contains("import-calls"), "{message}");
    }

    #[test]
    fn permission_that_is_not_a_string_is_unknown() {
        let error = parse_role_map(r#"{"qa": [7]}"#).unwrap_err();

        assert_eq!(
            error,
            RoleMapError::UnknownPermission {
                role: "qa".into(),
                value: "7".into()
            }
        );
    }

    #[test]
    fn role_value_not_a_list() {
        let error = parse_role_map(r#"{"qa": "view-calls"}"#).unwrap_err();

        assert_eq!(
            error,
            RoleMapError::NotAList {
                role: "qa".into(),
                found: "\"view-calls\"".into()
            }
        );
        assert!(
            error
                .to_string()
                .contains("expected a list of permission names")
        );
    }

    #[test]
    fn document_not_an_object() {
        let error = parse_role_map(r#"["qa"]"#).unwrap_err();

        assert_eq!(error, RoleMapError::NotAnObject { found: "an array" });
    }

    #[test]
    fn empty_role_name_is_rejected() {
        let error = parse_role_map(r#"{" ": ["listen"]}"#).unwrap_err();

        assert_eq!(error, RoleMapError::EmptyRole { position: 0 });
    }

    #[test]
    fn invalid_json_is_rejected() {
        let error = parse_role_map("{\"qa\": [").unwrap_err();

        assert!(matches!(error, RoleMapError::InvalidJson(_)), "{error:?}");
    }

    #[test]
    fn permissions_of_unites_known_roles() {
        let grants = parse_role_map(
            r#"{"qa": ["annotate", "view-calls"], "lead": ["review", "view-calls"]}"#,
        )
        .unwrap();

        let permissions = permissions_of(&grants, &["lead".into(), "qa".into(), "stranger".into()]);

        assert_eq!(
            permissions,
            [
                Permission::ViewCalls,
                Permission::Annotate,
                Permission::Review
            ]
        );
    }

    #[test]
    fn permissions_of_unknown_role_is_empty() {
        let grants = parse_role_map(r#"{"qa": ["annotate"]}"#).unwrap();

        assert!(permissions_of(&grants, &["QA".into()]).is_empty());
    }
}
