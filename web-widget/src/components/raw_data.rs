//! The collapsible "Raw vendor data" section: the call-level numbers the vendor
//! reported, every turn's latency values (also those no transcript row shows), its
//! service requests, and the JSON callscope did not map (unknown fields, the
//! vendor's own analysis), pretty-printed as text. Nothing in it is
//! built until the section is opened, because the JSON of a long call can be large.

use callscope_api_types::{CallMetric, NormalizedCall, ServiceSpan, TurnMetrics};
use serde_json::Value;
use yew::prelude::*;

use crate::components::latency_breakdown::metric_value;
use crate::format;
use crate::latency;
use crate::shared::Shared;

#[derive(Properties, PartialEq)]
pub struct RawDataProps {
    pub call: Shared<NormalizedCall>,
}

#[component]
pub fn RawData(props: &RawDataProps) -> Html {
    let open = use_state_eq(|| false);
    let details_ref = use_node_ref();
    let on_toggle = {
        let open = open.clone();
        let details_ref = details_ref.clone();
        Callback::from(move |_: Event| {
            if let Some(details) = details_ref.cast::<web_sys::HtmlDetailsElement>() {
                open.set(details.open());
            }
        })
    };

    let call = &props.call;
    let summary = format!(
        "Raw vendor data · {} metrics, {} service requests, {} unknown fields",
        call.metrics.len(),
        call.spans.len(),
        json_key_count(&call.unknown_fields)
    );
    html! {
        <details class="callscope-raw" data-testid="raw-json" ref={details_ref} ontoggle={on_toggle}>
            <summary class="callscope-raw-summary">{ summary }</summary>
            if *open {
                <div class="callscope-raw-body">
                    { metrics_table(&call.metrics) }
                    { turns_table(&call.turn_metrics) }
                    { spans_table(&call.spans) }
                    { json_block("Unknown fields", "Keys the parser did not recognise, keyed by JSON pointer", &call.unknown_fields, "unknown-fields") }
                    { json_block("Vendor analysis", "The vendor's own summary or analysis of the call, verbatim", &call.vendor_analysis, "vendor-analysis") }
                </div>
            }
        </details>
    }
}

/// Pretty-prints JSON text with two-space indents. Text that is not valid JSON is
/// returned unchanged with `false`, so that nothing the host sent is hidden.
pub fn pretty_json(text: &str) -> (String, bool) {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => (serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_owned()), true),
        Err(_) => (text.to_owned(), false),
    }
}

/// Number of keys of a JSON object, 0 for anything else.
pub fn json_key_count(text: &str) -> usize {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object.len(),
        _ => 0,
    }
}

fn json_block(title: &'static str, description: &'static str, text: &str, part: &'static str) -> Html {
    let (pretty, valid) = pretty_json(text);
    html! {
        <section class="callscope-raw-part" data-part={part}>
            <h3 class="callscope-raw-heading" title={description}>{ title }</h3>
            if !valid {
                <p class="callscope-notice callscope-notice--error">{ "This is not valid JSON; it is shown as the host sent it." }</p>
            }
            // Yew sets this as a text node, so markup in vendor data is shown, never run.
            <pre class="callscope-json">{ pretty }</pre>
        </section>
    }
}

fn metrics_table(metrics: &[CallMetric]) -> Html {
    if metrics.is_empty() {
        return html! { <p class="callscope-muted">{ "The vendor reported no call-level numbers (costs, usage, its own latency summaries)." }</p> };
    }
    let rows = metrics.iter().map(|metric| {
        let flagged = metric.flag.as_deref().map(latency::flag_reason);
        html! {
            <tr class={classes!(flagged.is_some().then_some("callscope-metric--flagged"))} data-testid="call-metric" data-name={metric.name.clone()}
                title={format!("vendor sent {}", metric.original)}>
                <td>{ &metric.name }</td>
                <td class="callscope-num"><span class="callscope-metric-value">{ number(metric.value) }</span></td>
                <td>{ &metric.unit }</td>
                <td class="callscope-muted">{ flagged.unwrap_or_default() }</td>
            </tr>
        }
    });
    html! {
        <section class="callscope-raw-part">
            <h3 class="callscope-raw-heading">{ "Call metrics" }</h3>
            <table class="callscope-table callscope-table--compact">
                <thead><tr><th>{ "Name" }</th><th class="callscope-num">{ "Value" }</th><th>{ "Unit" }</th><th>{ "Flag" }</th></tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
        </section>
    }
}

