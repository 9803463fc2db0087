//! Requests of the components page: the installed component versions with the
//! re-analysis progress, installing a new version, and rolling back to the previous
//! one. Each needs the `manage-component` permission.

use callscope_api_types::{ComponentsStatus, InstallRefusal, InstalledComponent};
use gloo_net::http::Method;
use web_sys::{File, FormData};

use super::upload::{UploadProgress, UploadResponse, post_form};
use super::{Api, ApiFailure, status_failure};

/// Value of the `error` field of a refused install.
pub const INSTALL_REFUSED: &str = "install-refused";

/// Failure of a component install.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InstallFailure {
    /// HTTP 422: the file failed one of the host's checks, and the active version
    /// keeps serving.
    #[error("rejected at the {} check: {}", refusal.check, refusal.message)]
    Refused { refusal: InstallRefusal },

    #[error(transparent)]
    Failed(#[from] ApiFailure),
}

impl Api {
    pub async fn components_status(&self) -> Result<ComponentsStatus, ApiFailure> {
        self.get_json(COMPONENTS_PATH).await
    }

    /// Uploads `component` (a `.wasm` file) with an optional raw ed25519
    /// `signature`, reporting upload progress to `on_progress`. On success the new
    /// version serves every new request.
    pub async fn install_component(
        &self,
        component: &File,
        signature: Option<&File>,
        on_progress: impl Fn(UploadProgress) + 'static,
    ) -> Result<InstalledComponent, InstallFailure> {
        let url = self.url(COMPONENTS_PATH);
        let network = |reason: String| ApiFailure::Network { url: url.clone(), reason };
        let form = FormData::new().map_err(|error| network(format!("creating the form failed: {error:?}")))?;
        form.append_with_blob_and_filename("component", component, &component.name())
            .map_err(|error| network(format!("adding the component file failed: {error:?}")))?;
        if let Some(signature) = signature {
            form.append_with_blob_and_filename("signature", signature, &signature.name())
                .map_err(|error| network(format!("adding the signature file failed: {error:?}")))?;
        }

        let response = post_form(&url, &form, on_progress).await?;
        install_outcome(url, &response)
    }

    /// Makes the previous version active again and returns the new status. Fails
    /// with HTTP 409 when there is no previous version.
    pub async fn rollback_component(&self) -> Result<ComponentsStatus, ApiFailure> {
        self.change_json(Method::POST, ROLLBACK_PATH, None::<&()>).await
    }
}

const COMPONENTS_PATH: &str = "admin/components";
const ROLLBACK_PATH: &str = "admin/components/rollback";

/// Reads an install response: the installed version on 2xx, the refusal on a 422
/// whose body is one, and the host's error otherwise.
fn install_outcome(url: String, response: &UploadResponse) -> Result<InstalledComponent, InstallFailure> {
    let UploadResponse { status, body } = response;
    if (200..300).contains(status) {
        return serde_json::from_str(body).map_err(|error| InstallFailure::Failed(ApiFailure::Decode { url, reason: error.to_string() }));
    }
    if *status == 422
        && let Ok(refusal) = serde_json::from_str::<InstallRefusal>(body)
        && refusal.error == INSTALL_REFUSED
    {
        return Err(InstallFailure::Refused { refusal });
    }
    Err(InstallFailure::Failed(status_failure(url, *status, body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "/callscope/api/admin/components";

    fn response(status: u16, body: &str) -> UploadResponse {
        UploadResponse { status, body: body.to_owned() }
    }

    #[test]
    fn install_outcome_201_reads_installed_version() {
        let body = r#"{"sha256":"ab12","interface_version":"0.2.0","installed_at":"2026-12-04T23:28:16Z","installed_by":"admin","size_bytes":2048,"signed_by":"release-key"}"#;
        let installed = install_outcome(URL.to_owned(), &response(201, body)).unwrap();
        assert_eq!(installed.sha256, "ab12");
        assert_eq!(installed.interface_version, "0.2.0");
        assert_eq!(installed.signed_by.as_deref(), Some("release-key"));
    }

    #[test]
    fn install_outcome_201_wrong_body() {
        let failure = install_outcome(URL.to_owned(), &response(201, "{}")).unwrap_err();
        assert!(matches!(failure, InstallFailure::Failed(ApiFailure::Decode { .. })), "{failure:?}");
    }

    #[test]
    fn install_outcome_422_reads_refusal() {
        let body = r#"{"error":"install-refused","check":"self-test","message":"the analysis of the built-in call differs: 3 pauses, expected 2"}"#;
        let failure = install_outcome(URL.to_owned(), &response(422, body)).unwrap_err();
        let InstallFailure::Refused { refusal } = &failure else { panic!("expected a refusal, got {failure:?}") };
        assert_eq!(refusal.check, "self-test");
        assert_eq!(failure.to_string(), "rejected at the self-test check: the analysis of the built-in call differs: 3 pauses, expected 2");
    }

    #[test]
    fn install_outcome_422_other_error() {
        let body = r#"{"error":"invalid-form","message":"the form has no field named component"}"#;
        let failure = install_outcome(URL.to_owned(), &response(422, body)).unwrap_err();
        assert_eq!(failure.to_string(), "the form has no field named component (HTTP 422 from /callscope/api/admin/components)");
    }

    #[test]
    fn install_outcome_403_forbidden() {
        let body = r#"{"error":"forbidden","message":"manage-component permission required"}"#;
        let failure = install_outcome(URL.to_owned(), &response(403, body)).unwrap_err();
        let InstallFailure::Failed(api) = &failure else { panic!("expected an API failure, got {failure:?}") };
        assert!(api.is_forbidden());
    }

    #[test]
    fn install_outcome_413_without_body() {
        let failure = install_outcome(URL.to_owned(), &response(413, "")).unwrap_err();
        assert_eq!(failure.to_string(), "the server answered HTTP 413 without an error body (HTTP 413 from /callscope/api/admin/components)");
    }
}
