//! The widget's root: reads who is signed in and what they may do, then shows the
//! tabs their permissions allow (calls, review queue, agreement, audit log,
//! components) and the export links. It keeps the live-call feed open while it is
//! mounted.

use callscope_api_types::{Me, Permission};
use yew::prelude::*;

use crate::access::Access;
use crate::api::Api;
use crate::api::live::LiveEvent;
use crate::api::review::ExportFormat;
use crate::components::agreement::Agreement;
use crate::components::audit_log::AuditLog;
use crate::components::call_list::CallList;
use crate::components::call_view::CallView;
use crate::components::component_admin::ComponentAdmin;
use crate::components::load::{FailureNotice, Load, use_load};
use crate::components::review_queue::ReviewQueue;
use crate::options::Theme;
use crate::shared::Shared;

/// Stylesheet of the widget; every rule is scoped under `.callscope`.
const STYLE: &str = include_str!("../style.css");

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub api: Api,
    pub theme: Theme,
}

/// A page of the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Calls,
    Review,
    Agreement,
    Audit,
    Components,
}

impl Tab {
    fn key(self) -> &'static str {
        match self {
            Tab::Calls => "calls",
            Tab::Review => "review",
            Tab::Agreement => "agreement",
            Tab::Audit => "audit",
            Tab::Components => "components",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Tab::Calls => "Calls",
            Tab::Review => "Review queue",
            Tab::Agreement => "Agreement",
            Tab::Audit => "Audit log",
            Tab::Components => "Components",
        }
    }

    /// Permission the tab needs.
    fn permission(self) -> Permission {
        match self {
            Tab::Calls => Permission::ViewCalls,
            Tab::Review | Tab::Agreement => Permission::Review,
            Tab::Audit | Tab::Components => Permission::ManageComponent,
        }
    }
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let me = use_load(props.api.clone(), |api| async move { api.me().await });

    let body = match &me {
        Load::Loading => html! { <p class="callscope-muted callscope-empty">{ "Loading…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(me) => html! { <SignedIn api={props.api.clone()} me={me.clone()} /> },
    };

    html! {
        <div class={classes!("callscope", props.theme.class())}>
            <style>{ STYLE }</style>
            { body }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SignedInProps {
    api: Api,
    me: Shared<Me>,
}

/// Renders the widget once the user's permissions are known, so that nothing they
/// may not use shows even for a moment.
#[component]
fn SignedIn(props: &SignedInProps) -> Html {
    let access = use_memo(props.me.clone(), |me| Shared::new(Access::from_me(me)));
    let access: Shared<Access> = (*access).clone();
    let schema = use_load(props.api.clone(), |api| async move { api.schema().await });
    let tab = use_state_eq(|| Tab::Calls);
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
        let tab = tab.clone();
        Callback::from(move |id: String| {
            tab.set(Tab::Calls);
            open_call.set(Some(id));
        })
    };
    let on_back = {
        let open_call = open_call.clone();
        Callback::from(move |()| open_call.set(None))
    };
    let on_page = {
        let list_offset = list_offset.clone();
        Callback::from(move |offset: u64| list_offset.set(offset))
    };

    let page = match *tab {
        Tab::Calls => match (*open_call).clone() {
            Some(id) => html! {
                <CallView api={props.api.clone()} call_id={id} {on_back} live_event={(*live_event).clone()} access={access.clone()} schema={schema.clone()} />
            },
            None => html! {
                <CallList api={props.api.clone()} offset={*list_offset} {on_page} on_open={on_open.clone()} live_event={(*live_event).clone()} />
            },
        },
        Tab::Review => html! { <ReviewQueue api={props.api.clone()} user={access.user.clone()} {on_open} /> },
        Tab::Agreement => html! { <Agreement api={props.api.clone()} schema={schema.clone()} /> },
        Tab::Audit => html! { <AuditLog api={props.api.clone()} /> },
        Tab::Components => html! { <ComponentAdmin api={props.api.clone()} /> },
    };

    html! {
        <>
            { nav(&props.api, &access, &tab) }
            { page }
        </>
    }
}

/// Renders the tab bar and the export links. A user with only the calls list gets
/// no bar, so the widget looks as before for them.
fn nav(api: &Api, access: &Access, tab: &UseStateHandle<Tab>) -> Html {
    let tabs: Vec<Tab> = [Tab::Calls, Tab::Review, Tab::Agreement, Tab::Audit, Tab::Components].into_iter().filter(|tab| access.can(tab.permission())).collect();
    let export = access.can(Permission::Export);
    if tabs.len() <= 1 && !export {
        return html! {};
    }

    let buttons = tabs.into_iter().map(|shown| {
        let current = shown == **tab;
        let onclick = {
            let tab = tab.clone();
            Callback::from(move |_: MouseEvent| tab.set(shown))
        };
        html! {
            <button type="button" role="tab" class={classes!("callscope-tab", current.then_some("callscope-tab--current"))}
                data-testid={format!("tab-{}", shown.key())} aria-selected={current.to_string()} {onclick}>{ shown.title() }</button>
        }
    });
    html! {
        <nav class="callscope-tabs" aria-label="callscope">
            <div role="tablist" class="callscope-tablist">{ for buttons }</div>
            if export {
                <span class="callscope-export" data-testid="export-links">
                    <span class="callscope-muted">{ "Export annotated calls:" }</span>
                    <a class="callscope-link" data-testid="export-jsonl" href={api.export_url(ExportFormat::Jsonl)} download="">{ "JSONL" }</a>
                    <a class="callscope-link" data-testid="export-csv" href={api.export_url(ExportFormat::Csv)} download="">{ "CSV" }</a>
                </span>
            }
        </nav>
    }
}