fn turns_table(turns: &[TurnMetrics]) -> Html {
    if turns.is_empty() {
        return html! {};
    }
    let rows = turns.iter().map(|turn| {
        let mut values: Vec<_> = turn.values.iter().collect();
        values.sort_by_key(|value| latency::display_rank(&value.name));
        let utterance = match turn.utterance_index {
            Some(index) => index.to_string(),
            None => String::from("not matched"),
        };
        html! {
            <tr>
                <td class="callscope-num">{ turn.turn_number }</td>
                <td class="callscope-num">{ utterance }</td>
                <td class="callscope-breakdown callscope-breakdown--cell">{ for values.into_iter().map(metric_value) }</td>
                <td>{ if turn.interrupted { "interrupted" } else { "" } }</td>
            </tr>
        }
    });
    html! {
        <section class="callscope-raw-part">
            <h3 class="callscope-raw-heading" title="Every turn the vendor reported latency for; a turn not matched to an utterance has no transcript row">{ "Turn latencies" }</h3>
            <table class="callscope-table callscope-table--compact">
                <thead><tr><th class="callscope-num">{ "Turn" }</th><th class="callscope-num">{ "Utterance" }</th><th>{ "Values" }</th><th /></tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
        </section>
    }
}

fn spans_table(spans: &[ServiceSpan]) -> Html {
    if spans.is_empty() {
        return html! {};
    }
    let optional = |value: Option<i64>| value.map(format::latency).unwrap_or_else(|| "–".into());
    let rows = spans.iter().map(|span| {
        let service = [span.provider.as_deref(), span.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        let tokens = match (span.input_tokens, span.output_tokens) {
            (None, None) => String::from("–"),
            (input, output) => format!("{} in, {} out", count(input), count(output)),
        };
        html! {
            <tr title={span.text.clone().unwrap_or_default()}>
                <td>{ span.kind.as_str() }</td>
                <td class="callscope-num">{ span.turn_number.map(|turn| turn.to_string()).unwrap_or_else(|| "–".into()) }</td>
                <td class="callscope-num">{ format::clock(span.start_ms) }</td>
                <td class="callscope-num">{ format::latency(span.end_ms - span.start_ms) }</td>
                <td class="callscope-num">{ optional(span.ttfb_ms) }</td>
                <td>{ service }</td>
                <td class="callscope-num">{ tokens }</td>
                <td>{ if span.interrupted { "interrupted" } else { "" } }</td>
            </tr>
        }
    });
    html! {
        <section class="callscope-raw-part">
            <h3 class="callscope-raw-heading">{ "Service requests" }</h3>
            <table class="callscope-table callscope-table--compact">
                <thead>
                    <tr>
                        <th>{ "Service" }</th><th class="callscope-num">{ "Turn" }</th><th class="callscope-num">{ "Start" }</th>
                        <th class="callscope-num">{ "Duration" }</th><th class="callscope-num">{ "First byte" }</th><th>{ "Provider / model" }</th>
                        <th class="callscope-num">{ "Tokens" }</th><th />
                    </tr>
                </thead>
                <tbody>{ for rows }</tbody>
            </table>
        </section>
    }
}

fn count(value: Option<u64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_else(|| "?".into())
}

/// Formats a metric value without trailing zeros: `0.0421`, `812`, `1.5`.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_indents_object() {
        assert_eq!(pretty_json(r#"{"a":{"b":1}}"#), (String::from("{\n  \"a\": {\n    \"b\": 1\n  }\n}"), true));
    }

    #[test]
    fn pretty_json_keeps_invalid_text() {
        assert_eq!(pretty_json("<b>not json"), (String::from("<b>not json"), false));
    }

    #[test]
    fn json_key_count_of_object_only() {
        assert_eq!(json_key_count(r#"{"/a":1,"/b":2}"#), 2);
        assert_eq!(json_key_count("[1,2]"), 0);
        assert_eq!(json_key_count("oops"), 0);
    }

    #[test]
    fn number_without_trailing_zeros() {
        assert_eq!(number(812.0), "812");
        assert_eq!(number(0.0421), "0.0421");
    }
}
