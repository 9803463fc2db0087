//! All canonical spans of one conversation to one normalised call.
//!
//! Zero on the timeline is the start of the `conversation` span, else of the
//! earliest span. Pipecat traces carry no recording, so the timeline is the bot
//! process's clock. Utterances are derived from the `stt` transcripts and the `tts`
//! texts and marked approximate, because a service span brackets a request, not
//! the speech itself.

use callscope_api_types::{
    CallMetric, Finding, MetricValue, NormalizedCall, ServiceSpan, SpanKind, Speaker,
    TimingQuality, TurnMetrics, Utterance,
};
use serde_json::{Value, json};

use crate::ingest::IngestError;
use crate::ingest::json::UnknownFields;
use crate::ingest::limits;
use crate::ingest::turn_metrics::{metric_value, span_value};

use super::FORMAT_NAME;

/// One span with its times read.
struct Span {
    value: Value,
    span_id: String,
    parent_span_id: String,
    name: String,
    start_ns: Option<u128>,
    end_ns: Option<u128>,
}

impl Span {
    fn attribute(&self, key: &str) -> Option<&Value> {
        self.value.get("attributes")?.get(key)
    }

    fn text(&self, key: &str) -> Option<String> {
        self.attribute(key)?.as_str().map(str::to_string)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.attribute(key)?.as_f64()
    }

    fn flag(&self, key: &str) -> bool {
        self.attribute(key).and_then(Value::as_bool).unwrap_or(false)
    }

    fn pointer(&self, key: &str) -> String {
        format!("/spans/{}/attributes/{}", self.span_id, key.replace('~', "~0").replace('/', "~1"))
    }
}

