//! LiveKit Agents session report: the dictionary `SessionReport.to_dict()` builds
//! (`livekit-agents/livekit/agents/voice/report.py`), with the chat history of
//! `ChatContext.to_dict(exclude_timestamp=False)` and per-message `MetricsReport`
//! (`livekit-agents/livekit/agents/llm/chat_context.py`).
//!
//! Clocks: `audio_recording_started_at`, `created_at`, `started_speaking_at` and
//! `stopped_speaking_at` are Unix epoch seconds; the delays in `metrics` are seconds.
//! Zero on the recording is `audio_recording_started_at`, so the transcript lines
//! up with the recording. Without it the report's `started_at`, else the first
//! item's `created_at`, is used, and a finding reports that the alignment is
//! approximate.

use callscope_api_types::{
    Finding, MetricValue, NormalizedCall, Speaker, TimingQuality, TurnMetrics, Utterance,
};
use serde_json::{Map, Value, json};

use super::IngestError;
use super::json::{UnknownFields, pointer_join, round_ms, time_number};
use super::turn_metrics::{self, metric_value};

/// Name of this format in `detect_format` results and `NormalizedCall::format`.
pub const FORMAT_NAME: &str = "livekit-session-report";

const REPORT_KEYS: &[&str] = &[
    "job_id",
    "room_id",
    "room",
    "events",
    "audio_recording_path",
    "audio_recording_started_at",
    "options",
    "chat_history",
    "timestamp",
    "started_at",
    "duration",
    "enable_recording",
];

const MESSAGE_KEYS: &[&str] = &[
    "id",
    "type",
    "role",
    "content",
    "interrupted",
    "transcript_confidence",
    "extra",
    "metrics",
    "created_at",
    "hash",
];

const TOOL_ITEM_KEYS: &[&str] = &[
    "id",
    "type",
    "call_id",
    "arguments",
    "name",
    "output",
    "is_error",
    "created_at",
    "extra",
    "group_id",
];

/// `MetricsReport` keys of an assistant message and the metric names they map to.
const ASSISTANT_METRICS: &[(&str, &str)] = &[
    ("llm_node_ttft", "llm"),
    ("tts_node_ttfb", "tts"),
    ("e2e_latency", "e2e"),
];

/// `MetricsReport` keys of a user message and the metric names they map to; they
/// describe the user turn that the next assistant message responds to.
const USER_METRICS: &[(&str, &str)] = &[
    ("transcription_delay", "stt"),
    ("end_of_turn_delay", "endpointing"),
    ("on_user_turn_completed_delay", "on_user_turn_completed"),
];

const SPEAKING_KEYS: &[&str] = &["started_speaking_at", "stopped_speaking_at"];

/// Session event types this version reads; others are kept in `unknown_fields`.
/// `metrics_collected` is left out of reports by the SDK itself.
const KNOWN_EVENTS: &[&str] = &[
    "agent_state_changed",
    "user_state_changed",
    "user_input_transcribed",
    "conversation_item_added",
    "function_tools_executed",
    "speech_created",
    "agent_false_interruption",
    "error",
    "close",
];

/// Returns whether `root` is a session report.
pub fn matches(root: &Value) -> bool {
    root.get("job_id").is_some_and(Value::is_string)
        && root.get("chat_history").is_some_and(Value::is_object)
}

