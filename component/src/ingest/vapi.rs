//! Vapi end-of-call report, the server message Vapi sends when a call has ended and
//! its post-processing is done.
//!
//! Both the server message wrapper `{"message": {"type": "end-of-call-report", ...}}`
//! and the bare message are accepted. Known keys follow Vapi's published OpenAPI
//! schema (`ServerMessageEndOfCallReport`, `Artifact`, `Recording`, the message
//! schemas per role); every other key is kept in `unknown_fields`.
//!
//! Clocks: `startedAt`/`endedAt` are ISO 8601, each message's `time`/`endTime` are
//! Unix epoch milliseconds, `secondsFromStart` is seconds from the call start, and
//! `duration` is documented as seconds while captured payloads carry milliseconds.
//! Zero on the recording is the call start: `startedAt`, else the first message's
//! `time - secondsFromStart * 1000`.

use callscope_api_types::{Finding, NormalizedCall, Speaker, TimingQuality, Utterance};
use serde_json::{Map, Value};

use super::IngestError;
use super::json::{UnknownFields, pointer_join, round_ms, time_number};
use super::timestamp::parse_rfc3339_ms;

mod metrics;
mod times;

use super::turn_metrics;
use times::{MessageClock, MessageTimes};

/// Name of this format in `detect_format` results and `NormalizedCall::format`.
pub const FORMAT_NAME: &str = "vapi-end-of-call-report";

/// Value of `type` that marks an end-of-call report.
const REPORT_TYPE: &str = "end-of-call-report";

/// Keys of the server message wrapper.
const WRAPPER_KEYS: &[&str] = &["message"];

/// Keys of `ServerMessageEndOfCallReport`, plus the legacy recording URLs older
/// reports carry at this level.
const REPORT_KEYS: &[&str] = &[
    "phoneNumber",
    "assistantVersion",
    "type",
    "endedReason",
    "cost",
    "costs",
    "destination",
    "timestamp",
    "artifact",
    "assistant",
    "customer",
    "call",
    "chat",
    "analysis",
    "startedAt",
    "endedAt",
    "compliance",
    "recordingUrl",
    "stereoRecordingUrl",
];

const ARTIFACT_KEYS: &[&str] = &[
    "messages",
    "messagesOpenAIFormatted",
    "skippedStructuredOutputs",
    "transfers",
    "recordingUrl",
    "stereoRecordingUrl",
    "videoRecordingUrl",
    "videoRecordingStartDelaySeconds",
    "recording",
    "transcript",
    "pcapUrl",
    "logUrl",
    "nodes",
    "assistantActivations",
    "variableValues",
    "performanceMetrics",
    "structuredOutputs",
    "scorecards",
    "structuredOutputsLastUpdatedAt",
    "presignedMonoUrl",
    "presignedStereoUrl",
    "presignedVideoUrl",
    "presignedAssistantUrl",
    "presignedCustomerUrl",
    "presignedPcapUrl",
    "presignedLogUrl",
    "presignedUrlsExpiresAt",
];

const RECORDING_KEYS: &[&str] = &[
    "stereoUrl",
    "videoUrl",
    "videoRecordingStartDelaySeconds",
    "mono",
];

const MONO_KEYS: &[&str] = &["combinedUrl", "assistantUrl", "customerUrl"];

const USER_MESSAGE_KEYS: &[&str] = &[
    "role",
    "message",
    "time",
    "endTime",
    "secondsFromStart",
    "duration",
    "isFiltered",
    "detectedThreats",
    "originalMessage",
    "metadata",
    "speakerLabel",
];

/// `BotMessage` keys. The schema gives `metadata` (which carries word timings) only
/// to user messages; it is read on bot messages too when present.
const BOT_MESSAGE_KEYS: &[&str] = &[
    "role",
    "message",
    "time",
    "endTime",
    "secondsFromStart",
    "source",
    "duration",
    "assistantName",
    "assistantId",
    "metadata",
];

const SYSTEM_MESSAGE_KEYS: &[&str] = &["role", "message", "time", "secondsFromStart"];

