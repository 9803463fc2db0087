//! One bot turn's latency in a line: the response latency measured on the recording
//! and from the events, then the vendor's values per stage and its whole-turn total.
//! Values excluded from the percentiles are struck through and give the reason on
//! hover.

use callscope_api_types::{MetricValue, TimingQuality};
use yew::prelude::*;

use crate::components::waveform::latency_class;
use crate::format;
use crate::latency::{self, TurnLatency};

/// Renders the breakdown line of one turn.
pub fn breakdown(turn: &TurnLatency) -> Html {
    let measured = |label: &'static str, source: &'static str, value: Option<i64>, title: &'static str| -> Html {
        let Some(ms) = value else { return html! {} };
        html! {
            <span class="callscope-measured" data-testid="response-latency" data-source={source} {title}>
                <span class="callscope-metric-name">{ label }</span>
                <span class={classes!("callscope-metric-value", latency_class(ms))}>{ format::latency(ms) }</span>
            </span>
        }
    };
    let stages = turn.values.iter().filter(|value| !latency::is_total(&value.name)).map(metric_value);
    let totals = turn.values.iter().filter(|value| latency::is_total(&value.name)).map(metric_value);
    let vendor_title = "The vendor's own latency values for this turn";

    html! {
        <div class="callscope-breakdown" data-testid="latency-breakdown" data-utterance-index={turn.utterance_index.to_string()}>
            { measured("Recording", "recording", turn.audio_ms, "Response latency measured on the recording: end of user speech to start of this answer") }
            { measured("Events", "events", turn.events_ms, "Response latency from the vendor's utterance times") }
            if !turn.values.is_empty() {
                <span class="callscope-breakdown-vendor" title={vendor_title}>{ "Vendor" }</span>
                { for stages }
                { for totals }
            }
            if turn.interrupted {
                <span class="callscope-interrupted" title="The vendor reports that the user interrupted the bot in this turn">{ "interrupted" }</span>
            }
        </div>
    }
}

/// Renders one vendor value with its name, struck through when flagged.
pub fn metric_value(value: &MetricValue) -> Html {
    let class = classes!(
        "callscope-metric",
        latency::is_total(&value.name).then_some("callscope-metric--total"),
        value.flag.is_some().then_some("callscope-metric--flagged"),
        (value.quality == TimingQuality::Approximate).then_some("callscope-metric--approximate"),
    );
    html! {
        <span {class} data-testid="metric-value" data-name={value.name.clone()} data-flag={value.flag.clone()}
            title={latency::value_title(value)}>
            <span class="callscope-metric-name">{ latency::short_name(&value.name) }</span>
            <span class="callscope-metric-value">{ latency::value_text(value) }</span>
        </span>
    }
}
