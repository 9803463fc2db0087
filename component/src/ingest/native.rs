//! callscope's own event stream: NDJSON, one event per line, every time in
//! milliseconds from the recording start. `docs/native-events.md` documents it for
//! teams that emit it directly.
//!
//! Events repeated with the same `id` are read once, so a redelivered batch is
//! harmless. Events of an unknown `type` and unknown keys are kept verbatim in
//! `unknown_fields` under `/lines/<line number>`.

use callscope_api_types::{
    CallMetric, Finding, MetricValue, NormalizedCall, ServiceSpan, SpanKind, Speaker,
    TimingQuality, TurnMetrics, Utterance, Word,
};
use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::IngestError;
use super::json::{UnknownFields, pointer_join, round_ms, time_number};
use super::limits;
use super::turn_metrics::metric_value;

/// Name of this format in `detect_format` results and `NormalizedCall::format`.
pub const FORMAT_NAME: &str = "callscope-ndjson";

/// The stream version this module reads, the value of every event's `v`.
pub const VERSION: u64 = 1;

const COMMON_KEYS: &[&str] = &["v", "id", "call_id", "type"];
const CALL_STARTED_KEYS: &[&str] = &["started_at_epoch_ms", "recording_urls"];
const UTTERANCE_KEYS: &[&str] = &["speaker", "text", "start_ms", "end_ms", "words", "interrupted"];
const WORD_KEYS: &[&str] = &["text", "start_ms", "end_ms", "confidence"];
const TURN_KEYS: &[&str] = &["turn_number", "utterance_index", "interrupted", "values"];
const SPAN_KEYS: &[&str] = &[
    "kind",
    "turn_number",
    "start_ms",
    "end_ms",
    "ttfb_ms",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "text",
    "interrupted",
];
const METRIC_KEYS: &[&str] = &["name", "value", "unit"];
const CALL_ENDED_KEYS: &[&str] = &["end_ms", "reason", "analysis"];

/// One parsed line and its 1-based line number.
pub struct Line {
    pub number: usize,
    pub event: Value,
}

/// Returns whether `root` is one native event, a stream of a single line.
pub fn matches(root: &Value) -> bool {
    is_event(root)
}

fn is_event(value: &Value) -> bool {
    value.get("v").and_then(Value::as_u64) == Some(VERSION)
        && value.get("type").is_some_and(Value::is_string)
        && value.get("call_id").is_some_and(Value::is_string)
}

/// Normalises a single-event stream that parsed as one JSON document.
pub fn normalize_single(root: &Value) -> Result<NormalizedCall, IngestError> {
    normalize_events([(1, root)])
}

/// Splits `payload` into events when its first non-blank line is a native event.
///
/// `json_error` is why the payload failed to parse as one JSON document. It is
/// returned unchanged when the payload is not an event stream, so that truncated or
/// invalid JSON keeps its own message.
pub fn parse_lines(payload: &[u8], json_error: IngestError) -> Result<Vec<Line>, IngestError> {
    if !matches!(json_error, IngestError::InvalidJson(_)) {
        return Err(json_error);
    }
    let Ok(text) = std::str::from_utf8(payload) else {
        return Err(json_error);
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(json_error);
    };
    match limits::parse_json(first.as_bytes()) {
        Ok(event) if is_event(&event) => {}
        _ => return Err(json_error),
    }

    let mut parsed = Vec::new();
    for (position, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = limits::parse_json(line.as_bytes()).map_err(|error| match error {
            IngestError::InvalidJson(message) => IngestError::InvalidJson(format!(
                "NDJSON line {} is not valid JSON: {message}",
                position + 1
            )),
            other => other,
        })?;
        parsed.push(Line {
            number: position + 1,
            event,
        });
    }
    Ok(parsed)
}

/// Normalises the events of one call.
pub fn normalize(lines: &[Line]) -> Result<NormalizedCall, IngestError> {
    normalize_events(lines.iter().map(|line| (line.number, &line.event)))
}