const TOOL_CALL_MESSAGE_KEYS: &[&str] =
    &["role", "toolCalls", "message", "time", "secondsFromStart"];

const TOOL_CALL_RESULT_MESSAGE_KEYS: &[&str] = &[
    "role",
    "toolCallId",
    "name",
    "result",
    "time",
    "secondsFromStart",
    "metadata",
    "warnings",
];

/// Returns whether `root` is an end-of-call report, wrapped or bare.
pub fn matches(root: &Value) -> bool {
    report_message(root).is_some()
}

/// Normalises an end-of-call report.
pub fn normalize(root: &Value) -> Result<NormalizedCall, IngestError> {
    let (report, report_pointer) = report_message(root).ok_or_else(|| {
        IngestError::InvalidPayload(format!(
            "no object with \"type\": \"{REPORT_TYPE}\" at the top level or under \"message\""
        ))
    })?;
    let mut parser = Parser::default();

    if let Some(wrapper) = root.as_object().filter(|_| !report_pointer.is_empty()) {
        parser.unknown.collect(wrapper, "", WRAPPER_KEYS);
    }
    parser.unknown.collect(report, report_pointer, REPORT_KEYS);

    let artifact_pointer = pointer_join(report_pointer, "artifact");
    let artifact = report
        .get("artifact")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            IngestError::InvalidPayload(format!(
                "{artifact_pointer} is missing or not an object; an end-of-call report \
             carries its messages there"
            ))
        })?;
    parser
        .unknown
        .collect(artifact, &artifact_pointer, ARTIFACT_KEYS);

    let messages_pointer = pointer_join(&artifact_pointer, "messages");
    let messages: &[Value] = match artifact.get("messages") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(messages)) => messages,
        Some(_) => {
            return Err(IngestError::InvalidPayload(format!(
                "{messages_pointer} is not an array; expected the call's messages"
            )));
        }
    };

    let vendor_call_id = report
        .get("call")
        .and_then(|call| call.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let started_at = parser.call_timestamp(report, report_pointer, "startedAt");
    let ended_at = parser.call_timestamp(report, report_pointer, "endedAt");
    let zero_epoch_ms = started_at.or_else(|| zero_from_first_message(messages));
    let duration_ms = parser.call_duration(started_at, ended_at, report_pointer);

    let recording_urls = recording_urls(report, artifact, &artifact_pointer, &mut parser.unknown);

    let clock = MessageClock {
        zero_epoch_ms,
        call_duration_ms: duration_ms,
    };
    let utterances = parser.utterances(messages, &messages_pointer, &clock);

    let responses = turn_metrics::response_indices(&utterances);
    let mut turns = metrics::turn_latencies(
        artifact,
        &artifact_pointer,
        &responses,
        duration_ms,
        &mut parser.unknown,
    );
    if let Some(wait_ms) = metrics::configured_wait_ms(report) {
        turn_metrics::flag_configuration_default(&mut turns, "endpointing", &[wait_ms]);
    }
    let mut call_metrics = metrics::costs(report, report_pointer);
    call_metrics.extend(metrics::latency_averages(
        artifact,
        &artifact_pointer,
        duration_ms,
    ));

    Ok(NormalizedCall {
        format: FORMAT_NAME.to_string(),
        vendor_call_id,
        started_at_epoch_ms: zero_epoch_ms,
        duration_ms,
        utterances,
        findings: parser.findings,
        unknown_fields: parser.unknown.into_json(),
        recording_urls,
        turn_metrics: turns,
        metrics: call_metrics,
        ended_reason: report
            .get("endedReason")
            .and_then(Value::as_str)
            .map(str::to_string),
        vendor_analysis: report
            .get("analysis")
            .filter(|analysis| analysis.is_object())
            .map_or_else(|| "{}".to_string(), Value::to_string),
        ..NormalizedCall::default()
    })
}

/// Returns the report object and its JSON pointer (`/message` when wrapped).
fn report_message(root: &Value) -> Option<(&Map<String, Value>, &'static str)> {
    let is_report = |object: &Map<String, Value>| {
        object.get("type").and_then(Value::as_str) == Some(REPORT_TYPE)
    };

    let root = root.as_object()?;
    if let Some(message) = root.get("message").and_then(Value::as_object)
        && is_report(message)
    {
        return Some((message, "/message"));
    }
    is_report(root).then_some((root, ""))
}

