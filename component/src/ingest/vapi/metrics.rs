//! Costs and latencies of a Vapi report: `cost`, `costs[]`, and
//! `artifact.performanceMetrics` (`turnLatencies[]` and the averages), all in
//! milliseconds as the schema documents for the transport averages.

use callscope_api_types::{CallMetric, TurnMetrics};
use serde_json::{Map, Value};

use crate::ingest::json::{UnknownFields, pointer_join};
use crate::ingest::turn_metrics::{call_metric, flag_call_latency, metric_value};

/// `TurnLatency` keys and the callscope metric names they map to.
const TURN_LATENCY_NAMES: &[(&str, &str)] = &[
    ("transcriberLatency", "stt"),
    ("endpointingLatency", "endpointing"),
    ("modelLatency", "llm"),
    ("voiceLatency", "tts"),
    ("turnLatency", "turn"),
];

/// `PerformanceMetrics` averages and the call-level metric names they map to.
const AVERAGE_NAMES: &[(&str, &str)] = &[
    ("transcriberLatencyAverage", "vendor.latency.stt.mean"),
    ("endpointingLatencyAverage", "vendor.latency.endpointing.mean"),
    ("modelLatencyAverage", "vendor.latency.llm.mean"),
    ("voiceLatencyAverage", "vendor.latency.tts.mean"),
    ("turnLatencyAverage", "vendor.latency.turn.mean"),
    ("fromTransportLatencyAverage", "vendor.latency.from_transport.mean"),
    ("toTransportLatencyAverage", "vendor.latency.to_transport.mean"),
];

const COUNT_NAMES: &[(&str, &str)] = &[
    ("numUserInterrupted", "vendor.user_interrupted"),
    ("numAssistantInterrupted", "vendor.assistant_interrupted"),
];

/// Reads `performanceMetrics.turnLatencies[]`. Entry `i` is matched to the `i`-th
/// bot response to a user, because Vapi records one entry per response and
/// carries no message reference.
pub fn turn_latencies(
    artifact: &Map<String, Value>,
    artifact_pointer: &str,
    responses: &[u32],
    call_duration_ms: Option<i64>,
    unknown: &mut UnknownFields,
) -> Vec<TurnMetrics> {
    let metrics_pointer = pointer_join(artifact_pointer, "performanceMetrics");
    let Some(performance) = artifact.get("performanceMetrics").and_then(Value::as_object) else {
        return Vec::new();
    };
    let known: Vec<&str> = AVERAGE_NAMES
        .iter()
        .chain(COUNT_NAMES)
        .map(|(key, _)| *key)
        .chain(["turnLatencies"])
        .collect();
    unknown.collect(performance, &metrics_pointer, &known);

    let list_pointer = pointer_join(&metrics_pointer, "turnLatencies");
    let Some(entries) = performance.get("turnLatencies").and_then(Value::as_array) else {
        return Vec::new();
    };

    let mut turns = Vec::with_capacity(entries.len());
    for (position, entry) in entries.iter().enumerate() {
        let entry_pointer = format!("{list_pointer}/{position}");
        let Some(entry) = entry.as_object() else {
            unknown.insert(entry_pointer, entry.clone());
            continue;
        };
        let known: Vec<&str> = TURN_LATENCY_NAMES.iter().map(|(key, _)| *key).collect();
        unknown.collect(entry, &entry_pointer, &known);

        let values = TURN_LATENCY_NAMES
            .iter()
            .filter_map(|(key, name)| {
                let value = entry.get(*key)?;
                Some(metric_value(
                    name,
                    &pointer_join(&entry_pointer, key),
                    value,
                    1.0,
                    "ms",
                    call_duration_ms,
                ))
            })
            .collect();
        turns.push(TurnMetrics {
            turn_number: u32::try_from(position).unwrap_or(u32::MAX),
            utterance_index: responses.get(position).copied(),
            interrupted: false,
            values,
        });
    }
    turns
}

/// Returns the endpointing wait the assistant was configured with
/// (`assistant.startSpeakingPlan.waitSeconds`), in milliseconds. An endpointing
/// latency equal to it on every turn is the setting echoed back, not a measurement.
pub fn configured_wait_ms(report: &Map<String, Value>) -> Option<i64> {
    let seconds = report
        .get("assistant")?
        .get("startSpeakingPlan")?
        .get("waitSeconds")?
        .as_f64()?;
    Some((seconds * 1000.0).round() as i64)
}

/// Reads `cost` (the total, in US dollars) and `costs[]` (one entry per `type`).
pub fn costs(report: &Map<String, Value>, report_pointer: &str) -> Vec<CallMetric> {
    let mut metrics = Vec::new();
    if let Some(total) = report.get("cost")
        && let Some(metric) = call_metric(
            "cost.total",
            &pointer_join(report_pointer, "cost"),
            total,
            "usd",
        )
    {
        metrics.push(metric);
    }

    let costs_pointer = pointer_join(report_pointer, "costs");
    for (position, entry) in report
        .get("costs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let kind = entry.get("type").and_then(Value::as_str).unwrap_or("unknown");
        if let Some(cost) = entry.get("cost")
            && let Some(metric) = call_metric(
                &format!("cost.{kind}"),
                &format!("{costs_pointer}/{position}/cost"),
                cost,
                "usd",
            )
        {
            metrics.push(metric);
        }
    }
    metrics
}

/// Reads the averages and interruption counts of `performanceMetrics`.
pub fn latency_averages(
    artifact: &Map<String, Value>,
    artifact_pointer: &str,
    call_duration_ms: Option<i64>,
) -> Vec<CallMetric> {
    let Some(performance) = artifact.get("performanceMetrics").and_then(Value::as_object) else {
        return Vec::new();
    };
    let pointer = pointer_join(artifact_pointer, "performanceMetrics");
    let mut metrics = Vec::new();

    for (key, name) in AVERAGE_NAMES {
        if let Some(value) = performance.get(*key)
            && let Some(mut metric) = call_metric(name, &pointer_join(&pointer, key), value, "ms")
        {
            flag_call_latency(&mut metric, call_duration_ms);
            metrics.push(metric);
        }
    }
    for (key, name) in COUNT_NAMES {
        if let Some(value) = performance.get(*key)
            && let Some(metric) = call_metric(name, &pointer_join(&pointer, key), value, "count")
        {
            metrics.push(metric);
        }
    }
    metrics
}
