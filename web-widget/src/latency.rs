//! Per-turn response latency as the vendor reported it and as callscope measured it,
//! gathered per bot turn for the transcript row that starts the turn.
//!
//! The vendor's values (`NormalizedCall::turn_metrics`) name the bot utterance they
//! belong to. The analysis's response latencies name a turn of `CallAnalysis::turns`,
//! and the transcript shows them on that turn's first utterance. Both are keyed by
//! that first utterance, so a vendor value matched to the second utterance of a bot
//! turn still sits next to the latency measured for the turn.

use std::collections::BTreeMap;

use callscope_api_types::{CallDetail, MeasureSource, MetricValue, TimingQuality, metric_flag};
use serde_json::Value;

use crate::format;

/// Everything known about one bot turn's latency.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnLatency {
    /// The utterance whose transcript row shows the turn: the turn's first utterance.
    pub utterance_index: u32,
    /// The vendor's values, in [`display_rank`] order.
    pub values: Vec<MetricValue>,
    /// Whether the vendor reports that the user interrupted the bot in this turn.
    pub interrupted: bool,
    /// Response latency measured on the recording.
    pub audio_ms: Option<i64>,
    /// Response latency from the vendor's utterance times.
    pub events_ms: Option<i64>,
}

/// Gathers the latency of every bot turn, keyed by the index of the utterance that
/// starts the turn. Vendor values without an utterance index are left out, because
/// no transcript row can show them.
pub fn turn_latencies(detail: &CallDetail) -> BTreeMap<u32, TurnLatency> {
    let turns = &detail.analysis.turns;
    let first_utterance_of_turn = |turn_index: u32| -> Option<u32> {
        turns.iter().find(|turn| turn.index == turn_index).and_then(|turn| turn.utterances.first().copied())
    };
    let mut row_of_utterance: BTreeMap<u32, u32> = BTreeMap::new();
    for turn in turns {
        if let Some(&first) = turn.utterances.first() {
            for &utterance in &turn.utterances {
                row_of_utterance.insert(utterance, first);
            }
        }
    }

    let mut result: BTreeMap<u32, TurnLatency> = BTreeMap::new();
    fn entry(result: &mut BTreeMap<u32, TurnLatency>, row: u32) -> &mut TurnLatency {
        result.entry(row).or_insert_with(|| TurnLatency { utterance_index: row, ..TurnLatency::default() })
    }

    for turn in &detail.call.turn_metrics {
        let Some(utterance) = turn.utterance_index else { continue };
        let row = row_of_utterance.get(&utterance).copied().unwrap_or(utterance);
        let latency = entry(&mut result, row);
        latency.values.extend(turn.values.iter().cloned());
        latency.interrupted |= turn.interrupted;
    }

    for measured in &detail.analysis.latencies {
        let Some(row) = first_utterance_of_turn(measured.turn_index) else { continue };
        let latency = entry(&mut result, row);
        match measured.source {
            MeasureSource::Audio => latency.audio_ms = Some(measured.latency_ms),
            MeasureSource::Events => latency.events_ms = Some(measured.latency_ms),
        }
    }

    for latency in result.values_mut() {
        latency.values.sort_by_key(|value| display_rank(&value.name));
    }
    result
}

/// Position of a latency name in a breakdown: the pipeline stages in the order they
/// happen in a turn (speech to text, end-of-turn detection, language model, text to
/// speech), then the vendor's whole-turn totals, then names callscope does not know.
pub fn display_rank(name: &str) -> u8 {
    match name {
        "stt" => 0,
        "endpointing" => 1,
        "llm" => 2,
        "tts" => 3,
        "e2e" => 4,
        "turn" => 5,
        _ => 6,
    }
}

/// Returns whether a latency name is a whole-turn total rather than one stage.
pub fn is_total(name: &str) -> bool {
    matches!(name, "e2e" | "turn")
}

/// Short label of a latency name in a breakdown.
pub fn short_name(name: &str) -> String {
    match name {
        "stt" => String::from("STT"),
        "llm" => String::from("LLM"),
        "tts" => String::from("TTS"),
        "e2e" => String::from("E2E"),
        "endpointing" => String::from("Endpointing"),
        "turn" => String::from("Turn"),
        other => other.to_owned(),
    }
}

/// Returns what a latency name measures, for the hover text.
pub fn long_name(name: &str) -> String {
    match name {
        "stt" => String::from("speech to text"),
        "llm" => String::from("language model, time to first token"),
        "tts" => String::from("text to speech, time to first byte"),
        "endpointing" => String::from("end-of-turn detection"),
        "e2e" => String::from("end to end, as the vendor measured it"),
        "turn" => String::from("whole turn, as the vendor measured it"),
        other => other.to_owned(),
    }
}

