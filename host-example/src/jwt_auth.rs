//! Authentication by a JSON Web Token the backoffice issued, checked against its
//! public key. The token comes in `Authorization: Bearer`; its `sub` claim is the user
//! and a configurable claim (default `roles`) lists the role names.

use std::path::Path;

use axum::http::header::AUTHORIZATION;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::auth::{Authenticator, Principal};

#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    #[error("reading the JWT public key {path} failed: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "the JWT public key {path} is not a PEM public key of a supported kind (Ed25519, ECDSA P-256 or RSA); \
         export it with `openssl pkey -pubout`"
    )]
    UnsupportedKey { path: String },
}

/// Checks tokens signed with one key.
pub struct JwtAuth {
    key: DecodingKey,
    validation: Validation,
    roles_claim: String,
}

impl JwtAuth {
    /// Loads a PEM public key; the algorithm follows from the key (EdDSA for Ed25519,
    /// ES256 for P-256, RS256 for RSA). `issuer` and `audience`, when given, must match.
    pub fn from_pem_file(path: &Path, issuer: Option<&str>, audience: Option<&str>, roles_claim: &str) -> Result<Self, JwtConfigError> {
        let display = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| JwtConfigError::Read { path: display.clone(), source })?;
        let (key, algorithm) = if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
            (key, Algorithm::EdDSA)
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            (key, Algorithm::ES256)
        } else if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            (key, Algorithm::RS256)
        } else {
            return Err(JwtConfigError::UnsupportedKey { path: display });
        };

        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        match issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(Self { key, validation, roles_claim: roles_claim.to_owned() })
    }
}

impl Authenticator for JwtAuth {
    fn authenticate(&self, request: &axum::http::request::Parts) -> Option<Principal> {
        let header = request.headers.get(AUTHORIZATION)?.to_str().ok()?;
        let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer "))?.trim();
        let claims = match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &self.key, &self.validation) {
            Ok(data) => data.claims,
            Err(error) => {
                tracing::info!(error = %error, "bearer token refused");
                return None;
            }
        };
        let user = claims.get("sub")?.as_str()?.to_owned();
        let roles = match claims.get(&self.roles_claim) {
            Some(serde_json::Value::Array(values)) => values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(serde_json::Value::String(value)) => value.split([',', ' ']).filter(|r| !r.is_empty()).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        Some(Principal { user, roles })
    }
}