/// Normalises the spans of one conversation.
pub fn normalize(span_texts: &[String]) -> Result<NormalizedCall, IngestError> {
    let mut spans: Vec<Span> = Vec::with_capacity(span_texts.len());
    for (position, text) in span_texts.iter().enumerate() {
        let value = limits::parse_json(text.as_bytes())?;
        let span_id = value
            .get("span_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                IngestError::InvalidPayload(format!(
                    "span {position} has no span_id; pass the span_json that split-otlp returned"
                ))
            })?
            .to_string();
        if spans.iter().any(|span| span.span_id == span_id) {
            continue;
        }
        let time = |key: &str| value.get(key).and_then(Value::as_str).and_then(|text| text.parse::<u128>().ok());
        spans.push(Span {
            parent_span_id: value
                .get("parent_span_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            name: value.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            start_ns: time("start_time_unix_nano"),
            end_ns: time("end_time_unix_nano"),
            span_id,
            value,
        });
    }
    if spans.is_empty() {
        return Err(IngestError::InvalidPayload(
            "no spans to normalise; send at least one span of the conversation".to_string(),
        ));
    }
    spans.sort_by_key(|span| (span.start_ns.unwrap_or(u128::MAX), span.span_id.clone()));

    let mut findings = Vec::new();
    let conversation = spans.iter().find(|span| span.name == "conversation");
    let zero_ns = conversation
        .and_then(|span| span.start_ns)
        .or_else(|| spans.iter().filter_map(|span| span.start_ns).min())
        .unwrap_or(0);
    if conversation.is_none() {
        findings.push(Finding {
            code: "conversation-span-missing".to_string(),
            path: "/spans".to_string(),
            message: "no conversation span has arrived yet; times count from the earliest span \
                      and may shift when it arrives"
                .to_string(),
        });
    }
    let to_ms = |ns: u128| -> i64 { ((ns as i128 - zero_ns as i128) / 1_000_000) as i64 };
    let end_ns = conversation
        .and_then(|span| span.end_ns)
        .or_else(|| spans.iter().filter_map(|span| span.end_ns).max());
    let duration_ms = end_ns.map(to_ms).filter(|duration| *duration >= 0);

    let mut unknown = UnknownFields::default();
    let mut service_spans = Vec::new();
    let mut turns: Vec<(Span, TurnMetrics)> = Vec::new();
    let mut metrics_tokens = (0u64, 0u64, false);

    let turn_number_of = |span: &Span| -> Option<(u32, bool)> {
        let turn = spans.iter().find(|turn| turn.span_id == span.parent_span_id && turn.name == "turn")?;
        let number = turn.number("turn.number").and_then(|number| u32::try_from(number as i64).ok())?;
        Some((number, turn.flag("turn.was_interrupted")))
    };

    for span in &spans {
        let kind = match span.name.as_str() {
            "conversation" => continue,
            "turn" => {
                let number = span
                    .number("turn.number")
                    .and_then(|number| u32::try_from(number as i64).ok())
                    .unwrap_or(u32::try_from(turns.len()).unwrap_or(u32::MAX));
                let mut values = Vec::new();
                if let Some(latency) = span.attribute("turn.user_bot_latency_seconds") {
                    values.push(metric_value(
                        "e2e",
                        &span.pointer("turn.user_bot_latency_seconds"),
                        latency,
                        1000.0,
                        "s",
                        duration_ms,
                    ));
                }
                turns.push((
                    Span {
                        value: span.value.clone(),
                        span_id: span.span_id.clone(),
                        parent_span_id: span.parent_span_id.clone(),
                        name: span.name.clone(),
                        start_ns: span.start_ns,
                        end_ns: span.end_ns,
                    },
                    TurnMetrics {
                        turn_number: number,
                        utterance_index: None,
                        interrupted: span.flag("turn.was_interrupted"),
                        values,
                    },
                ));
                continue;
            }
            "stt" => SpanKind::Stt,
            "llm" => SpanKind::Llm,
            "tts" => SpanKind::Tts,
            name if name.contains("tool") || name.contains("function") => SpanKind::Tool,
            _ => {
                unknown.insert(format!("/spans/{}", span.span_id), span.value.clone());
                continue;
            }
        };

        let (Some(start_ns), Some(end_ns)) = (span.start_ns, span.end_ns) else {
            findings.push(Finding {
                code: "missing-time".to_string(),
                path: format!("/spans/{}", span.span_id),
                message: "span lacks a start or end time; skipped".to_string(),
            });
            continue;
        };
        if end_ns < start_ns {
            findings.push(Finding {
                code: "end-before-start".to_string(),
                path: format!("/spans/{}/end_time_unix_nano", span.span_id),
                message: format!(
                    "{} span ends {} ms before it starts",
                    span.name,
                    (start_ns - end_ns) / 1_000_000
                ),
            });
        }
        let turn = turn_number_of(span);
        let ttfb_ms = span
            .number("metrics.ttfb")
            .filter(|ttfb| ttfb.is_finite())
            .map(|ttfb| (ttfb * 1000.0).round() as i64);
        let input_tokens = span.attribute("gen_ai.usage.input_tokens").and_then(Value::as_u64);
        let output_tokens = span.attribute("gen_ai.usage.output_tokens").and_then(Value::as_u64);
        if input_tokens.is_some() || output_tokens.is_some() {
            metrics_tokens.0 += input_tokens.unwrap_or(0);
            metrics_tokens.1 += output_tokens.unwrap_or(0);
            metrics_tokens.2 = true;
        }
        let text = match kind {
            SpanKind::Stt => span.text("transcript"),
            SpanKind::Llm => span.text("output"),
            SpanKind::Tts => span.text("text"),
            SpanKind::Tool => span.text("tool.function_name").or_else(|| span.text("function_calls.all_names")),
        };

        let original = json!({
            "start_time_unix_nano": span.value.get("start_time_unix_nano"),
            "end_time_unix_nano": span.value.get("end_time_unix_nano"),
            "attributes": span.value.get("attributes"),
            "resource": span.value.get("resource"),
        });
        service_spans.push(ServiceSpan {
            kind,
            turn_number: turn.map(|(number, _)| number),
            start_ms: to_ms(start_ns),
            end_ms: to_ms(end_ns),
            ttfb_ms,
            // `gen_ai.provider.name` replaced `gen_ai.system` in the OpenTelemetry
            // GenAI conventions; Pipecat versions write one or the other.
            provider: span
                .text("gen_ai.provider.name")
                .or_else(|| span.text("gen_ai.system")),
            model: span.text("gen_ai.request.model"),
            input_tokens,
            output_tokens,
            text,
            interrupted: span.flag("tts.interrupted") || turn.is_some_and(|(_, interrupted)| interrupted),
            original: original.to_string(),
        });
    }

    let utterances = utterances(&service_spans);
    let turn_metrics = turn_values(turns, &spans, &service_spans, &utterances, duration_ms);

    let mut metrics: Vec<CallMetric> = Vec::new();
    if metrics_tokens.2 {
        for (name, attribute, value) in [
            ("tokens.llm.input", "gen_ai.usage.input_tokens", metrics_tokens.0),
            ("tokens.llm.output", "gen_ai.usage.output_tokens", metrics_tokens.1),
        ] {
            metrics.push(CallMetric {
                name: name.to_string(),
                value: value as f64,
                unit: "tokens".to_string(),
                original: json!({ "sum_of": attribute }).to_string(),
                flag: None,
            });
        }
    }

    Ok(NormalizedCall {
        format: FORMAT_NAME.to_string(),
        vendor_call_id: spans
            .iter()
            .find_map(|span| span.text("conversation.id")),
        started_at_epoch_ms: i64::try_from(zero_ns / 1_000_000).ok(),
        duration_ms,
        utterances,
        findings,
        unknown_fields: unknown.into_json(),
        spans: service_spans,
        turn_metrics,
        metrics,
        vendor_analysis: conversation
            .and_then(|span| span.value.get("attributes"))
            .map_or_else(|| "{}".to_string(), Value::to_string),
        ..NormalizedCall::default()
    })
}