/// Returns why a flagged value is left out of the percentiles, in words.
pub fn flag_reason(flag: &str) -> String {
    let reason = match flag {
        metric_flag::NEGATIVE => "negative value",
        metric_flag::LONGER_THAN_CALL => "longer than the whole call",
        metric_flag::EPOCH_SIZED => "epoch-sized value, a timestamp and not a delay",
        metric_flag::STOP_BEFORE_START => "the measurement stops before it starts",
        metric_flag::CONFIGURATION_DEFAULT => "same value on every turn, equal to a configuration default",
        metric_flag::INTERRUPTED => "the user interrupted this turn",
        other => other,
    };
    format!("excluded: {reason}")
}

/// The `original` object of a metric value: where the vendor put the value, the
/// value as sent and its unit. Any part may be missing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Original {
    pub path: Option<String>,
    /// The value as the vendor sent it, as JSON text (`812`, `"n/a"`).
    pub value: Option<String>,
    pub unit: Option<String>,
}

/// Reads `{"path", "value", "unit"}` from a value's `original` JSON; anything else
/// (another shape, invalid JSON) gives an empty [`Original`].
pub fn original(json: &str) -> Original {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(json) else { return Original::default() };
    Original {
        path: object.get("path").and_then(Value::as_str).map(str::to_owned),
        value: object.get("value").map(Value::to_string),
        unit: object.get("unit").and_then(Value::as_str).map(str::to_owned),
    }
}

/// Text shown for a value: its milliseconds, or the vendor's value and unit when
/// there are no milliseconds (a value that is not a number, or an epoch-sized one).
pub fn value_text(value: &MetricValue) -> String {
    let approximate = if value.quality == TimingQuality::Approximate { "≈" } else { "" };
    if let Some(ms) = value.value_ms {
        return format!("{approximate}{}", format::latency(ms));
    }
    let original = original(&value.original);
    match (original.value, original.unit) {
        // A JSON string such as "n/a" is not in the unit, so the unit is left off.
        (Some(raw), Some(unit)) if !raw.starts_with('"') => format!("{raw} {unit}"),
        (Some(raw), _) => raw,
        (None, _) => String::from("–"),
    }
}

