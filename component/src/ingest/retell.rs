//! Retell call object (`GET /v2/get-call`) and its webhooks `{event, call}` for
//! `call_started`, `call_ended` and `call_analyzed`.
//!
//! Known keys follow `PhoneCallResponse` / `WebCallResponse` of Retell's Python SDK
//! (`src/retell/types/phone_call_response.py`); every other key is kept in
//! `unknown_fields`. The webhook signature (`X-Retell-Signature`) is checked by the
//! host before the body reaches the component.
//!
//! Clocks: `start_timestamp`/`end_timestamp` are Unix epoch milliseconds,
//! `duration_ms` milliseconds, and word `start`/`end` in `transcript_object` are
//! seconds of recording time, so zero on the recording is `start_timestamp`.
//! `latency.<name>` objects carry the vendor's own percentiles and `values[]` (one per
//! turn change, milliseconds).

use callscope_api_types::{
    CallMetric, Finding, NormalizedCall, Speaker, TimingQuality, TurnMetrics, Utterance, Word,
};
use serde_json::{Map, Value, json};

use super::IngestError;
use super::json::{UnknownFields, pointer_join, round_ms, time_number};
use super::turn_metrics::{self, call_metric, flag_call_latency, metric_value};

/// Name of this format in `detect_format` results and `NormalizedCall::format`.
pub const FORMAT_NAME: &str = "retell-call";

/// Webhook events this version reads.
const EVENTS: &[&str] = &["call_started", "call_ended", "call_analyzed"];

const WEBHOOK_KEYS: &[&str] = &["event", "call"];

/// Keys of `PhoneCallResponse` and `WebCallResponse`.
const CALL_KEYS: &[&str] = &[
    "call_id",
    "call_type",
    "agent_id",
    "agent_name",
    "agent_version",
    "call_status",
    "direction",
    "from_number",
    "to_number",
    "access_token",
    "start_timestamp",
    "end_timestamp",
    "duration_ms",
    "transcript",
    "transcript_object",
    "transcript_with_tool_calls",
    "scrubbed_transcript_with_tool_calls",
    "recording_url",
    "recording_multi_channel_url",
    "scrubbed_recording_url",
    "scrubbed_recording_multi_channel_url",
    "public_log_url",
    "knowledge_base_retrieved_contents_url",
    "latency",
    "disconnection_reason",
    "transfer_destination",
    "call_analysis",
    "call_cost",
    "llm_token_usage",
    "metadata",
    "retell_llm_dynamic_variables",
    "collected_dynamic_variables",
    "custom_sip_headers",
    "data_storage_setting",
    "opt_in_signed_url",
    "opt_out_sensitive_data_storage",
    "telephony_identifier",
];

const UTTERANCE_KEYS: &[&str] = &["role", "content", "words"];
const WORD_KEYS: &[&str] = &["word", "start", "end"];
const LATENCY_KEYS: &[&str] = &["p50", "p90", "p95", "p99", "min", "max", "num", "values"];

/// Latencies tracked once per turn change, whose `values[i]` belongs to turn `i`
/// when the list is as long as `e2e.values`. The others (`asr` per transcript
/// chunk, the network round trip per message) keep only their call-level figures.
const PER_TURN: &[&str] = &["e2e", "llm", "tts", "s2s"];

/// `latency` keys and the callscope metric names they map to.
const LATENCY_NAMES: &[(&str, &str)] = &[
    ("e2e", "e2e"),
    ("asr", "stt"),
    ("llm", "llm"),
    ("tts", "tts"),
    ("llm_websocket_network_rtt", "llm_websocket_network_rtt"),
    ("knowledge_base", "knowledge_base"),
    ("s2s", "s2s"),
];

/// Returns whether `root` is a Retell webhook or call object.
pub fn matches(root: &Value) -> bool {
    call_object(root).is_some()
}

/// Returns the call object and its JSON pointer (`/call` for a webhook).
fn call_object(root: &Value) -> Option<(&Map<String, Value>, &'static str)> {
    let root = root.as_object()?;
    let is_call = |object: &Map<String, Value>| {
        object.get("call_id").is_some_and(Value::is_string)
            && (object.contains_key("call_status")
                || object.contains_key("transcript_object")
                || object.contains_key("start_timestamp"))
    };
    if let Some(event) = root.get("event").and_then(Value::as_str)
        && EVENTS.contains(&event)
        && let Some(call) = root.get("call").and_then(Value::as_object)
        && is_call(call)
    {
        return Some((call, "/call"));
    }
    is_call(root).then_some((root, ""))
}