/// Normalises the events of one call given as `(line number, event)` pairs, so a
/// caller with one parsed event validates it without copying it.
fn normalize_events<'a>(
    lines: impl IntoIterator<Item = (usize, &'a Value)>,
) -> Result<NormalizedCall, IngestError> {
    let mut state = State::default();
    let mut seen_ids: HashSet<&str> = HashSet::new();

    for (number, value) in lines {
        let pointer = format!("/lines/{}", number);
        let Some(event) = value.as_object() else {
            return Err(IngestError::InvalidPayload(format!(
                "line {} is not a JSON object; every line is one event",
                number
            )));
        };
        if event.get("v").and_then(Value::as_u64) != Some(VERSION) {
            return Err(IngestError::InvalidPayload(format!(
                "line {}: \"v\" is {}, but this version reads only {VERSION}",
                number,
                event.get("v").unwrap_or(&Value::Null)
            )));
        }
        let call_id = required_str(event, "call_id", number)?;
        match &state.call_id {
            None => state.call_id = Some(call_id.to_string()),
            Some(first) if first != call_id => {
                return Err(IngestError::InvalidPayload(format!(
                    "line {}: call_id {call_id:?} differs from {first:?} of the first event; \
                     send one call per stream",
                    number
                )));
            }
            Some(_) => {}
        }
        if let Some(id) = event.get("id").and_then(Value::as_str)
            && !seen_ids.insert(id)
        {
            continue;
        }

        let kind = required_str(event, "type", number)?;
        let known: &[&str] = match kind {
            "call_started" => CALL_STARTED_KEYS,
            "utterance" => UTTERANCE_KEYS,
            "turn_metrics" => TURN_KEYS,
            "span" => SPAN_KEYS,
            "metric" => METRIC_KEYS,
            "call_ended" => CALL_ENDED_KEYS,
            _ => {
                state.unknown.insert(pointer, value.clone());
                continue;
            }
        };
        let known: Vec<&str> = COMMON_KEYS.iter().chain(known).copied().collect();
        state.unknown.collect(event, &pointer, &known);

        match kind {
            "call_started" => state.call_started(event),
            "utterance" => state.utterance(event, &pointer, number)?,
            "turn_metrics" => state.turn_metrics(event, &pointer, number)?,
            "span" => state.span(event, &pointer, number)?,
            "metric" => state.metric(event, &pointer, number)?,
            _ => state.call_ended(event),
        }
    }
    Ok(state.into_call())
}

fn required_str<'a>(
    event: &'a Map<String, Value>,
    key: &str,
    line: usize,
) -> Result<&'a str, IngestError> {
    event.get(key).and_then(Value::as_str).ok_or_else(|| {
        IngestError::InvalidPayload(format!("line {line}: \"{key}\" is missing or not a string"))
    })
}

fn required_ms(
    event: &Map<String, Value>,
    key: &str,
    line: usize,
) -> Result<i64, IngestError> {
    time_number(event.get(key)).map(round_ms).ok_or_else(|| {
        IngestError::InvalidPayload(format!(
            "line {line}: \"{key}\" is missing or not a number of milliseconds"
        ))
    })
}

#[derive(Default)]
struct State {
    call_id: Option<String>,
    started_at_epoch_ms: Option<i64>,
    duration_ms: Option<i64>,
    ended_reason: Option<String>,
    analysis: Option<Value>,
    recording_urls: Vec<String>,
    utterances: Vec<Utterance>,
    turns: Vec<TurnMetrics>,
    spans: Vec<ServiceSpan>,
    metrics: Vec<CallMetric>,
    findings: Vec<Finding>,
    unknown: UnknownFields,
}

impl State {
    fn call_started(&mut self, event: &Map<String, Value>) {
        self.started_at_epoch_ms = time_number(event.get("started_at_epoch_ms")).map(round_ms);
        for url in event
            .get("recording_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.recording_urls.push(url.to_string());
        }
    }