/// Hover text of a value: what it measures, why it is excluded or approximate, and
/// where the vendor put it.
pub fn value_title(value: &MetricValue) -> String {
    let mut lines = vec![format!("{}: {}", short_name(&value.name), long_name(&value.name))];
    if let Some(flag) = &value.flag {
        lines.push(flag_reason(flag));
    }
    if value.quality == TimingQuality::Approximate {
        lines.push(String::from("approximate: derived from neighbouring times, not measured for this turn"));
    }
    let original = original(&value.original);
    match (original.value, original.unit, original.path) {
        (Some(raw), unit, path) => {
            let unit = unit.map(|unit| format!(" {unit}")).unwrap_or_default();
            let path = path.map(|path| format!(" at {path}")).unwrap_or_default();
            lines.push(format!("vendor sent {raw}{unit}{path}"));
        }
        (None, _, Some(path)) => lines.push(format!("from {path}")),
        (None, _, None) if value.original.trim() != "{}" => lines.push(format!("source: {}", value.original)),
        (None, _, None) => {}
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use callscope_api_types::{
        CallAnalysis, CallSummary, ComponentVersion, NormalizedCall, ResponseLatency, Speaker, Turn, TurnMetrics,
    };

    use super::*;

    fn value(name: &str, value_ms: Option<i64>, flag: Option<&str>) -> MetricValue {
        MetricValue {
            name: name.to_owned(),
            value_ms,
            original: format!(r#"{{"path":"/turns/0/{name}","value":{},"unit":"ms"}}"#, value_ms.unwrap_or(1_733_000_000_000)),
            quality: TimingQuality::Exact,
            flag: flag.map(str::to_owned),
        }
    }

    fn turn(index: u32, speaker: Speaker, utterances: Vec<u32>) -> Turn {
        Turn { index, speaker, start_ms: 0, end_ms: 0, utterances, source: MeasureSource::Events }
    }

    fn latency(turn_index: u32, latency_ms: i64, source: MeasureSource) -> ResponseLatency {
        ResponseLatency { turn_index, user_end_ms: 0, bot_start_ms: latency_ms, latency_ms, source }
    }

    fn detail() -> CallDetail {
        CallDetail {
            summary: CallSummary {
                id: String::from("c1"),
                title: String::new(),
                format: String::new(),
                imported_at: String::new(),
                duration_ms: None,
                utterance_count: 0,
                max_latency_ms: None,
                pause_count: 0,
                overlap_count: 0,
                has_recording: false,
                live: false,
            },
            call: NormalizedCall {
                turn_metrics: vec![
                    // Matched to the second utterance of the bot turn made of 2 and 3.
                    TurnMetrics {
                        turn_number: 0,
                        utterance_index: Some(3),
                        interrupted: false,
                        values: vec![value("turn", Some(1_900), None), value("stt", Some(210), None), value("llm", Some(812), None)],
                    },
                    TurnMetrics { turn_number: 1, utterance_index: None, interrupted: true, values: vec![value("llm", Some(5), None)] },
                    TurnMetrics {
                        turn_number: 2,
                        utterance_index: Some(5),
                        interrupted: true,
                        values: vec![value("tts", None, Some(metric_flag::EPOCH_SIZED))],
                    },
                ],
                ..NormalizedCall::default()
            },
            recording: None,
            analysis: CallAnalysis {
                turns: vec![turn(0, Speaker::User, vec![0, 1]), turn(1, Speaker::Bot, vec![2, 3]), turn(2, Speaker::User, vec![4]), turn(3, Speaker::Bot, vec![5])],
                latencies: vec![
                    latency(1, 800, MeasureSource::Events),
                    latency(1, 788, MeasureSource::Audio),
                    latency(3, 2_988, MeasureSource::Audio),
                ],
                pauses: Vec::new(),
                overlaps: Vec::new(),
                dead_air: Vec::new(),
                talk: Vec::new(),
                alignment: None,
                flags: Vec::new(),
                findings: Vec::new(),
            },
            analysed_by: ComponentVersion { interface_version: String::new(), sha256: String::new() },
            redacted: false,
            transcript_hidden: false,
        }
    }

    #[test]
    fn turn_latencies_keyed_by_first_utterance_of_turn() {
        let latencies = turn_latencies(&detail());
        assert_eq!(latencies.keys().copied().collect::<Vec<_>>(), vec![2, 5]);
    }

    #[test]
    fn turn_latencies_join_vendor_and_measured() {
        let latencies = turn_latencies(&detail());
        let first = &latencies[&2];
        assert_eq!(first.audio_ms, Some(788));
        assert_eq!(first.events_ms, Some(800));
        let names: Vec<&str> = first.values.iter().map(|value| value.name.as_str()).collect();
        assert_eq!(names, vec!["stt", "llm", "turn"]);
    }

    #[test]
    fn turn_latencies_keep_interrupted_and_flagged() {
        let latencies = turn_latencies(&detail());
        let second = &latencies[&5];
        assert!(second.interrupted);
        assert_eq!(second.audio_ms, Some(2_988));
        assert_eq!(second.events_ms, None);
        assert_eq!(second.values[0].flag.as_deref(), Some(metric_flag::EPOCH_SIZED));
    }

    #[test]
    fn value_text_without_milliseconds_shows_original() {
        let epoch = value("tts", None, Some(metric_flag::EPOCH_SIZED));
        assert_eq!(value_text(&epoch), "1733000000000 ms");
    }

    #[test]
    fn value_text_marks_approximate() {
        let mut derived = value("e2e", Some(1_250), None);
        derived.quality = TimingQuality::Approximate;
        assert_eq!(value_text(&derived), "≈1250 ms");
    }

    #[test]
    fn value_title_gives_reason_and_origin() {
        let epoch = value("tts", None, Some(metric_flag::EPOCH_SIZED));
        assert_eq!(
            value_title(&epoch),
            "TTS: text to speech, time to first byte\nexcluded: epoch-sized value, a timestamp and not a delay\nvendor sent 1733000000000 ms at /turns/0/tts"
        );
    }

    #[test]
    fn value_text_of_text_value_has_no_unit() {
        let mut missing = value("turn", None, None);
        missing.original = String::from(r#"{"path":"/t/0","value":"n/a","unit":"ms"}"#);
        assert_eq!(value_text(&missing), "\"n/a\"");
    }

    #[test]
    fn value_title_shows_other_original_shape() {
        let mut derived = value("e2e", Some(1_180), None);
        derived.original = String::from(r#"{"derived_from":["stt","llm"]}"#);
        assert_eq!(value_title(&derived), "E2E: end to end, as the vendor measured it\nsource: {\"derived_from\":[\"stt\",\"llm\"]}");
    }

    #[test]
    fn original_of_other_shape_is_empty() {
        assert_eq!(original(r#"{"start_ms":5}"#), Original::default());
        assert_eq!(original("not json"), Original::default());
    }

    #[test]
    fn flag_reason_unknown_flag_kept() {
        assert_eq!(flag_reason("vendor-says-so"), "excluded: vendor-says-so");
    }
}
