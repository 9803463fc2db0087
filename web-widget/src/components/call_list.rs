//! The calls list: one table row per call, paged. It re-reads the page on every
//! live notice, so calls in progress appear, grow and lose their badge in place.

use callscope_api_types::CallSummary;
use yew::prelude::*;

use crate::api::Api;
use crate::api::live::LiveEvent;
use crate::components::load::{FailureNotice, Load, use_live_events, use_reloadable_load};
use crate::draw::{LatencyGrade, latency_grade};
use crate::format;
use crate::shared::Shared;

/// Calls per page.
pub const PAGE_SIZE: u32 = 50;

#[derive(Properties, PartialEq)]
pub struct CallListProps {
    pub api: Api,
    /// Index of the first call shown.
    pub offset: u64,
    pub on_page: Callback<u64>,
    pub on_open: Callback<String>,
    /// Latest live-call event; any notice may add a call or change a row.
    pub live_event: Option<Shared<LiveEvent>>,
}

#[component]
pub fn CallList(props: &CallListProps) -> Html {
    let (page, reload) = use_reloadable_load((props.api.clone(), props.offset), |(api, offset)| async move { api.calls(offset, PAGE_SIZE).await });
    use_live_events(props.live_event.clone(), move |_| reload.emit(()));

    let body = match &page {
        Load::Loading => html! { <tr class="callscope-placeholder-row"><td colspan="8">{ "Loading calls…" }</td></tr> },
        Load::Failed(failure) => html! { <tr><td colspan="8"><FailureNotice failure={failure.clone()} /></td></tr> },
        Load::Loaded(list) if list.calls.is_empty() => html! {
            <tr class="callscope-placeholder-row"><td colspan="8">{ "No calls yet. Calls appear here once the voice bot's events or recordings reach the backoffice." }</td></tr>
        },
        Load::Loaded(list) => list.calls.iter().map(|call| call_row(call, &props.on_open)).collect::<Html>(),
    };

    let total = match &page {
        Load::Loaded(list) => Some(list.total),
        _ => None,
    };

    html! {
        <section class="callscope-list" data-testid="calls-list">
            <header class="callscope-toolbar">
                <h2 class="callscope-heading">{ "Calls" }</h2>
                <span class="callscope-muted">{ total.map(|t| format!("{t} in total")).unwrap_or_default() }</span>
            </header>
            <div class="callscope-table-wrap">
                <table class="callscope-table">
                    <thead>
                        <tr>
                            <th>{ "Title" }</th>
                            <th>{ "Format" }</th>
                            <th>{ "Imported" }</th>
                            <th class="callscope-num">{ "Duration" }</th>
                            <th class="callscope-num">{ "Utterances" }</th>
                            <th class="callscope-num">{ "Max latency" }</th>
                            <th class="callscope-num">{ "Pauses" }</th>
                            <th class="callscope-num">{ "Overlaps" }</th>
                        </tr>
                    </thead>
                    <tbody>{ body }</tbody>
                </table>
            </div>
            { pager(props.offset, total, &props.on_page) }
        </section>
    }
}

fn call_row(call: &CallSummary, on_open: &Callback<String>) -> Html {
    let open = {
        let on_open = on_open.clone();
        let id = call.id.clone();
        Callback::from(move |_: MouseEvent| on_open.emit(id.clone()))
    };
    let open_by_key = {
        let on_open = on_open.clone();
        let id = call.id.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" || event.key() == " " {
                event.prevent_default();
                on_open.emit(id.clone());
            }
        })
    };

    let latency_class = call.max_latency_ms.map(|ms| match latency_grade(ms) {
        LatencyGrade::Fast => "callscope-grade-fast",
        LatencyGrade::Noticeable => "callscope-grade-noticeable",
        LatencyGrade::Slow => "callscope-grade-slow",
    });
    let recording_icon = if call.has_recording { html! { <span class="callscope-badge" title="Has a recording">{ "♪" }</span> } } else { html! {} };
    let live_badge = if call.live {
        html! { <span class="callscope-live" data-testid="live-badge" title="The call is still in progress on the event stream">{ "live" }</span> }
    } else {
        html! {}
    };

    html! {
        <tr key={call.id.clone()} class="callscope-row" data-testid="call-row" data-call-id={call.id.clone()}
            tabindex="0" onclick={open} onkeydown={open_by_key}>
            <td class="callscope-title-cell">{ recording_icon }{ &call.title }{ live_badge }</td>
            <td><span class="callscope-format">{ &call.format }</span></td>
            <td class="callscope-muted">{ imported_date(&call.imported_at) }</td>
            <td class="callscope-num">{ call.duration_ms.map(format::duration).unwrap_or_else(|| "–".into()) }</td>
            <td class="callscope-num">{ call.utterance_count }</td>
            <td class={classes!("callscope-num", latency_class)}>{ call.max_latency_ms.map(format::seconds).unwrap_or_else(|| "–".into()) }</td>
            <td class="callscope-num">{ call.pause_count }</td>
            <td class="callscope-num">{ call.overlap_count }</td>
        </tr>
    }
}

/// Shortens an RFC 3339 time to `YYYY-MM-DD HH:MM`, in the timezone the host wrote.
fn imported_date(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

fn pager(offset: u64, total: Option<u64>, on_page: &Callback<u64>) -> Html {
    let Some(total) = total else { return html! { <footer class="callscope-pager" /> } };
    let page_size = u64::from(PAGE_SIZE);
    let first = if total == 0 { 0 } else { offset + 1 };
    let last = (offset + page_size).min(total);

    let previous = {
        let on_page = on_page.clone();
        Callback::from(move |_: MouseEvent| on_page.emit(offset.saturating_sub(page_size)))
    };
    let next = {
        let on_page = on_page.clone();
        Callback::from(move |_: MouseEvent| on_page.emit(offset + page_size))
    };

    html! {
        <footer class="callscope-pager">
            <span class="callscope-muted">{ format!("{first}–{last} of {total}") }</span>
            <button type="button" class="callscope-button" disabled={offset == 0} onclick={previous}>{ "Previous" }</button>
            <button type="button" class="callscope-button" disabled={last >= total} onclick={next}>{ "Next" }</button>
        </footer>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_date_shortened() {
        assert_eq!(imported_date("2026-03-01T14:05:09Z"), "2026-03-01 14:05");
    }

    #[test]
    fn imported_date_unexpected_text_kept() {
        assert_eq!(imported_date("yesterday"), "yesterday");
    }
}
