//! The numbers above a call: facts, the vendor's latency percentiles, how the event
//! clock matches the recording, and the analysis's flags, which seek the audio when
//! clicked.

use callscope_api_types::{Alignment, CallDetail, Flag, LatencyPercentiles, MeasureSource, Speaker};
use yew::prelude::*;

use crate::components::waveform::latency_class;
use crate::format;
use crate::latency;
use crate::shared::Shared;
use crate::source::{self, source_name};

#[derive(Properties, PartialEq)]
pub struct CallHeaderProps {
    pub detail: Shared<CallDetail>,
    /// Source the pause, overlap, dead air and talk counts come from.
    pub source: MeasureSource,
    /// Moves the audio to a time; `None` when the call has no recording.
    pub on_seek: Option<Callback<i64>>,
}

#[component]
pub fn CallHeader(props: &CallHeaderProps) -> Html {
    let detail = &props.detail;
    html! {
        <div class="callscope-facts" data-testid="call-header">
            { facts(detail, props.source) }
            { percentiles(&detail.call.latency_percentiles) }
            if let Some(alignment) = &detail.analysis.alignment {
                { alignment_line(alignment) }
            }
            { flags(&detail.analysis.flags, props.on_seek.as_ref()) }
        </div>
    }
}

fn fact(label: String, value: String, class: Option<&'static str>, title: Option<String>) -> Html {
    html! {
        <div class="callscope-fact" {title}>
            <span class="callscope-fact-label">{ label }</span>
            <span class={classes!("callscope-fact-value", class)}>{ value }</span>
        </div>
    }
}

fn facts(detail: &CallDetail, source: MeasureSource) -> Html {
    let summary = &detail.summary;
    let counts = source::counts(&detail.analysis, source);
    let from = source_name(source);
    let recording = match &detail.recording {
        Some(recording) => format!("{} Hz, {} ch", recording.format.sample_rate, recording.format.channels),
        None => String::from("none"),
    };
    // Without any per-turn values the count is 0 by default, which would read as
    // "every turn has a latency".
    let reported = !detail.call.turn_metrics.is_empty() || detail.call.turns_without_latency > 0;
    let missing = detail.call.turns_without_latency;
    let missing_text = if reported { missing.to_string() } else { String::from("–") };
    let missing_title = if reported {
        String::from("Bot turns for which the vendor reported no usable end-to-end latency")
    } else {
        String::from("The vendor reported no per-turn latency for this call")
    };

    html! {
        <div class="callscope-fact-row">
            { fact("Format".into(), summary.format.clone(), None, None) }
            { fact("Duration".into(), summary.duration_ms.map(format::duration).unwrap_or_else(|| "–".into()), None, None) }
            { fact("Utterances".into(), summary.utterance_count.to_string(), None, None) }
            { fact("Max latency".into(), summary.max_latency_ms.map(format::seconds).unwrap_or_else(|| "–".into()), summary.max_latency_ms.map(latency_class), None) }
            { fact("Turns without latency".into(), missing_text, (missing > 0).then_some("callscope-grade-noticeable"), Some(missing_title)) }
            { fact(format!("Pauses · {from}"), counts.pauses.to_string(), None, None) }
            { fact(format!("Overlaps · {from}"), counts.overlaps.to_string(), None, None) }
            { fact(format!("Dead air · {from}"), counts.dead_air.to_string(), (counts.dead_air > 0).then_some("callscope-grade-noticeable"), None) }
            { talk(detail, source) }
            { fact("Recording".into(), recording, None, None) }
            { fact("Findings".into(), (detail.call.findings.len() + detail.analysis.findings.len()).to_string(), None, None) }
            { fact("Ended".into(), detail.call.ended_reason.clone().unwrap_or_else(|| "–".into()), None, Some("Why the call ended, in the vendor's words".into())) }
        </div>
    }
}

/// Renders the user's and the bot's share of speaking time in `source`, when measured.
fn talk(detail: &CallDetail, source: MeasureSource) -> Html {
    let share = |speaker: Speaker| detail.analysis.talk.iter().find(|talk| talk.speaker == speaker && talk.source == source);
    let (Some(user), Some(bot)) = (share(Speaker::User), share(Speaker::Bot)) else { return html! {} };
    let percent = |share: f64| format!("{:.0} %", share * 100.0);
    let rate = |words_per_minute: Option<f64>| words_per_minute.map(|rate| format!("{rate:.0} words/min")).unwrap_or_else(|| "–".into());
    let title = format!("Speaking time, overlaps included. User: {}; bot: {}", rate(user.words_per_minute), rate(bot.words_per_minute));
    fact(format!("Talk user / bot · {}", source_name(source)), format!("{} / {}", percent(user.share), percent(bot.share)), None, Some(title))
}

