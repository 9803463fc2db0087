//! The form that installs a new component version: a `.wasm` file, an optional raw
//! ed25519 signature, upload progress, then the host's verdict. A rejected file names
//! the check it failed, and the active version keeps serving.

use callscope_api_types::{InstallRefusal, InstalledComponent};
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use crate::api::Api;
use crate::api::admin::InstallFailure;
use crate::api::upload::UploadProgress;
use crate::upgrade::{check_description, check_signature_file, file_size, short_sha, upload_percent};

/// Progress of the last install.
#[derive(Debug, Clone, PartialEq)]
enum InstallState {
    Idle,
    /// The browser is sending the files.
    Uploading {
        progress: UploadProgress,
    },
    /// Every byte is sent and the host is running its checks.
    Checking,
    Installed(InstalledComponent),
    Refused(InstallRefusal),
    /// The request failed, or the form was not sent because an input is invalid.
    Failed(String),
}

impl InstallState {
    fn busy(&self) -> bool {
        matches!(self, InstallState::Uploading { .. } | InstallState::Checking)
    }
}

#[derive(Properties, PartialEq)]
pub struct InstallFormProps {
    pub api: Api,
    /// sha256 of the active version. A success message about another version is
    /// cleared, because a rollback or another install replaced it.
    pub active_sha: String,
    /// Called with the new active version after a successful install.
    pub on_installed: Callback<InstalledComponent>,
}

#[component]
pub fn InstallForm(props: &InstallFormProps) -> Html {
    let component_input = use_node_ref();
    let signature_input = use_node_ref();
    let component_chosen = use_state_eq(|| false);
    let state = use_state_eq(|| InstallState::Idle);

    {
        let state = state.clone();
        use_effect_with(props.active_sha.clone(), move |active_sha| {
            if let InstallState::Installed(installed) = &*state
                && installed.sha256 != *active_sha
            {
                state.set(InstallState::Idle);
            }
        });
    }

    let on_component_change = {
        let component_chosen = component_chosen.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            component_chosen.set(first_file(&input).is_some());
        })
    };

    let onsubmit = {
        let api = props.api.clone();
        let on_installed = props.on_installed.clone();
        let component_input = component_input.clone();
        let signature_input = signature_input.clone();
        let component_chosen = component_chosen.clone();
        let state = state.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if state.busy() {
                return;
            }

            let Some(component) = component_input.cast::<HtmlInputElement>().as_ref().and_then(first_file) else {
                state.set(InstallState::Failed(String::from("choose a component file (.wasm) to install")));
                return;
            };
            let signature = signature_input.cast::<HtmlInputElement>().as_ref().and_then(first_file);
            if let Some(signature) = &signature
                && let Err(problem) = check_signature_file(&signature.name(), signature.size())
            {
                state.set(InstallState::Failed(problem));
                return;
            }

            state.set(InstallState::Uploading { progress: UploadProgress { sent_bytes: 0.0, total_bytes: Some(component.size()) } });
            let api = api.clone();
            let on_installed = on_installed.clone();
            let inputs = [component_input.clone(), signature_input.clone()];
            let component_chosen = component_chosen.clone();
            let state = state.clone();
            yew::platform::spawn_local(async move {
                let setter = state.setter();
                let on_progress = move |progress: UploadProgress| {
                    let sent_all = progress.total_bytes.is_some_and(|total| progress.sent_bytes >= total);
                    setter.set(if sent_all { InstallState::Checking } else { InstallState::Uploading { progress } });
                };

                match api.install_component(&component, signature.as_ref(), on_progress).await {
                    Ok(installed) => {
                        for input in inputs.iter().filter_map(NodeRef::cast::<HtmlInputElement>) {
                            input.set_value("");
                        }
                        component_chosen.set(false);
                        state.set(InstallState::Installed(installed.clone()));
                        on_installed.emit(installed);
                    }
                    Err(InstallFailure::Refused { refusal }) => state.set(InstallState::Refused(refusal)),
                    Err(InstallFailure::Failed(failure)) => state.set(InstallState::Failed(failure.to_string())),
                }
            });
        })
    };

    let busy = state.busy();
    html! {
        <form class="callscope-card callscope-install" data-testid="install-form" {onsubmit}>
            <h3 class="callscope-section-heading">{ "Install a new version" }</h3>
            <p class="callscope-muted callscope-card-note">
                { "Before it serves any request, the host checks that the file is a component, its interface version, its imports, \
                   its signature when one is required, and a self-test. Requests in flight finish on the current version." }
            </p>
            <label class="callscope-field">
                <span class="callscope-fact-label">{ "Component (.wasm)" }</span>
                <input type="file" accept=".wasm,application/wasm" class="callscope-file-input" data-testid="install-component-file"
                    ref={component_input} disabled={busy} onchange={on_component_change} />
            </label>
            <label class="callscope-field">
                <span class="callscope-fact-label">{ "Signature (optional, raw 64-byte ed25519)" }</span>
                <input type="file" class="callscope-file-input" data-testid="install-signature-file" ref={signature_input} disabled={busy} />
            </label>
            <div>
                <button type="submit" class="callscope-button callscope-button--primary" data-testid="install-submit" disabled={busy || !*component_chosen}>
                    { "Install" }
                </button>
            </div>
            { install_state(&state) }
        </form>
    }
}