/// Derives the call start from the first message that has both clocks, for reports
/// without `startedAt`.
fn zero_from_first_message(messages: &[Value]) -> Option<i64> {
    messages.iter().find_map(|message| {
        let time = time_number(message.get("time"))?;
        let seconds = time_number(message.get("secondsFromStart"))?;
        Some(round_ms(time - seconds * 1000.0))
    })
}

/// Collects recording URLs from the current `artifact.recording` object and the
/// deprecated flat fields, without duplicates.
fn recording_urls(
    report: &Map<String, Value>,
    artifact: &Map<String, Value>,
    artifact_pointer: &str,
    unknown: &mut UnknownFields,
) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let mut add = |value: Option<&Value>| {
        if let Some(url) = value.and_then(Value::as_str).filter(|url| !url.is_empty())
            && !urls.iter().any(|known| known == url)
        {
            urls.push(url.to_string());
        }
    };

    if let Some(recording) = artifact.get("recording").and_then(Value::as_object) {
        let recording_pointer = pointer_join(artifact_pointer, "recording");
        unknown.collect(recording, &recording_pointer, RECORDING_KEYS);
        add(recording.get("stereoUrl"));

        if let Some(mono) = recording.get("mono").and_then(Value::as_object) {
            unknown.collect(mono, &pointer_join(&recording_pointer, "mono"), MONO_KEYS);
            add(mono.get("combinedUrl"));
            add(mono.get("assistantUrl"));
            add(mono.get("customerUrl"));
        }
    }

    add(artifact.get("stereoRecordingUrl"));
    add(artifact.get("recordingUrl"));
    add(report.get("stereoRecordingUrl"));
    add(report.get("recordingUrl"));
    urls
}

/// State gathered while one report is parsed.
#[derive(Default)]
struct Parser {
    findings: Vec<Finding>,
    unknown: UnknownFields,
}

impl Parser {
    fn finding(&mut self, code: &str, path: String, message: String) {
        self.findings.push(Finding {
            code: code.to_string(),
            path,
            message,
        });
    }

    /// Reads `key` (`startedAt` or `endedAt`) from the report, else from its `call`
    /// object, as epoch milliseconds.
    fn call_timestamp(
        &mut self,
        report: &Map<String, Value>,
        report_pointer: &str,
        key: &str,
    ) -> Option<i64> {
        let (value, path) = match report.get(key) {
            Some(value) => (value, pointer_join(report_pointer, key)),
            None => {
                let value = report.get("call")?.get(key)?;
                (
                    value,
                    pointer_join(&pointer_join(report_pointer, "call"), key),
                )
            }
        };

        let parsed = value.as_str().and_then(parse_rfc3339_ms);
        if parsed.is_none() {
            self.finding(
                "invalid-timestamp",
                path,
                format!("{key} is {value}, not an ISO 8601 date-time with a zone; ignored"),
            );
        }
        parsed
    }

    fn call_duration(
        &mut self,
        started_at: Option<i64>,
        ended_at: Option<i64>,
        report_pointer: &str,
    ) -> Option<i64> {
        let (started_at, ended_at) = (started_at?, ended_at?);
        if ended_at < started_at {
            self.finding(
                "end-before-start",
                pointer_join(report_pointer, "endedAt"),
                format!(
                    "endedAt is {} ms before startedAt; the call duration is unknown",
                    started_at - ended_at
                ),
            );
            return None;
        }
        Some(ended_at - started_at)
    }

