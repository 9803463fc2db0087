//! The widget's root: chooses between the calls list and one call, and keeps the
//! live-call feed open while it is mounted.

use yew::prelude::*;

use crate::api::Api;
use crate::api::live::LiveEvent;
use crate::components::call_list::CallList;
use crate::components::call_view::CallView;
use crate::options::Theme;
use crate::shared::Shared;

/// Stylesheet of the widget; every rule is scoped under `.callscope`.
const STYLE: &str = include_str!("../style.css");

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub api: Api,
    pub theme: Theme,
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let open_call = use_state(|| None::<String>);
    let list_offset = use_state(|| 0u64);
    let live_event = use_state(|| None::<Shared<LiveEvent>>);

    {
        // One feed per mounted widget; the cleanup drops it when the widget unmounts
        // or the API base changes, which closes its EventSource.
        let live_event = live_event.setter();
        use_effect_with(props.api.clone(), move |api| {
            let feed = api.live_feed(move |event| live_event.set(Some(Shared::new(event))));
            move || drop(feed)
        });
    }

    let on_open = {
        let open_call = open_call.clone();
        Callback::from(move |id: String| open_call.set(Some(id)))
    };
    let on_back = {
        let open_call = open_call.clone();
        Callback::from(move |()| open_call.set(None))
    };
    let on_page = {
        let list_offset = list_offset.clone();
        Callback::from(move |offset: u64| list_offset.set(offset))
    };

    html! {
        <div class={classes!("callscope", props.theme.class())}>
            <style>{ STYLE }</style>
            if let Some(id) = (*open_call).clone() {
                <CallView api={props.api.clone()} call_id={id} {on_back} live_event={(*live_event).clone()} />
            } else {
                <CallList api={props.api.clone()} offset={*list_offset} {on_page} {on_open} live_event={(*live_event).clone()} />
            }
        </div>
    }
}
