//! The components page for administrators: the active component version, the
//! previous one with a rollback, the install form, and the progress of re-analysing
//! stored calls with the active version.

use callscope_api_types::{ComponentsStatus, InstalledComponent, ReanalysisProgress};
use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::api::Api;
use crate::components::install_form::InstallForm;
use crate::components::load::{FailureNotice, Load, use_reloadable_load};
use crate::upgrade::{file_size, reanalysis_bar, reanalysis_percent, reanalysis_recorded, reanalysis_summary, short_sha, timestamp};

/// Time between two reads of the status while a re-analysis runs, in milliseconds.
pub const REFRESH_INTERVAL_MS: u32 = 2_000;

/// How long the page keeps refreshing after an install or rollback, in
/// milliseconds, even before the status shows a running re-analysis. The host may
/// start the job a moment after it responded, and 10 s covers several refreshes.
const REFRESH_AFTER_CHANGE_MS: f64 = 10_000.0;

#[derive(Properties, PartialEq)]
pub struct ComponentAdminProps {
    pub api: Api,
}

#[component]
pub fn ComponentAdmin(props: &ComponentAdminProps) -> Html {
    let (status, reload) = use_reloadable_load(props.api.clone(), |api| async move { api.components_status().await });
    // Time (`Date.now()`, ms) until which the page refreshes after a change.
    let refresh_until = use_state_eq(|| None::<f64>);
    let rollback_notice = use_state_eq(|| None::<String>);

    let running = matches!(&status, Load::Loaded(status) if status.reanalysis.running);
    {
        let reload = reload.clone();
        let until = *refresh_until;
        let refresh_until = refresh_until.setter();
        use_effect_with((running, until), move |&(running, until)| {
            let interval = (running || until.is_some()).then(|| {
                Interval::new(REFRESH_INTERVAL_MS, move || {
                    reload.emit(());
                    if until.is_some_and(|until| js_sys::Date::now() >= until) {
                        refresh_until.set(None);
                    }
                })
            });
            move || drop(interval)
        });
    }

    let on_changed = {
        let reload = reload.clone();
        let refresh_until = refresh_until.clone();
        Callback::from(move |()| {
            reload.emit(());
            refresh_until.set(Some(js_sys::Date::now() + REFRESH_AFTER_CHANGE_MS));
        })
    };
    let on_installed = {
        let on_changed = on_changed.clone();
        let rollback_notice = rollback_notice.clone();
        Callback::from(move |_: InstalledComponent| {
            rollback_notice.set(None);
            on_changed.emit(());
        })
    };
    let on_rolled_back = {
        let rollback_notice = rollback_notice.clone();
        Callback::from(move |status: ComponentsStatus| {
            let active = &status.active;
            rollback_notice.set(Some(format!(
                "Rolled back: {} (interface {}) is active again.",
                short_sha(&active.sha256),
                active.interface_version
            )));
            on_changed.emit(());
        })
    };

    let body = match &status {
        Load::Loading => html! { <p class="callscope-muted callscope-empty">{ "Loading the installed components…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(status) => html! {
            <div class="callscope-admin-grid">
                <div class="callscope-admin-column">
                    <section class="callscope-card" data-testid="active-component">
                        <h3 class="callscope-section-heading">{ "Active version" }</h3>
                        { component_facts(&status.active, "active") }
                    </section>
                    <section class="callscope-card" data-testid="previous-component">
                        <h3 class="callscope-section-heading">{ "Previous version" }</h3>
                        if let Some(previous) = &status.previous {
                            { component_facts(previous, "previous") }
                            <Rollback api={props.api.clone()} previous={previous.clone()} on_rolled_back={on_rolled_back.clone()} />
                        } else {
                            <p class="callscope-muted callscope-card-note" data-testid="no-previous">
                                { "None installed. After the next install, the version active now stays here for a rollback." }
                            </p>
                        }
                        if let Some(notice) = (*rollback_notice).clone() {
                            <p class="callscope-notice callscope-notice--success" role="status" data-testid="rollback-done">{ notice }</p>
                        }
                    </section>
                </div>
                <div class="callscope-admin-column">
                    <InstallForm api={props.api.clone()} active_sha={status.active.sha256.clone()} {on_installed} />
                    { reanalysis(&status.reanalysis, &status.active.sha256) }
                </div>
            </div>
        },
    };

    html! {
        <section class="callscope-admin" data-testid="component-admin">
            <header class="callscope-toolbar">
                <h2 class="callscope-heading">{ "Components" }</h2>
                <span class="callscope-muted">{ "The active component analyses every new request. Install a new version here, or roll back to the previous one." }</span>
            </header>
            { body }
        </section>
    }
}

/// Lists the facts the host stores about an installed version. `role` (`active` or
/// `previous`) prefixes the test ids, so a test can tell the two lists apart.
fn component_facts(component: &InstalledComponent, role: &str) -> Html {
    let id = |name: &str| format!("{role}-{name}");
    let signed_by = match &component.signed_by {
        Some(key) => html! { <dd data-testid={id("signed-by")}>{ key }</dd> },
        None => html! { <dd class="callscope-muted" data-testid={id("signed-by")}>{ "not signed" }</dd> },
    };
    // No component file is empty, so 0 means the host did not record the size.
    let size = match component.size_bytes {
        0 => html! { <dd class="callscope-muted" data-testid={id("size")}>{ "not recorded" }</dd> },
        bytes => html! { <dd data-testid={id("size")} title={format!("{bytes} bytes")}>{ file_size(bytes) }</dd> },
    };
    // Components of interface 0.1 cannot describe themselves.
    let build = match &component.describes_itself_as {
        Some(info) => html! {
            <dd data-testid={id("build")} title={format!("reads {}; decodes {}", info.formats.join(", "), info.audio_encodings.join(", "))}>
                { format!("{} {}", info.name, info.version) }
            </dd>
        },
        None => html! { <dd class="callscope-muted" data-testid={id("build")}>{ "not described (interface 0.1)" }</dd> },
    };
    html! {
        <dl class="callscope-component-facts">
            <dt>{ "Build" }</dt>
            { build }
            <dt>{ "sha256" }</dt>
            <dd>
                <code class="callscope-sha" data-testid={id("sha")} data-sha={component.sha256.clone()} title={component.sha256.clone()}>
                    { short_sha(&component.sha256) }
                </code>
            </dd>
            <dt>{ "Interface version" }</dt>
            <dd data-testid={id("interface-version")}>{ &component.interface_version }</dd>
            <dt>{ "Installed" }</dt>
            <dd data-testid={id("installed-at")} title={component.installed_at.clone()}>{ timestamp(&component.installed_at) }</dd>
            <dt>{ "Installed by" }</dt>
            <dd data-testid={id("installed-by")}>{ &component.installed_by }</dd>
            <dt>{ "Signed by" }</dt>
            { signed_by }
            <dt>{ "Size" }</dt>
            { size }
        </dl>
    }
}

/// Shows the re-analysis of stored calls: a summary line and a bar of the calls
/// re-analysed, followed in red by those that failed.
fn reanalysis(progress: &ReanalysisProgress, active_sha: &str) -> Html {
    let percent = reanalysis_percent(progress);
    let (done_width, failed_width) = reanalysis_bar(progress);
    let other_target = !progress.target_sha256.is_empty() && progress.target_sha256 != active_sha;
    html! {
        <section class="callscope-card" data-testid="reanalysis" data-running={progress.running.to_string()}>
            <h3 class="callscope-section-heading">{ "Re-analysis of stored calls" }</h3>
            <p class="callscope-muted callscope-card-note">
                { "After an install or a rollback, the host analyses again every stored call that another version analysed." }
            </p>
            if reanalysis_recorded(progress) {
                <div class="callscope-reanalysis-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow={percent.to_string()}
                    data-testid="reanalysis-bar">
                    <div class="callscope-reanalysis-done" style={format!("width: {done_width}%")} />
                    <div class="callscope-reanalysis-failed" style={format!("width: {failed_width}%")} />
                </div>
            }
            <p class="callscope-reanalysis-summary" data-testid="reanalysis-summary">{ reanalysis_summary(progress) }</p>
            if reanalysis_recorded(progress) {
                <dl class="callscope-component-facts">
                    <dt>{ "Re-analysed" }</dt>
                    <dd data-testid="reanalysis-done">{ format!("{} / {}", progress.done, progress.total) }</dd>
                    <dt>{ "Failed" }</dt>
                    <dd data-testid="reanalysis-failed" class={classes!((progress.failed > 0).then_some("callscope-grade-slow"))}>{ progress.failed }</dd>
                    if !progress.target_sha256.is_empty() {
                        <dt>{ "Version" }</dt>
                        <dd>
                            <code class="callscope-sha" data-testid="reanalysis-target" title={progress.target_sha256.clone()}>
                                { short_sha(&progress.target_sha256) }
                            </code>
                            if other_target {
                                <span class="callscope-muted">{ " (not the active version)" }</span>
                            }
                        </dd>
                    }
                </dl>
            }
            if progress.running {
                <p class="callscope-muted callscope-card-note">{ format!("Refreshing every {} s.", REFRESH_INTERVAL_MS / 1000) }</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct RollbackProps {
    api: Api,
    previous: InstalledComponent,
    /// Called with the host's status after the rollback.
    on_rolled_back: Callback<ComponentsStatus>,
}

/// State of the rollback control.
#[derive(Debug, Clone, PartialEq)]
enum RollbackState {
    Idle,
    /// The user is asked to confirm.
    Confirming,
    Sending,
    Failed(String),
}

/// The rollback button, which shows a confirmation before it sends the request.
#[component]
fn Rollback(props: &RollbackProps) -> Html {
    let state = use_state_eq(|| RollbackState::Idle);

    let ask = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.set(RollbackState::Confirming))
    };
    let cancel = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.set(RollbackState::Idle))
    };
    let confirm = {
        let api = props.api.clone();
        let on_rolled_back = props.on_rolled_back.clone();
        let state = state.clone();
        Callback::from(move |_: MouseEvent| {
            state.set(RollbackState::Sending);
            let api = api.clone();
            let on_rolled_back = on_rolled_back.clone();
            let state = state.clone();
            yew::platform::spawn_local(async move {
                match api.rollback_component().await {
                    Ok(status) => {
                        state.set(RollbackState::Idle);
                        on_rolled_back.emit(status);
                    }
                    Err(failure) => state.set(RollbackState::Failed(failure.to_string())),
                }
            });
        })
    };

    let previous = &props.previous;
    match &*state {
        RollbackState::Idle | RollbackState::Failed(_) => html! {
            <div class="callscope-rollback">
                <button type="button" class="callscope-button" data-testid="rollback" onclick={ask}>{ "Roll back…" }</button>
                if let RollbackState::Failed(message) = &*state {
                    <p class="callscope-notice callscope-notice--error" role="alert" data-testid="rollback-error">
                        <strong>{ "Rollback failed: " }</strong>{ message }
                    </p>
                }
            </div>
        },
        RollbackState::Confirming | RollbackState::Sending => {
            let sending = *state == RollbackState::Sending;
            html! {
                <div class="callscope-rollback callscope-editor" role="alertdialog" aria-label="Confirm the rollback" data-testid="rollback-confirmation">
                    <p class="callscope-card-note">
                        { "Make " }<code class="callscope-sha" title={previous.sha256.clone()}>{ short_sha(&previous.sha256) }</code>
                        { format!(" (interface {}) the active version again? ", previous.interface_version) }
                        { "Requests in flight finish on the current version, new ones use this one, and stored calls are analysed again with it." }
                    </p>
                    <div class="callscope-button-group">
                        <button type="button" class="callscope-button callscope-button--primary" data-testid="rollback-confirm" disabled={sending} onclick={confirm}>
                            { if sending { "Rolling back…" } else { "Roll back" } }
                        </button>
                        <button type="button" class="callscope-button" data-testid="rollback-cancel" disabled={sending} onclick={cancel}>{ "Cancel" }</button>
                    </div>
                </div>
            }
        }
    }
}