    fn call_ended(&mut self, event: &Map<String, Value>) {
        self.duration_ms = time_number(event.get("end_ms")).map(round_ms);
        self.ended_reason = event
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.analysis = event.get("analysis").cloned();
    }

    fn utterance(
        &mut self,
        event: &Map<String, Value>,
        pointer: &str,
        line: usize,
    ) -> Result<(), IngestError> {
        let speaker = match required_str(event, "speaker", line)? {
            "user" => Speaker::User,
            "bot" => Speaker::Bot,
            "system" => Speaker::System,
            "tool" => Speaker::Tool,
            other => {
                return Err(IngestError::InvalidPayload(format!(
                    "line {line}: speaker {other:?} is not user, bot, system or tool"
                )));
            }
        };
        let start_ms = required_ms(event, "start_ms", line)?;
        let mut end_ms = required_ms(event, "end_ms", line)?;
        let mut timing = TimingQuality::Exact;
        if end_ms < start_ms {
            self.findings.push(Finding {
                code: "end-before-start".to_string(),
                path: pointer_join(pointer, "end_ms"),
                message: format!(
                    "end_ms {end_ms} is before start_ms {start_ms}; the end is set to the start"
                ),
            });
            end_ms = start_ms;
            timing = TimingQuality::Approximate;
        }

        let mut words = Vec::new();
        for (position, word) in event
            .get("words")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let word_pointer = format!("{pointer}/words/{position}");
            let Some(object) = word.as_object() else {
                self.unknown.insert(word_pointer, word.clone());
                continue;
            };
            self.unknown.collect(object, &word_pointer, WORD_KEYS);
            let text = object.get("text").and_then(Value::as_str);
            let start = time_number(object.get("start_ms"));
            let end = time_number(object.get("end_ms"));
            if let (Some(text), Some(start), Some(end)) = (text, start, end)
                && end >= start
            {
                words.push(Word {
                    text: text.to_string(),
                    start_ms: round_ms(start),
                    end_ms: round_ms(end),
                    confidence: object
                        .get("confidence")
                        .and_then(Value::as_f64)
                        .map(|confidence| confidence as f32),
                });
            } else {
                self.findings.push(Finding {
                    code: "invalid-word".to_string(),
                    path: word_pointer,
                    message: "word lacks text, start_ms or end_ms, or ends before it starts; \
                              skipped"
                        .to_string(),
                });
            }
        }

