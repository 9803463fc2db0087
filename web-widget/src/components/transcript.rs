//! The transcript: one row per utterance, kept in step with playback. The row that
//! starts a bot turn also shows the turn's latency: measured on the recording and
//! from the events, and the vendor's breakdown into stages. Annotations on an
//! utterance show under its text, and a user who may annotate picks an utterance as
//! the target with its Select button.

use std::collections::BTreeMap;

use callscope_api_types::{Speaker, Utterance};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::latency_breakdown::breakdown;
use crate::format;
use crate::latency::TurnLatency;
use crate::redaction::{self, Piece};
use crate::shared::Shared;

/// An annotation shown beside a transcript row.
#[derive(Debug, Clone, PartialEq)]
pub struct Chip {
    pub annotation_id: String,
    pub label_id: String,
    pub text: String,
    /// Hover text: label, value, author and comment.
    pub title: String,
    /// Written by the signed-in user.
    pub own: bool,
}

#[derive(Properties, PartialEq)]
pub struct TranscriptProps {
    pub utterances: Shared<Vec<Utterance>>,
    /// Index in `utterances` of the row under the playhead.
    pub active: Option<usize>,
    /// Called with an utterance's start time when its row is clicked.
    pub on_select: Callback<i64>,
    /// Whether there is audio to play; rows are only clickable when there is.
    pub playable: bool,
    /// Latency of each bot turn, keyed by the index of the utterance starting it.
    pub latencies: Shared<BTreeMap<u32, TurnLatency>>,
    /// Annotations on utterances, keyed by utterance index.
    #[prop_or_default]
    pub chips: Shared<BTreeMap<u32, Vec<Chip>>>,
    /// Index of the utterance selected as the annotation target.
    #[prop_or_default]
    pub selected: Option<u32>,
    /// Called with an utterance index when its Select button is pressed; `None`
    /// hides the buttons, for users who may not annotate.
    #[prop_or_default]
    pub on_pick: Option<Callback<u32>>,
    /// Whether the host replaced personal data by markers such as `[phone]`; the
    /// markers are then shown as labelled pills.
    #[prop_or_default]
    pub redacted: bool,
}

// NOTE: every utterance gets a DOM row. Calls with many thousands of utterances
// would need windowed rendering to stay fast.
#[component]
pub fn Transcript(props: &TranscriptProps) -> Html {
    let list_ref = use_node_ref();

    {
        let list_ref = list_ref.clone();
        use_effect_with(props.active, move |active| {
            if let (Some(index), Some(list)) = (*active, list_ref.cast::<web_sys::HtmlElement>()) {
                scroll_row_into_view(&list, index);
            }
        });
    }

    {
        // While a live call grows: a reader at the bottom of the list keeps seeing
        // the newest utterance, and a reader scrolled up stays where they are.
        let list_ref = list_ref.clone();
        let last_render = use_mut_ref(|| (0_usize, 0_i32));
        use_effect_with(props.utterances.clone(), move |utterances| {
            let Some(list) = list_ref.cast::<web_sys::HtmlElement>() else { return };
            let (previous_rows, previous_height) = std::mem::replace(&mut *last_render.borrow_mut(), (utterances.len(), list.scroll_height()));
            let was_at_bottom = list.scroll_top() + list.client_height() >= previous_height - AT_BOTTOM_SLACK_PX;
            if previous_rows > 0 && utterances.len() > previous_rows && was_at_bottom {
                list.set_scroll_top(list.scroll_height());
            }
        });
    }

    let rows = props.utterances.iter().enumerate().map(|(index, utterance)| {
        let on_click = {
            let on_select = props.on_select.clone();
            let start_ms = utterance.start_ms;
            Callback::from(move |_: MouseEvent| on_select.emit(start_ms))
        };
        let selected = props.selected == Some(utterance.index);
        let class = classes!(
            "callscope-utterance",
            format!("callscope-speaker-{}", utterance.speaker.as_str()),
            (props.active == Some(index)).then_some("callscope-utterance--active"),
            props.playable.then_some("callscope-utterance--playable"),
            selected.then_some("callscope-utterance--selected"),
        );
        let pick = props.on_pick.as_ref().map(|on_pick| {
            let on_pick = on_pick.clone();
            let index = utterance.index;
            Callback::from(move |event: MouseEvent| {
                // The row's own click would seek and start playback.
                event.stop_propagation();
                on_pick.emit(index);
            })
        });
        let chips = props.chips.get(&utterance.index);
        html! {
            <li key={utterance.index} {class} data-testid="utterance" data-index={utterance.index.to_string()}
                data-start-ms={utterance.start_ms.to_string()} onclick={props.playable.then_some(on_click)}>
                <span class="callscope-utterance-speaker">{ speaker_name(utterance.speaker) }</span>
                <span class="callscope-utterance-time">{ format::clock(utterance.start_ms) }</span>
                <span class="callscope-utterance-text">{ utterance_text(&utterance.text, props.redacted) }</span>
                if let Some(pick) = pick {
                    <button type="button" class="callscope-button callscope-button--small callscope-pick" data-testid="select-utterance"
                        aria-pressed={selected.to_string()} title="Select this utterance as the annotation target" onclick={pick}>
                        { if selected { "Selected" } else { "Select" } }
                    </button>
                }
                if let Some(latency) = props.latencies.get(&utterance.index) {
                    { breakdown(latency) }
                }
                if let Some(chips) = chips {
                    { chip_list(chips) }
                }
            </li>
        }
    });

    html! {
        <section class="callscope-transcript" data-testid="transcript" aria-label="Transcript">
            if props.utterances.is_empty() {
                <p class="callscope-muted callscope-empty">{ "This call has no transcript." }</p>
            }
            <ol class="callscope-utterances" ref={list_ref}>{ for rows }</ol>
        </section>
    }
}

