//! Loading state of one API request, and the hooks that run it: once per change of
//! its inputs, or also again on request while a live call grows.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiFailure;
use crate::api::live::LiveEvent;
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

/// Like [`use_load`], and also returns a callback that fetches again. A reload does
/// not go back to `Loading`: the shown value stays until the new response replaces
/// it, and a failed reload keeps it and is logged. Reloads are coalesced: while one
/// fetch is in flight, any number of reload requests start exactly one more fetch
/// after it. `fetch` is taken from the first render.
#[hook]
pub fn use_reloadable_load<T, D, F, Fut>(deps: D, fetch: F) -> (Load<T>, Callback<()>)
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: Fn(D) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiFailure>> + 'static,
{
    let state = use_state(|| Load::Loading);
    let reloader = use_mut_ref(move || Reloader { fetch, deps: None, generation: 0, in_flight: false, pending: false, loaded: false });

    {
        let state = state.clone();
        let reloader = Rc::clone(&reloader);
        use_effect_with(deps, move |deps| {
            {
                let mut reloader = reloader.borrow_mut();
                reloader.generation += 1;
                reloader.deps = Some(deps.clone());
                reloader.in_flight = false;
                reloader.pending = false;
                reloader.loaded = false;
            }
            if !matches!(*state, Load::Loading) {
                state.set(Load::Loading);
            }
            start_fetch(Rc::clone(&reloader), state);

            // A response of an older generation is dropped when it arrives.
            move || reloader.borrow_mut().generation += 1
        });
    }

    let reload = {
        let state = state.clone();
        Callback::from(move |()| {
            let start = {
                let mut reloader = reloader.borrow_mut();
                if reloader.in_flight {
                    reloader.pending = true;
                }
                reloader.deps.is_some() && !reloader.in_flight
            };
            if start {
                start_fetch(Rc::clone(&reloader), state.clone());
            }
        })
    };
    ((*state).clone(), reload)
}

/// Fetch state behind [`use_reloadable_load`].
struct Reloader<D, F> {
    fetch: F,
    /// Inputs of the current generation; `None` before the first effect ran.
    deps: Option<D>,
    /// Bumped when the inputs change or the component unmounts.
    generation: u64,
    in_flight: bool,
    /// A reload was requested while a fetch was in flight.
    pending: bool,
    /// A fetch of this generation succeeded, so a failed reload keeps its value.
    loaded: bool,
}

fn start_fetch<T, D, F, Fut>(reloader: Rc<RefCell<Reloader<D, F>>>, state: UseStateHandle<Load<T>>)
where
    T: 'static,
    D: Clone + 'static,
    F: Fn(D) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiFailure>> + 'static,
{
    let (request, generation) = {
        let mut current = reloader.borrow_mut();
        let Some(deps) = current.deps.clone() else { return };
        current.in_flight = true;
        current.pending = false;
        ((current.fetch)(deps), current.generation)
    };

    yew::platform::spawn_local(async move {
        let result = request.await;
        let (again, keep_shown) = {
            let mut current = reloader.borrow_mut();
            if current.generation != generation {
                return;
            }
            current.in_flight = false;
            let keep_shown = current.loaded;
            current.loaded |= result.is_ok();
            (current.pending, keep_shown)
        };

        match result {
            Ok(value) => state.set(Load::Loaded(Shared::new(value))),
            Err(failure) if keep_shown => {
                let message = format!("callscope: reloading failed, the shown data stays: {failure}");
                web_sys::console::warn_1(&message.into());
            }
            Err(failure) => state.set(Load::Failed(failure)),
        }

        if again {
            start_fetch(reloader, state);
        }
    });
}

/// Calls `on_event` with each live event that arrives while the component is
/// mounted. `event` is the latest one the widget received; the one present at mount
/// is older than the component's first fetch and is skipped.
#[hook]
pub fn use_live_events(event: Option<Shared<LiveEvent>>, on_event: impl Fn(&LiveEvent) + 'static) {
    let at_mount = use_mut_ref(|| event.clone());
    use_effect_with(event, move |event| {
        if let Some(event) = event.as_ref().filter(|event| Some(*event) != at_mount.borrow().as_ref()) {
            on_event(event);
        }
    });
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