/// Normalises a Retell webhook or call object.
pub fn normalize(root: &Value) -> Result<NormalizedCall, IngestError> {
    let (call, pointer) = call_object(root).ok_or_else(|| {
        IngestError::InvalidPayload(
            "no Retell call object with a string call_id at the top level or under \"call\""
                .to_string(),
        )
    })?;
    let mut unknown = UnknownFields::default();
    let mut findings = Vec::new();
    if !pointer.is_empty()
        && let Some(wrapper) = root.as_object()
    {
        unknown.collect(wrapper, "", WEBHOOK_KEYS);
    }
    unknown.collect(call, pointer, CALL_KEYS);

    let start = time_number(call.get("start_timestamp")).map(round_ms);
    let end = time_number(call.get("end_timestamp")).map(round_ms);
    let duration_ms = call_duration(call, pointer, start, end, &mut findings);

    let utterances = transcript(call, pointer, duration_ms, &mut unknown, &mut findings)?;
    let responses = turn_metrics::response_indices(&utterances);
    let (turns, mut metrics) =
        latency(call, pointer, &responses, duration_ms, &mut unknown, &mut findings);
    metrics.extend(costs(call, pointer));

    let recording_urls = ["recording_multi_channel_url", "recording_url"]
        .iter()
        .filter_map(|key| call.get(*key).and_then(Value::as_str))
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect();

    Ok(NormalizedCall {
        format: FORMAT_NAME.to_string(),
        vendor_call_id: call
            .get("call_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        started_at_epoch_ms: start,
        duration_ms,
        utterances,
        findings,
        unknown_fields: unknown.into_json(),
        recording_urls,
        turn_metrics: turns,
        metrics,
        ended_reason: call
            .get("disconnection_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        vendor_analysis: call
            .get("call_analysis")
            .filter(|analysis| analysis.is_object())
            .map_or_else(|| "{}".to_string(), Value::to_string),
        ..NormalizedCall::default()
    })
}

/// Returns the call length: `duration_ms` when present, else `end - start`. A
/// `duration_ms` that disagrees with the timestamps by more than a second is
/// reported, and the timestamps win because they place the recording.
fn call_duration(
    call: &Map<String, Value>,
    pointer: &str,
    start: Option<i64>,
    end: Option<i64>,
    findings: &mut Vec<Finding>,
) -> Option<i64> {
    let span = match (start, end) {
        (Some(start), Some(end)) if end < start => {
            findings.push(Finding {
                code: "end-before-start".to_string(),
                path: pointer_join(pointer, "end_timestamp"),
                message: format!(
                    "end_timestamp is {} ms before start_timestamp; the call duration is unknown",
                    start - end
                ),
            });
            None
        }
        (Some(start), Some(end)) => Some(end - start),
        _ => None,
    };
    let stated = time_number(call.get("duration_ms")).map(round_ms);
    match (span, stated) {
        (Some(span), Some(stated)) if (span - stated).abs() > 1_000 => {
            findings.push(Finding {
                code: "duration-mismatch".to_string(),
                path: pointer_join(pointer, "duration_ms"),
                message: format!(
                    "duration_ms is {stated} but end_timestamp - start_timestamp is {span} ms; \
                     the timestamps are used"
                ),
            });
            Some(span)
        }
        (Some(span), _) => Some(span),
        (None, stated) => stated.filter(|duration| *duration >= 0),
    }
}

/// Reads `transcript_object[]`. An utterance is placed by its first and last word;
/// without words it follows the previous utterance and is marked approximate.
fn transcript(
    call: &Map<String, Value>,
    pointer: &str,
    duration_ms: Option<i64>,
    unknown: &mut UnknownFields,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Utterance>, IngestError> {
    let list_pointer = pointer_join(pointer, "transcript_object");
    let items: &[Value] = match call.get("transcript_object") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(IngestError::InvalidPayload(format!(
                "{list_pointer} is not an array; expected the utterances of the call"
            )));
        }
    };

    let mut utterances: Vec<Utterance> = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let item_pointer = format!("{list_pointer}/{position}");
        let Some(object) = item.as_object() else {
            unknown.insert(item_pointer, item.clone());
            continue;
        };
        let speaker = match object.get("role").and_then(Value::as_str) {
            Some("agent") => Speaker::Bot,
            Some("user") => Speaker::User,
            other => {
                findings.push(Finding {
                    code: "unknown-role".to_string(),
                    path: pointer_join(&item_pointer, "role"),
                    message: format!(
                        "role {other:?} is not agent or user; utterance kept in unknown fields"
                    ),
                });
                unknown.insert(item_pointer, item.clone());
                continue;
            }
        };
        unknown.collect(object, &item_pointer, UTTERANCE_KEYS);

        let words_pointer = pointer_join(&item_pointer, "words");
        let words = words(object.get("words"), &words_pointer, unknown, findings);
        let previous_end = utterances.last().map_or(0, |utterance| utterance.end_ms);
        let (start_ms, end_ms, timing) = match (words.first(), words.last()) {
            (Some(first), Some(last)) => (first.start_ms, last.end_ms, TimingQuality::Exact),
            _ => {
                findings.push(Finding {
                    code: "missing-time".to_string(),
                    path: words_pointer,
                    message: format!(
                        "utterance has no timed words; placed at the previous utterance's end, \
                         {previous_end} ms"
                    ),
                });
                (previous_end, previous_end, TimingQuality::Approximate)
            }
        };
        if duration_ms.is_some_and(|duration| end_ms > duration + 1_000) {
            findings.push(Finding {
                code: "beyond-call-end".to_string(),
                path: item_pointer.clone(),
                message: format!("utterance ends at {end_ms} ms, after the call ended"),
            });
        }

        let original_times = object
            .get("words")
            .and_then(Value::as_array)
            .map(|words| {
                json!({
                    "first_word_start_s": words.first().and_then(|word| word.get("start")),
                    "last_word_end_s": words.last().and_then(|word| word.get("end")),
                })
            })
            .unwrap_or_else(|| json!({}));
        utterances.push(Utterance {
            index: u32::try_from(utterances.len()).unwrap_or(u32::MAX),
            speaker,
            text: object
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            start_ms,
            end_ms,
            words,
            timing,
            original_times: original_times.to_string(),
        });
    }
    Ok(utterances)
}