/// Builds one user utterance per `stt` transcript and one bot utterance per `tts`
/// text, in time order.
fn utterances(spans: &[ServiceSpan]) -> Vec<Utterance> {
    let mut spoken: Vec<(&ServiceSpan, Speaker)> = spans
        .iter()
        .filter_map(|span| match span.kind {
            SpanKind::Stt if span.text.as_deref().is_some_and(|text| !text.is_empty()) => {
                Some((span, Speaker::User))
            }
            SpanKind::Tts if span.text.as_deref().is_some_and(|text| !text.is_empty()) => {
                Some((span, Speaker::Bot))
            }
            _ => None,
        })
        .collect();
    spoken.sort_by_key(|(span, _)| span.start_ms);

    spoken
        .into_iter()
        .enumerate()
        .map(|(position, (span, speaker))| {
            // Audio starts playing once the first byte has arrived.
            let start_ms = match speaker {
                Speaker::Bot => span.start_ms + span.ttfb_ms.unwrap_or(0).max(0),
                _ => span.start_ms,
            };
            Utterance {
                index: u32::try_from(position).unwrap_or(u32::MAX),
                speaker,
                text: span.text.clone().unwrap_or_default(),
                start_ms,
                end_ms: span.end_ms.max(start_ms),
                words: Vec::new(),
                timing: TimingQuality::Approximate,
                original_times: span.original.clone(),
            }
        })
        .collect()
}

/// Completes each turn's values: the service TTFBs of its child spans, and, when
/// the turn has no `turn.user_bot_latency_seconds`, an approximate end-to-end value
/// from the end of its last `stt` span to the first audio of its first `tts` span.
fn turn_values(
    turns: Vec<(Span, TurnMetrics)>,
    spans: &[Span],
    service_spans: &[ServiceSpan],
    utterances: &[Utterance],
    duration_ms: Option<i64>,
) -> Vec<TurnMetrics> {
    let mut result = Vec::with_capacity(turns.len());
    for (turn_span, mut turn) in turns {
        let children: Vec<&Span> = spans
            .iter()
            .filter(|span| span.parent_span_id == turn_span.span_id)
            .collect();
        for child in &children {
            let name = match child.name.as_str() {
                "stt" | "llm" | "tts" => child.name.as_str(),
                _ => continue,
            };
            if let Some(ttfb) = child.attribute("metrics.ttfb") {
                let mut value: MetricValue =
                    metric_value(name, &child.pointer("metrics.ttfb"), ttfb, 1000.0, "s", duration_ms);
                value.name = format!("{name}_ttfb");
                turn.values.push(value);
            }
        }

        let mine: Vec<&ServiceSpan> = service_spans
            .iter()
            .filter(|span| span.turn_number == Some(turn.turn_number))
            .collect();
        let first_tts = mine
            .iter()
            .filter(|span| span.kind == SpanKind::Tts)
            .min_by_key(|span| span.start_ms);
        if let Some(tts) = first_tts {
            let audio_start = tts.start_ms + tts.ttfb_ms.unwrap_or(0).max(0);
            turn.utterance_index = utterances
                .iter()
                .find(|utterance| utterance.speaker == Speaker::Bot && utterance.start_ms == audio_start)
                .map(|utterance| utterance.index);

            let has_e2e = turn.values.iter().any(|value| value.name == "e2e");
            let last_stt = mine
                .iter()
                .filter(|span| span.kind == SpanKind::Stt)
                .max_by_key(|span| span.end_ms);
            if !has_e2e && let Some(stt) = last_stt {
                turn.values.push(span_value(
                    "e2e",
                    stt.end_ms,
                    audio_start,
                    json!({
                        "derived": "spans",
                        "anchor": "stt-span-end",
                        "stop": "tts-span-start-plus-ttfb",
                    }),
                    TimingQuality::Approximate,
                    duration_ms,
                ));
            }
        }
        result.push(turn);
    }
    result.sort_by_key(|turn| turn.turn_number);
    result
}