    fn utterances(
        &mut self,
        messages: &[Value],
        messages_pointer: &str,
        clock: &MessageClock,
    ) -> Vec<Utterance> {
        let mut utterances = Vec::with_capacity(messages.len());
        let mut clock_mismatches = times::ClockMismatches::default();

        for (position, message) in messages.iter().enumerate() {
            let pointer = format!("{messages_pointer}/{position}");
            let Some(object) = message.as_object() else {
                self.finding(
                    "invalid-message",
                    pointer.clone(),
                    "message is not an object; kept in unknown fields".to_string(),
                );
                self.unknown.insert(pointer, message.clone());
                continue;
            };

            let role = object.get("role").and_then(Value::as_str).unwrap_or("");
            let Some((speaker, known_keys)) = speaker_for_role(role) else {
                self.finding(
                    "unknown-role",
                    pointer_join(&pointer, "role"),
                    format!(
                        "role {role:?} is not one of system, bot, assistant, user, tool_calls, \
                         tool_call_result; message kept in unknown fields"
                    ),
                );
                self.unknown.insert(pointer, message.clone());
                continue;
            };
            self.unknown.collect(object, &pointer, known_keys);

            let previous_end_ms = utterances
                .last()
                .map_or(0, |utterance: &Utterance| utterance.end_ms);
            let resolved = times::resolve(
                MessageTimes::read(object),
                speaker,
                clock,
                previous_end_ms,
                &pointer,
                &mut clock_mismatches,
            );
            let mut resolved = resolved;
            self.findings.append(&mut resolved.findings);

            let words_pointer = format!("{pointer}/metadata/wordLevelConfidence");
            let words = match object
                .get("metadata")
                .and_then(|metadata| metadata.get("wordLevelConfidence"))
            {
                Some(Value::Array(items)) => {
                    let words =
                        times::words(items, &words_pointer, &resolved, clock, &mut self.unknown);
                    self.findings.extend(words.findings);
                    words.words
                }
                _ => Vec::new(),
            };

            let index = u32::try_from(utterances.len()).unwrap_or(u32::MAX);
            utterances.push(Utterance {
                index,
                speaker,
                text: message_text(object),
                start_ms: resolved.start_ms,
                end_ms: resolved.end_ms,
                words,
                timing: if resolved.exact {
                    TimingQuality::Exact
                } else {
                    TimingQuality::Approximate
                },
                original_times: original_times(object),
            });
        }

        self.findings
            .extend(clock_mismatches.into_finding(messages_pointer));
        utterances
    }
}

/// Maps a Vapi role to a speaker and the keys its message schema defines. Vapi's
/// documentation example uses `assistant` for the bot, so both spellings are read.
fn speaker_for_role(role: &str) -> Option<(Speaker, &'static [&'static str])> {
    match role {
        "user" => Some((Speaker::User, USER_MESSAGE_KEYS)),
        "bot" | "assistant" => Some((Speaker::Bot, BOT_MESSAGE_KEYS)),
        "system" => Some((Speaker::System, SYSTEM_MESSAGE_KEYS)),
        "tool_calls" => Some((Speaker::Tool, TOOL_CALL_MESSAGE_KEYS)),
        "tool_call_result" => Some((Speaker::Tool, TOOL_CALL_RESULT_MESSAGE_KEYS)),
        _ => None,
    }
}

/// Returns the spoken text; for a tool call each function with its arguments, and
/// for a tool result (which has no `message`) the tool's name and result.
fn message_text(object: &Map<String, Value>) -> String {
    if let Some(text) = object
        .get("message")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
    {
        return text.to_string();
    }
    if let Some(calls) = object.get("toolCalls").and_then(Value::as_array) {
        return calls
            .iter()
            .map(|call| {
                let function = call.get("function");
                let name = function
                    .and_then(|function| function.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let arguments = function
                    .and_then(|function| function.get("arguments"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                format!("{name}({arguments})")
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    let name = object.get("name").and_then(Value::as_str).unwrap_or("");
    match object.get("result") {
        Some(Value::String(result)) => format!("{name}: {result}")
            .trim_start_matches(": ")
            .to_string(),
        Some(result) => format!("{name}: {result}"),
        None => name.to_string(),
    }
}

/// Returns the message's own time fields, verbatim, as a JSON object.
fn original_times(object: &Map<String, Value>) -> String {
    let times: Map<String, Value> = ["time", "endTime", "secondsFromStart", "duration"]
        .into_iter()
        .filter_map(|key| Some((key.to_string(), object.get(key)?.clone())))
        .collect();
    Value::Object(times).to_string()
}