fn words(
    value: Option<&Value>,
    pointer: &str,
    unknown: &mut UnknownFields,
    findings: &mut Vec<Finding>,
) -> Vec<Word> {
    let Some(items) = value.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut words = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let item_pointer = format!("{pointer}/{position}");
        let Some(object) = item.as_object() else {
            unknown.insert(item_pointer, item.clone());
            continue;
        };
        unknown.collect(object, &item_pointer, WORD_KEYS);
        let text = object.get("word").and_then(Value::as_str);
        let start = time_number(object.get("start"));
        let end = time_number(object.get("end"));
        match (text, start, end) {
            (Some(text), Some(start), Some(end)) if end >= start && start >= 0.0 => {
                words.push(Word {
                    text: text.to_string(),
                    start_ms: round_ms(start * 1000.0),
                    end_ms: round_ms(end * 1000.0),
                    confidence: None,
                });
            }
            _ => findings.push(Finding {
                code: "invalid-word".to_string(),
                path: item_pointer,
                message: "word lacks text, start or end, is negative or ends before it starts; \
                          skipped"
                    .to_string(),
            }),
        }
    }
    words
}

/// Reads `latency.<name>`: the vendor's percentiles become call metrics named
/// `vendor.latency.<name>.<stat>`, and for the per-turn latencies `values[i]`
/// becomes turn `i`'s value, matched to the `i`-th bot response.
fn latency(
    call: &Map<String, Value>,
    pointer: &str,
    responses: &[u32],
    duration_ms: Option<i64>,
    unknown: &mut UnknownFields,
    findings: &mut Vec<Finding>,
) -> (Vec<TurnMetrics>, Vec<CallMetric>) {
    let mut turns: Vec<TurnMetrics> = Vec::new();
    let mut metrics = Vec::new();
    let Some(latency) = call.get("latency").and_then(Value::as_object) else {
        return (turns, metrics);
    };
    let latency_pointer = pointer_join(pointer, "latency");
    let known: Vec<&str> = LATENCY_NAMES.iter().map(|(key, _)| *key).collect();
    unknown.collect(latency, &latency_pointer, &known);
    let e2e_count = latency
        .get("e2e")
        .and_then(|e2e| e2e.get("values"))
        .and_then(Value::as_array)
        .map(Vec::len);

    for (key, name) in LATENCY_NAMES {
        let Some(entry) = latency.get(*key).and_then(Value::as_object) else {
            continue;
        };
        let entry_pointer = pointer_join(&latency_pointer, key);
        unknown.collect(entry, &entry_pointer, LATENCY_KEYS);

        for stat in ["p50", "p90", "p95", "p99", "min", "max"] {
            if let Some(value) = entry.get(stat)
                && let Some(mut metric) = call_metric(
                    &format!("vendor.latency.{name}.{stat}"),
                    &pointer_join(&entry_pointer, stat),
                    value,
                    "ms",
                )
            {
                flag_call_latency(&mut metric, duration_ms);
                metrics.push(metric);
            }
        }
        if let Some(value) = entry.get("num")
            && let Some(metric) = call_metric(
                &format!("vendor.latency.{name}.num"),
                &pointer_join(&entry_pointer, "num"),
                value,
                "count",
            )
        {
            metrics.push(metric);
        }

        let values_pointer = pointer_join(&entry_pointer, "values");
        let values = entry.get("values").and_then(Value::as_array);
        let per_turn = PER_TURN.contains(key)
            && values.map(Vec::len) == e2e_count.or(values.map(Vec::len));
        if !per_turn {
            if PER_TURN.contains(key) && values.is_some() {
                findings.push(Finding {
                    code: "latency-values-unmatched".to_string(),
                    path: values_pointer,
                    message: format!(
                        "{key}.values has {} entries but e2e.values has {}; they are not \
                         matched to turns",
                        values.map_or(0, Vec::len),
                        e2e_count.unwrap_or(0)
                    ),
                });
            }
            continue;
        }
        for (position, value) in values.into_iter().flatten().enumerate() {
            while turns.len() <= position {
                let number = turns.len();
                turns.push(TurnMetrics {
                    turn_number: u32::try_from(number).unwrap_or(u32::MAX),
                    utterance_index: responses.get(number).copied(),
                    interrupted: false,
                    values: Vec::new(),
                });
            }
            turns[position].values.push(metric_value(
                name,
                &format!("{values_pointer}/{position}"),
                value,
                1.0,
                "ms",
                duration_ms,
            ));
        }
    }
    (turns, metrics)
}

