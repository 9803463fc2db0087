//! Loading state of one API request, and the hook that runs it.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiFailure;
use crate::shared::Shared;

/// Where a request stands.
#[derive(Debug)]
pub enum Load<T> {
    Loading,
    Loaded(Shared<T>),
    Failed(ApiFailure),
}

impl<T> Clone for Load<T> {
    fn clone(&self) -> Self {
        match self {
            Load::Loading => Load::Loading,
            Load::Loaded(value) => Load::Loaded(value.clone()),
            Load::Failed(failure) => Load::Failed(failure.clone()),
        }
    }
}

impl<T> PartialEq for Load<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Load::Loading, Load::Loading) => true,
            (Load::Loaded(a), Load::Loaded(b)) => a == b,
            (Load::Failed(a), Load::Failed(b)) => a == b,
            _ => false,
        }
    }
}

/// Runs `fetch(deps)` whenever `deps` changes and returns its state. A response
/// that arrives after `deps` changed again, or after the component unmounted, is
/// dropped, so a slow old request never overwrites a newer one.
#[hook]
pub fn use_load<T, D, F, Fut>(deps: D, fetch: F) -> Load<T>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: FnOnce(D) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiFailure>> + 'static,
{
    let state = use_state(|| Load::Loading);
    {
        let state = state.clone();
        use_effect_with(deps, move |deps| {
            if !matches!(*state, Load::Loading) {
                state.set(Load::Loading);
            }

            let cancelled = Rc::new(Cell::new(false));
            let flag = Rc::clone(&cancelled);
            let request = fetch(deps.clone());
            yew::platform::spawn_local(async move {
                let result = request.await;
                if flag.get() {
                    return;
                }
                state.set(match result {
                    Ok(value) => Load::Loaded(Shared::new(value)),
                    Err(failure) => Load::Failed(failure),
                });
            });

            move || cancelled.set(true)
        });
    }
    (*state).clone()
}

/// A failure shown in place of the content it stopped.
#[derive(Properties, PartialEq)]
pub struct FailureProps {
    pub failure: ApiFailure,
}

#[component]
pub fn FailureNotice(props: &FailureProps) -> Html {
    let hint = if props.failure.is_unauthorized() { "Your session may have ended: sign in again and reload the page." } else { "" };
    html! {
        <div class="callscope-notice callscope-notice--error" role="alert">
            <strong>{ "Could not load: " }</strong>{ props.failure.to_string() }
            if !hint.is_empty() { <div>{ hint }</div> }
        </div>
    }
}