/// Normalises a session report.
pub fn normalize(root: &Value) -> Result<NormalizedCall, IngestError> {
    let report = root.as_object().ok_or_else(|| {
        IngestError::InvalidPayload("a LiveKit session report is a JSON object".to_string())
    })?;
    let mut unknown = UnknownFields::default();
    let mut findings = Vec::new();
    unknown.collect(report, "", REPORT_KEYS);

    let items: &[Value] = match report.get("chat_history").and_then(|history| history.get("items")) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => &[],
        Some(_) => {
            return Err(IngestError::InvalidPayload(
                "/chat_history/items is not an array; expected the conversation items".to_string(),
            ));
        }
    };
    if let Some(history) = report.get("chat_history").and_then(Value::as_object) {
        unknown.collect(history, "/chat_history", &["items"]);
    }

    let zero_s = recording_zero(report, items, &mut findings);
    let clock = Clock { zero_s };
    let events = read_events(report, &clock, &mut unknown);

    let mut utterances: Vec<Utterance> = Vec::new();
    let mut turns: Vec<TurnMetrics> = Vec::new();
    let mut pending_user_values: Vec<MetricValue> = Vec::new();
    let mut after_user = false;
    let duration_ms = call_duration(report, &clock);

    for (position, item) in items.iter().enumerate() {
        let pointer = format!("/chat_history/items/{position}");
        let Some(object) = item.as_object() else {
            unknown.insert(pointer, item.clone());
            continue;
        };
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("message");
        let speaker = match (kind, object.get("role").and_then(Value::as_str)) {
            ("message", Some("user")) => Speaker::User,
            ("message", Some("assistant")) => Speaker::Bot,
            ("message", Some("system" | "developer")) => Speaker::System,
            ("function_call" | "function_call_output", _) => Speaker::Tool,
            _ => {
                unknown.insert(pointer, item.clone());
                continue;
            }
        };
        let known = if kind == "message" { MESSAGE_KEYS } else { TOOL_ITEM_KEYS };
        unknown.collect(object, &pointer, known);

        let metrics = object.get("metrics").and_then(Value::as_object);
        if let Some(metrics) = metrics {
            let known: Vec<&str> = ASSISTANT_METRICS
                .iter()
                .chain(USER_METRICS)
                .map(|(key, _)| *key)
                .chain(SPEAKING_KEYS.iter().copied())
                .collect();
            unknown.collect(metrics, &pointer_join(&pointer, "metrics"), &known);
        }

        let index = u32::try_from(utterances.len()).unwrap_or(u32::MAX);
        let utterance = place(object, metrics, speaker, index, &pointer, &clock, &events, &mut findings);
        let metrics_pointer = pointer_join(&pointer, "metrics");

        match speaker {
            Speaker::User => {
                after_user = true;
                pending_user_values = metrics
                    .map(|metrics| values(metrics, USER_METRICS, &metrics_pointer, duration_ms))
                    .unwrap_or_default();
            }
            // A greeting or a second message in a row responds to no user turn.
            Speaker::Bot if !after_user => {}
            Speaker::Bot => {
                after_user = false;
                let mut turn_values = std::mem::take(&mut pending_user_values);
                if let Some(metrics) = metrics {
                    turn_values.extend(values(metrics, ASSISTANT_METRICS, &metrics_pointer, duration_ms));
                }
                turns.push(TurnMetrics {
                    turn_number: u32::try_from(turns.len()).unwrap_or(u32::MAX),
                    utterance_index: Some(index),
                    interrupted: object
                        .get("interrupted")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    values: turn_values,
                });
            }
            Speaker::System | Speaker::Tool => {}
        }
        utterances.push(utterance);
    }

    let defaults: Vec<i64> = ["min_endpointing_delay", "max_endpointing_delay"]
        .iter()
        .filter_map(|key| report.get("options")?.get(*key)?.as_f64())
        .map(|seconds| round_ms(seconds * 1000.0))
        .collect();
    turn_metrics::flag_configuration_default(&mut turns, "endpointing", &defaults);

    let mut metrics = Vec::new();
    if let Some(count) = events.false_interruptions {
        metrics.push(callscope_api_types::CallMetric {
            name: "vendor.agent_false_interruption".to_string(),
            value: count as f64,
            unit: "count".to_string(),
            original: json!({ "path": "/events", "type": "agent_false_interruption" }).to_string(),
            flag: None,
        });
    }

    Ok(NormalizedCall {
        format: FORMAT_NAME.to_string(),
        vendor_call_id: report
            .get("job_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        started_at_epoch_ms: zero_s.map(|zero| round_ms(zero * 1000.0)),
        duration_ms,
        utterances,
        findings,
        unknown_fields: unknown.into_json(),
        recording_urls: Vec::new(),
        turn_metrics: turns,
        metrics,
        ended_reason: events.close_reason,
        ..NormalizedCall::default()
    })
}

/// Epoch seconds of the recording start, and how to place an epoch-seconds value.
struct Clock {
    zero_s: Option<f64>,
}

impl Clock {
    fn to_ms(&self, epoch_s: f64) -> Option<i64> {
        self.zero_s.map(|zero| round_ms((epoch_s - zero) * 1000.0))
    }
}

fn recording_zero(
    report: &Map<String, Value>,
    items: &[Value],
    findings: &mut Vec<Finding>,
) -> Option<f64> {
    if let Some(zero) = time_number(report.get("audio_recording_started_at")) {
        return Some(zero);
    }
    let fallback = time_number(report.get("started_at")).or_else(|| {
        items
            .iter()
            .find_map(|item| time_number(item.get("created_at")))
    });
    findings.push(Finding {
        code: "recording-start-unknown".to_string(),
        path: "/audio_recording_started_at".to_string(),
        message: "audio_recording_started_at is missing; times are placed from the session \
                  start, so they may not line up with a recording"
            .to_string(),
    });
    fallback
}

fn call_duration(report: &Map<String, Value>, clock: &Clock) -> Option<i64> {
    if let Some(duration) = time_number(report.get("duration")).filter(|duration| *duration >= 0.0) {
        return Some(round_ms(duration * 1000.0));
    }
    // The report is created when the session ends, so its timestamp is the end.
    time_number(report.get("timestamp"))
        .and_then(|end| clock.to_ms(end))
        .filter(|end| *end >= 0)
}

