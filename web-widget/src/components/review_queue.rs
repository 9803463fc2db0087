//! The review queue: calls ordered by the analysis's flags, plus a random sample of
//! unflagged calls, with their assignee and whether their required labels are set.
//! A reviewer takes a call with "Assign to me" and opens it from here.

use callscope_api_types::QueueEntry;
use yew::prelude::*;

use crate::api::Api;
use crate::components::load::{FailureNotice, Load, use_reloadable_load};

#[derive(Properties, PartialEq)]
pub struct ReviewQueueProps {
    pub api: Api,
    /// The signed-in user, whom "Assign to me" names.
    pub user: String,
    pub on_open: Callback<String>,
}

#[component]
pub fn ReviewQueue(props: &ReviewQueueProps) -> Html {
    let (queue, reload) = use_reloadable_load(props.api.clone(), |api| async move { api.review_queue().await });
    let failure = use_state(|| None::<String>);

    let assign = {
        let api = props.api.clone();
        let failure = failure.clone();
        Callback::from(move |(call_id, assignee): (String, Option<String>)| {
            let api = api.clone();
            let failure = failure.clone();
            let reload = reload.clone();
            yew::platform::spawn_local(async move {
                match api.assign(&call_id, assignee.as_deref()).await {
                    Ok(()) => {
                        failure.set(None);
                        reload.emit(());
                    }
                    Err(error) => failure.set(Some(error.to_string())),
                }
            });
        })
    };

    let body = match &queue {
        Load::Loading => html! { <tr class="callscope-placeholder-row"><td colspan="7">{ "Loading the review queue…" }</td></tr> },
        Load::Failed(failure) => html! { <tr><td colspan="7"><FailureNotice failure={failure.clone()} /></td></tr> },
        Load::Loaded(entries) if entries.is_empty() => html! {
            <tr class="callscope-placeholder-row"><td colspan="7">{ "The queue is empty: no call is flagged or sampled for review." }</td></tr>
        },
        Load::Loaded(entries) => entries.iter().map(|entry| queue_row(entry, &props.user, &assign, &props.on_open)).collect::<Html>(),
    };

    html! {
        <section class="callscope-list" data-testid="review-queue">
            <header class="callscope-toolbar">
                <h2 class="callscope-heading">{ "Review queue" }</h2>
                <span class="callscope-muted">{ "Flagged calls first, then a random sample of unflagged ones. A call is done when its required labels are set." }</span>
            </header>
            if let Some(message) = (*failure).clone() {
                <p class="callscope-notice callscope-notice--error" role="alert" data-testid="queue-error">{ message }</p>
            }
            <div class="callscope-table-wrap">
                <table class="callscope-table">
                    <thead>
                        <tr>
                            <th>{ "Call" }</th>
                            <th>{ "Reason" }</th>
                            <th>{ "Flags" }</th>
                            <th class="callscope-num">{ "Priority" }</th>
                            <th>{ "Assignee" }</th>
                            <th>{ "Done" }</th>
                            <th />
                        </tr>
                    </thead>
                    <tbody>{ body }</tbody>
                </table>
            </div>
        </section>
    }
}

fn queue_row(entry: &QueueEntry, user: &str, assign: &Callback<(String, Option<String>)>, on_open: &Callback<String>) -> Html {
    let open = {
        let on_open = on_open.clone();
        let id = entry.call_id.clone();
        Callback::from(move |_: MouseEvent| on_open.emit(id.clone()))
    };
    let mine = entry.assignee.as_deref() == Some(user);
    let change = {
        let assign = assign.clone();
        let id = entry.call_id.clone();
        let assignee = (!mine).then(|| user.to_owned());
        Callback::from(move |_: MouseEvent| assign.emit((id.clone(), assignee.clone())))
    };
    let flags = if entry.flag_codes.is_empty() {
        html! { <span class="callscope-muted">{ "–" }</span> }
    } else {
        entry.flag_codes.iter().map(|code| html! { <span class="callscope-flag callscope-flag--small">{ code }</span> }).collect::<Html>()
    };

    html! {
        <tr key={entry.call_id.clone()} data-testid="queue-row" data-call-id={entry.call_id.clone()} data-done={entry.done.to_string()}>
            <td class="callscope-title-cell">{ &entry.title }</td>
            <td data-testid="queue-reason">{ &entry.reason }</td>
            <td class="callscope-queue-flags">{ flags }</td>
            <td class="callscope-num">{ entry.priority }</td>
            <td data-testid="queue-assignee">{ entry.assignee.clone().unwrap_or_else(|| String::from("–")) }</td>
            <td data-testid="queue-done">{ if entry.done { "yes" } else { "no" } }</td>
            <td class="callscope-row-actions">
                <button type="button" class="callscope-button callscope-button--small" data-testid={if mine { "unassign" } else { "assign-me" }} onclick={change}>
                    { if mine { "Unassign" } else { "Assign to me" } }
                </button>
                <button type="button" class="callscope-button callscope-button--small" data-testid="open-queued-call" onclick={open}>{ "Open" }</button>
            </td>
        </tr>
    }
}