/// Returns the first file chosen in a file input.
fn first_file(input: &HtmlInputElement) -> Option<File> {
    input.files().and_then(|files| files.get(0))
}

fn install_state(state: &InstallState) -> Html {
    match state {
        InstallState::Idle => html! {},
        InstallState::Uploading { progress } => {
            let percent = progress.total_bytes.and_then(|total| upload_percent(progress.sent_bytes, total));
            let sent = file_size(progress.sent_bytes as u64);
            let text = match (percent, progress.total_bytes) {
                (Some(percent), Some(total)) => format!("Uploading: {percent} % ({sent} of {})", file_size(total as u64)),
                _ => format!("Uploading: {sent} sent"),
            };
            html! {
                <div class="callscope-install-progress" data-testid="install-uploading" role="status">
                    <progress class="callscope-upload-bar" data-testid="install-progress" max="100"
                        value={percent.map(|percent| percent.to_string())} />
                    <span>{ text }</span>
                </div>
            }
        }
        InstallState::Checking => html! {
            <div class="callscope-install-progress" data-testid="install-checking" role="status">
                <progress class="callscope-upload-bar" data-testid="install-progress" />
                <span>{ "Uploaded. The host is checking the component and running its self-test…" }</span>
            </div>
        },
        InstallState::Installed(installed) => html! {
            <p class="callscope-notice callscope-notice--success" role="status" data-testid="install-installed" data-sha={installed.sha256.clone()}>
                { "Installed " }
                <code class="callscope-sha" title={installed.sha256.clone()}>{ short_sha(&installed.sha256) }</code>
                { format!(" (interface {}): it serves every new request now.", installed.interface_version) }
            </p>
        },
        InstallState::Refused(refusal) => html! {
            <div class="callscope-notice callscope-notice--error" role="alert" data-testid="install-refusal" data-check={refusal.check.clone()}>
                <strong>{ "Not installed: " }</strong>
                { "the file failed the " }<code data-testid="refusal-check">{ &refusal.check }</code>{ " check" }
                if let Some(description) = check_description(&refusal.check) {
                    <span class="callscope-muted">{ format!(" ({description})") }</span>
                }
                { "." }
                <p class="callscope-refusal-message" data-testid="refusal-message">{ &refusal.message }</p>
                <div class="callscope-muted">{ "The active version keeps serving." }</div>
            </div>
        },
        InstallState::Failed(message) => html! {
            <p class="callscope-notice callscope-notice--error" role="alert" data-testid="install-error">
                <strong>{ "Not installed: " }</strong>{ message }
            </p>
        },
    }
}