/// Reads `call_cost` (cents) and `llm_token_usage`.
fn costs(call: &Map<String, Value>, pointer: &str) -> Vec<CallMetric> {
    let mut metrics = Vec::new();
    let cost_pointer = pointer_join(pointer, "call_cost");
    if let Some(cost) = call.get("call_cost").and_then(Value::as_object) {
        if let Some(value) = cost.get("combined_cost")
            && let Some(metric) = call_metric(
                "cost.total",
                &pointer_join(&cost_pointer, "combined_cost"),
                value,
                "cents",
            )
        {
            metrics.push(metric);
        }
        for (position, product) in cost
            .get("product_costs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = product
                .get("product")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            if let Some(value) = product.get("cost")
                && let Some(metric) = call_metric(
                    &format!("cost.{name}"),
                    &format!("{cost_pointer}/product_costs/{position}/cost"),
                    value,
                    "cents",
                )
            {
                metrics.push(metric);
            }
        }
    }

    let usage_pointer = pointer_join(pointer, "llm_token_usage");
    if let Some(usage) = call.get("llm_token_usage").and_then(Value::as_object) {
        for (key, name, unit) in [
            ("average", "tokens.llm.mean", "tokens"),
            ("num_requests", "tokens.llm.requests", "count"),
        ] {
            if let Some(value) = usage.get(key)
                && let Some(metric) =
                    call_metric(name, &pointer_join(&usage_pointer, key), value, unit)
            {
                metrics.push(metric);
            }
        }
    }
    metrics
}