        self.utterances.push(Utterance {
            index: u32::try_from(self.utterances.len()).unwrap_or(u32::MAX),
            speaker,
            text: event
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            start_ms,
            end_ms,
            words,
            timing,
            original_times: json!({
                "start_ms": event.get("start_ms"),
                "end_ms": event.get("end_ms"),
            })
            .to_string(),
        });
        Ok(())
    }

    fn turn_metrics(
        &mut self,
        event: &Map<String, Value>,
        pointer: &str,
        line: usize,
    ) -> Result<(), IngestError> {
        let turn_number = event
            .get("turn_number")
            .and_then(Value::as_u64)
            .and_then(|number| u32::try_from(number).ok())
            .ok_or_else(|| {
                IngestError::InvalidPayload(format!(
                    "line {line}: \"turn_number\" is missing or not a non-negative integer"
                ))
            })?;
        let values_pointer = pointer_join(pointer, "values");
        let values: Vec<MetricValue> = event
            .get("values")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                metric_value(
                    name,
                    &pointer_join(&values_pointer, name),
                    value,
                    1.0,
                    "ms",
                    None,
                )
            })
            .collect();
        self.turns.push(TurnMetrics {
            turn_number,
            utterance_index: event
                .get("utterance_index")
                .and_then(Value::as_u64)
                .and_then(|index| u32::try_from(index).ok()),
            interrupted: event
                .get("interrupted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            values,
        });
        Ok(())
    }

    fn span(
        &mut self,
        event: &Map<String, Value>,
        pointer: &str,
        line: usize,
    ) -> Result<(), IngestError> {
        let kind = match required_str(event, "kind", line)? {
            "stt" => SpanKind::Stt,
            "llm" => SpanKind::Llm,
            "tts" => SpanKind::Tts,
            "tool" => SpanKind::Tool,
            other => {
                return Err(IngestError::InvalidPayload(format!(
                    "line {line}: span kind {other:?} is not stt, llm, tts or tool"
                )));
            }
        };
        let start_ms = required_ms(event, "start_ms", line)?;
        let end_ms = required_ms(event, "end_ms", line)?;
        if end_ms < start_ms {
            self.findings.push(Finding {
                code: "end-before-start".to_string(),
                path: pointer_join(pointer, "end_ms"),
                message: format!("span end_ms {end_ms} is before start_ms {start_ms}"),
            });
        }
        let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_string);
        let original: Map<String, Value> = event
            .iter()
            .filter(|(key, _)| SPAN_KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        self.spans.push(ServiceSpan {
            kind,
            turn_number: event
                .get("turn_number")
                .and_then(Value::as_u64)
                .and_then(|number| u32::try_from(number).ok()),
            start_ms,
            end_ms,
            ttfb_ms: time_number(event.get("ttfb_ms")).map(round_ms),
            provider: text("provider"),
            model: text("model"),
            input_tokens: event.get("input_tokens").and_then(Value::as_u64),
            output_tokens: event.get("output_tokens").and_then(Value::as_u64),
            text: text("text"),
            interrupted: event
                .get("interrupted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            original: Value::Object(original).to_string(),
        });
        Ok(())
    }

    fn metric(
        &mut self,
        event: &Map<String, Value>,
        pointer: &str,
        line: usize,
    ) -> Result<(), IngestError> {
        let name = required_str(event, "name", line)?;
        let unit = required_str(event, "unit", line)?;
        let value = event
            .get("value")
            .and_then(Value::as_f64)
            .filter(|value| value.is_finite())
            .ok_or_else(|| {
                IngestError::InvalidPayload(format!(
                    "line {line}: metric \"value\" is missing or not a finite number"
                ))
            })?;
        self.metrics.push(CallMetric {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
            original: json!({ "path": pointer_join(pointer, "value"), "value": event.get("value") })
                .to_string(),
            flag: None,
        });
        Ok(())
    }

    fn into_call(mut self) -> NormalizedCall {
        // A broker may redeliver events out of order, so the transcript follows time,
        // not arrival; the sort is stable, so simultaneous utterances keep their order.
        self.utterances.sort_by_key(|u| (u.start_ms, u.end_ms));
        for (index, utterance) in self.utterances.iter_mut().enumerate() {
            utterance.index = index as u32;
        }

        // Delays checked against the call length once `call_ended` has been read.
        let duration = self.duration_ms;
        for value in self.turns.iter_mut().flat_map(|turn| turn.values.iter_mut()) {
            if value.flag.is_none()
                && let (Some(ms), Some(duration)) = (value.value_ms, duration)
                && ms > duration
            {
                value.flag = Some(callscope_api_types::metric_flag::LONGER_THAN_CALL.to_string());
            }
        }
        for metric in self.metrics.iter_mut() {
            super::turn_metrics::flag_call_latency(metric, duration);
        }
        NormalizedCall {
            format: FORMAT_NAME.to_string(),
            vendor_call_id: self.call_id,
            started_at_epoch_ms: self.started_at_epoch_ms,
            duration_ms: self.duration_ms,
            utterances: self.utterances,
            findings: self.findings,
            unknown_fields: self.unknown.into_json(),
            recording_urls: self.recording_urls,
            spans: self.spans,
            turn_metrics: self.turns,
            metrics: self.metrics,
            ended_reason: self.ended_reason,
            vendor_analysis: self
                .analysis
                .filter(Value::is_object)
                .map_or_else(|| "{}".to_string(), |analysis| analysis.to_string()),
            ..NormalizedCall::default()
        }
    }
}