/// Renders an utterance's text, with redaction markers as pills when `redacted`.
fn utterance_text(text: &str, redacted: bool) -> Html {
    if !redacted {
        return html! { <>{ text }</> };
    }
    redaction::pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => html! { <>{ text }</> },
            Piece::Marker(kind) => html! {
                <span class={classes!("callscope-redacted", format!("callscope-redacted-{}", redaction::kind_key(kind)))}
                    data-testid="redaction" data-kind={redaction::kind_key(kind)} title={format!("redacted: {}", redaction::kind_name(kind))}>
                    { redaction::kind_key(kind) }
                </span>
            },
        })
        .collect()
}

fn chip_list(chips: &[Chip]) -> Html {
    let items = chips.iter().map(|chip| {
        html! {
            <span class={classes!("callscope-chip", chip.own.then_some("callscope-chip--own"))} data-testid="utterance-annotation"
                data-annotation-id={chip.annotation_id.clone()} data-label-id={chip.label_id.clone()} title={chip.title.clone()}>
                { &chip.text }
            </span>
        }
    });
    html! { <div class="callscope-chips">{ for items }</div> }
}

/// Distance from the end of the transcript list within which the reader counts as
/// at the bottom, in CSS pixels. Fractional scroll positions round by a pixel or two.
const AT_BOTTOM_SLACK_PX: i32 = 8;

/// Name shown for a speaker.
pub fn speaker_name(speaker: Speaker) -> &'static str {
    match speaker {
        Speaker::User => "User",
        Speaker::Bot => "Bot",
        Speaker::System => "System",
        Speaker::Tool => "Tool",
    }
}

/// Scrolls the transcript list, and nothing around it, so that row `index` is
/// visible. `Element.scrollIntoView` would also scroll the host page.
fn scroll_row_into_view(list: &web_sys::HtmlElement, index: usize) {
    let Some(row) = list.children().item(index as u32).and_then(|row| row.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return;
    };
    let top = row.offset_top();
    let bottom = top + row.offset_height();
    let visible_top = list.scroll_top();
    let visible_bottom = visible_top + list.client_height();
    if top < visible_top || bottom > visible_bottom {
        list.set_scroll_top((top - list.client_height() / 3).max(0));
    }
}

/// Index of the utterance being spoken at `ms`: among audible utterances that
/// contain `ms`, the one that started last. `None` in silence.
///
/// Utterances are expected in start order, as the API returns them; the search
/// looks back from the last utterance starting at or before `ms` and stops after
/// [`LOOKBACK`] rows, which bounds the work per frame on long calls.
pub fn utterance_at(utterances: &[Utterance], ms: i64) -> Option<usize> {
    let started = utterances.partition_point(|utterance| utterance.start_ms <= ms);
    (started.saturating_sub(LOOKBACK)..started)
        .rev()
        .find(|&index| {
            let utterance = &utterances[index];
            utterance.speaker.is_audible() && ms < utterance.end_ms
        })
}

/// Number of earlier utterances [`utterance_at`] checks for one still running; a
/// long utterance can span a few short ones of the other speaker.
const LOOKBACK: usize = 8;

#[cfg(test)]
mod tests {
    use callscope_api_types::TimingQuality;

    use super::*;

    fn utterance(index: u32, speaker: Speaker, start_ms: i64, end_ms: i64) -> Utterance {
        Utterance {
            index,
            speaker,
            text: String::new(),
            start_ms,
            end_ms,
            words: Vec::new(),
            timing: TimingQuality::Exact,
            original_times: String::from("{}"),
        }
    }

    fn call() -> Vec<Utterance> {
        vec![
            utterance(0, Speaker::System, 0, 0),
            utterance(1, Speaker::Bot, 0, 2_000),
            utterance(2, Speaker::User, 3_000, 9_000),
            utterance(3, Speaker::Bot, 4_000, 4_500),
            utterance(4, Speaker::Bot, 10_000, 12_000),
        ]
    }

    #[test]
    fn utterance_at_inside_one() {
        assert_eq!(utterance_at(&call(), 1_000), Some(1));
        assert_eq!(utterance_at(&call(), 11_999), Some(4));
    }

    #[test]
    fn utterance_at_silence_is_none() {
        assert_eq!(utterance_at(&call(), 2_500), None);
        assert_eq!(utterance_at(&call(), 12_000), None);
        assert_eq!(utterance_at(&[], 0), None);
    }

    #[test]
    fn utterance_at_overlap_prefers_later_start() {
        assert_eq!(utterance_at(&call(), 4_200), Some(3));
    }

    #[test]
    fn utterance_at_long_turn_after_overlap() {
        assert_eq!(utterance_at(&call(), 5_000), Some(2));
    }

    #[test]
    fn utterance_at_skips_system_text() {
        let utterances = vec![utterance(0, Speaker::Bot, 0, 1_000), utterance(1, Speaker::Tool, 500, 2_000)];
        assert_eq!(utterance_at(&utterances, 700), Some(0));
    }
}
