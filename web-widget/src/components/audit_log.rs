//! The audit log for administrators: every annotation change, export and rejected
//! request, with user and time.

use callscope_api_types::AuditEntry;
use yew::prelude::*;

use crate::api::Api;
use crate::components::load::{FailureNotice, Load, use_load};

#[derive(Properties, PartialEq)]
pub struct AuditLogProps {
    pub api: Api,
}

#[component]
pub fn AuditLog(props: &AuditLogProps) -> Html {
    let entries = use_load(props.api.clone(), |api| async move { api.audit().await });

    let body = match &entries {
        Load::Loading => html! { <tr class="callscope-placeholder-row"><td colspan="5">{ "Loading the audit log…" }</td></tr> },
        Load::Failed(failure) => html! { <tr><td colspan="5"><FailureNotice failure={failure.clone()} /></td></tr> },
        Load::Loaded(entries) if entries.is_empty() => html! { <tr class="callscope-placeholder-row"><td colspan="5">{ "The audit log is empty." }</td></tr> },
        Load::Loaded(entries) => entries.iter().map(audit_row).collect::<Html>(),
    };

    html! {
        <section class="callscope-list" data-testid="audit-log">
            <header class="callscope-toolbar">
                <h2 class="callscope-heading">{ "Audit log" }</h2>
            </header>
            <div class="callscope-table-wrap">
                <table class="callscope-table">
                    <thead>
                        <tr>
                            <th>{ "Time" }</th>
                            <th>{ "User" }</th>
                            <th>{ "Action" }</th>
                            <th>{ "Subject" }</th>
                            <th>{ "Detail" }</th>
                        </tr>
                    </thead>
                    <tbody>{ body }</tbody>
                </table>
            </div>
        </section>
    }
}

fn audit_row(entry: &AuditEntry) -> Html {
    html! {
        <tr key={entry.id} data-testid="audit-row" data-action={entry.action.clone()}>
            <td class="callscope-muted">{ &entry.at }</td>
            <td>{ entry.user.clone().unwrap_or_else(|| String::from("–")) }</td>
            <td>{ &entry.action }</td>
            <td class="callscope-wrap-cell">{ &entry.subject }</td>
            <td class="callscope-wrap-cell">{ &entry.detail }</td>
        </tr>
    }
}