/// Session events that help place the transcript.
#[derive(Default)]
struct Events {
    /// Times (ms on the recording) at which the user stopped speaking.
    user_stopped_ms: Vec<i64>,
    false_interruptions: Option<u64>,
    close_reason: Option<String>,
}

fn read_events(report: &Map<String, Value>, clock: &Clock, unknown: &mut UnknownFields) -> Events {
    let mut events = Events::default();
    for (position, event) in report
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("/events/{position}");
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if !KNOWN_EVENTS.contains(&kind) {
            unknown.insert(pointer, event.clone());
            continue;
        }
        match kind {
            "user_state_changed"
                if event.get("old_state").and_then(Value::as_str) == Some("speaking") =>
            {
                if let Some(ms) = time_number(event.get("created_at")).and_then(|at| clock.to_ms(at)) {
                    events.user_stopped_ms.push(ms);
                }
            }
            "agent_false_interruption" => {
                *events.false_interruptions.get_or_insert(0) += 1;
            }
            "close" => {
                events.close_reason = event
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            _ => {}
        }
    }
    events
}

/// Places one chat item on the recording. Speaking times in `metrics` are exact.
/// Without them a user message ends at the last `user_state_changed` away from
/// speaking before its `created_at` (approximate), and any item otherwise sits at
/// its `created_at` (approximate).
#[allow(clippy::too_many_arguments)]
fn place(
    object: &Map<String, Value>,
    metrics: Option<&Map<String, Value>>,
    speaker: Speaker,
    index: u32,
    pointer: &str,
    clock: &Clock,
    events: &Events,
    findings: &mut Vec<Finding>,
) -> Utterance {
    let started = metrics.and_then(|metrics| time_number(metrics.get("started_speaking_at")));
    let stopped = metrics.and_then(|metrics| time_number(metrics.get("stopped_speaking_at")));
    let created = time_number(object.get("created_at"));
    let created_ms = created.and_then(|at| clock.to_ms(at)).unwrap_or(0);

    let (start_ms, end_ms, timing) = match (
        started.and_then(|at| clock.to_ms(at)),
        stopped.and_then(|at| clock.to_ms(at)),
    ) {
        (Some(start), Some(end)) if end >= start => (start, end, TimingQuality::Exact),
        (Some(start), Some(end)) => {
            findings.push(Finding {
                code: "end-before-start".to_string(),
                path: pointer_join(pointer, "metrics/stopped_speaking_at"),
                message: format!(
                    "stopped_speaking_at is {} ms before started_speaking_at; the start is used \
                     for both",
                    start - end
                ),
            });
            (start, start, TimingQuality::Approximate)
        }
        _ if speaker == Speaker::User => {
            let end = events
                .user_stopped_ms
                .iter()
                .copied()
                .filter(|stop| *stop <= created_ms)
                .max()
                .unwrap_or(created_ms);
            (end, end, TimingQuality::Approximate)
        }
        _ => (created_ms, created_ms, TimingQuality::Approximate),
    };

    if speaker.is_audible() && start_ms < 0 {
        findings.push(Finding {
            code: "negative-time".to_string(),
            path: pointer.to_string(),
            message: format!("item starts {} ms before the recording started", -start_ms),
        });
    }

    let original_times: Map<String, Value> = [
        ("created_at", object.get("created_at")),
        ("started_speaking_at", metrics.and_then(|metrics| metrics.get("started_speaking_at"))),
        ("stopped_speaking_at", metrics.and_then(|metrics| metrics.get("stopped_speaking_at"))),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key.to_string(), value?.clone())))
    .collect();

    Utterance {
        index,
        speaker,
        text: item_text(object),
        start_ms,
        end_ms,
        words: Vec::new(),
        timing,
        original_times: json!({ "unit": "epoch-seconds", "values": original_times }).to_string(),
    }
}

/// Joins the text parts of a message's `content`; a tool item shows its name and
/// arguments or output.
fn item_text(object: &Map<String, Value>) -> String {
    if let Some(content) = object.get("content").and_then(Value::as_array) {
        return content
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
    }
    let name = object.get("name").and_then(Value::as_str).unwrap_or("");
    let detail = object
        .get("arguments")
        .or_else(|| object.get("output"))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{name}: {detail}")
}

fn values(
    metrics: &Map<String, Value>,
    names: &[(&str, &str)],
    pointer: &str,
    duration_ms: Option<i64>,
) -> Vec<MetricValue> {
    names
        .iter()
        .filter_map(|(key, name)| {
            let value = metrics.get(*key)?;
            Some(metric_value(
                name,
                &pointer_join(pointer, key),
                value,
                1000.0,
                "s",
                duration_ms,
            ))
        })
        .collect()
}