fn percentiles(all: &[LatencyPercentiles]) -> Html {
    if all.is_empty() {
        return html! {};
    }
    let mut sorted: Vec<&LatencyPercentiles> = all.iter().collect();
    sorted.sort_by_key(|percentiles| latency::display_rank(&percentiles.name));
    let items = sorted.into_iter().map(|percentiles| {
        let title = format!(
            "{}: p50 {}, p90 {}, p95 {}, p99 {}, from {} turns; {} flagged values left out",
            latency::long_name(&percentiles.name),
            format::latency(percentiles.p50_ms),
            format::latency(percentiles.p90_ms),
            format::latency(percentiles.p95_ms),
            format::latency(percentiles.p99_ms),
            percentiles.count,
            percentiles.excluded,
        );
        let excluded = (percentiles.excluded > 0).then(|| format!(" ({} excluded)", percentiles.excluded));
        html! {
            <span class="callscope-percentile" data-testid="latency-percentile" data-name={percentiles.name.clone()} {title}>
                <span class="callscope-metric-name">{ latency::short_name(&percentiles.name) }</span>
                { format!("{} / {}", format::latency(percentiles.p50_ms), format::latency(percentiles.p95_ms)) }
                if let Some(excluded) = excluded { <span class="callscope-muted">{ excluded }</span> }
            </span>
        }
    });
    html! {
        <div class="callscope-header-line">
            <span class="callscope-fact-label">{ "Vendor latency p50 / p95" }</span>
            { for items }
        </div>
    }
}

fn alignment_line(alignment: &Alignment) -> Html {
    let title = format!(
        "Fitted on {} utterance starts matched to speech on the recording; the largest difference is {} ms",
        alignment.matched, alignment.max_difference_ms
    );
    html! {
        <div class="callscope-header-line" data-testid="alignment" {title}>
            <span class="callscope-fact-label">{ "Events vs recording" }</span>
            { format!("offset {}, drift {:.0} ms/min", format::signed_ms(alignment.offset_ms), alignment.drift_ms_per_minute) }
        </div>
    }
}

fn flags(flags: &[Flag], on_seek: Option<&Callback<i64>>) -> Html {
    if flags.is_empty() {
        return html! {};
    }
    let items = flags.iter().map(|flag| {
        let text = match flag.at_ms {
            Some(ms) => format!("{} at {}", flag_name(&flag.code), format::moment(ms)),
            None => flag_name(&flag.code),
        };
        let seek = flag.at_ms.zip(on_seek).map(|(ms, on_seek)| {
            let on_seek = on_seek.clone();
            Callback::from(move |_: MouseEvent| on_seek.emit(ms))
        });
        let class = classes!("callscope-flag", seek.is_some().then_some("callscope-flag--seekable"));
        html! {
            <li>
                if let Some(onclick) = seek {
                    <button type="button" {class} data-testid="analysis-flag" data-code={flag.code.clone()} title={flag.message.clone()} {onclick}>{ text }</button>
                } else {
                    <span {class} data-testid="analysis-flag" data-code={flag.code.clone()} title={flag.message.clone()}>{ text }</span>
                }
            </li>
        }
    });
    html! {
        <div class="callscope-header-line">
            <span class="callscope-fact-label">{ "Flags" }</span>
            <ul class="callscope-flags">{ for items }</ul>
        </div>
    }
}

/// Short name of a flag code; the flag's message gives the detail on hover.
fn flag_name(code: &str) -> String {
    match code {
        "slow-response" => String::from("late answer"),
        "dead-air" => String::from("dead air"),
        "false-interruption" => String::from("false interruption"),
        "clock-offset" => String::from("event clock off the recording"),
        "speech-on-silent-channel" => String::from("utterance on a silent channel"),
        other => other.replace('-', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_name_known_and_unknown() {
        assert_eq!(flag_name("slow-response"), "late answer");
        assert_eq!(flag_name("new-rule-x"), "new rule x");
    }
}
