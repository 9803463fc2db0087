//! Message and word times of a Vapi report, normalised to milliseconds from the call
//! start, with a finding for every value that cannot be right.

use callscope_api_types::{Finding, Speaker, Word};
use serde_json::{Map, Value};

use crate::ingest::json::{UnknownFields, pointer_join, round_ms, time_number};

/// Largest difference between a message's `time` (against the call start) and its
/// `secondsFromStart` that counts as the same instant. Vapi rounds neither, so a
/// larger gap means the two clocks disagree.
const CLOCK_MISMATCH_TOLERANCE_MS: i64 = 500;

/// Smallest absolute tolerance when matching `duration` against `endTime - time`.
/// The relative tolerance is a tenth of the span.
const DURATION_TOLERANCE_MS: i64 = 100;

/// How far past `endedAt` a message may end before it counts as beyond the call.
/// Message clocks and the call's end are stamped by different services.
const BEYOND_CALL_TOLERANCE_MS: i64 = 1_000;

/// How far outside its message a word may lie and still count as part of it.
/// Transcriber clocks run slightly apart from the message clock.
const WORD_SPAN_TOLERANCE_MS: i64 = 1_000;

/// The call-wide clock that message times are placed on.
pub struct MessageClock {
    /// Epoch milliseconds of the call start, when known.
    pub zero_epoch_ms: Option<i64>,
    /// Length of the call from `startedAt` to `endedAt`, when known.
    pub call_duration_ms: Option<i64>,
}

impl MessageClock {
    fn beyond_call(&self, ms: i64) -> bool {
        self.call_duration_ms
            .is_some_and(|duration| ms > duration + BEYOND_CALL_TOLERANCE_MS)
    }
}

/// A message's time fields as numbers, and the names of those that are present
/// but not usable numbers.
pub struct MessageTimes {
    time: Option<f64>,
    end_time: Option<f64>,
    seconds_from_start: Option<f64>,
    duration: Option<f64>,
    invalid: Vec<&'static str>,
}

impl MessageTimes {
    pub fn read(object: &Map<String, Value>) -> Self {
        let mut invalid = Vec::new();
        let mut read = |key: &'static str| {
            let value = object.get(key).filter(|value| !value.is_null());
            let number = time_number(value);
            if value.is_some() && number.is_none() {
                invalid.push(key);
            }
            number
        };

        Self {
            time: read("time"),
            end_time: read("endTime"),
            seconds_from_start: read("secondsFromStart"),
            duration: read("duration"),
            invalid,
        }
    }
}

/// A message's place on the recording.
pub struct ResolvedTimes {
    pub start_ms: i64,
    pub end_ms: i64,
    /// False when a value was missing, repaired or guessed.
    pub exact: bool,
    pub findings: Vec<Finding>,
}

/// Messages whose `time` and `secondsFromStart` disagree, reported as one finding
/// because a skewed clock usually affects every message.
#[derive(Default)]
pub struct ClockMismatches {
    count: usize,
    first_pointer: Option<String>,
    largest_ms: i64,
}

impl ClockMismatches {
    fn observe(&mut self, pointer: &str, difference_ms: i64) {
        if difference_ms.abs() <= CLOCK_MISMATCH_TOLERANCE_MS {
            return;
        }
        self.count += 1;
        self.first_pointer
            .get_or_insert_with(|| pointer.to_string());
        if difference_ms.abs() > self.largest_ms.abs() {
            self.largest_ms = difference_ms;
        }
    }

    pub fn into_finding(self, messages_pointer: &str) -> Option<Finding> {
        let first = self.first_pointer?;
        Some(Finding {
            code: "clock-mismatch".to_string(),
            path: first,
            message: format!(
                "in {} message(s) under {messages_pointer}, time minus the call start differs \
                 from secondsFromStart by more than {CLOCK_MISMATCH_TOLERANCE_MS} ms (largest \
                 {} ms); times follow time and startedAt",
                self.count, self.largest_ms
            ),
        })
    }
}

/// Places one message on the recording.
///
/// The start comes from `time` when the call start is known, else from
/// `secondsFromStart`; the end from `endTime`, else from start plus `duration`. A
/// candidate that is negative, ends before the start, or lies beyond the call is
/// reported and the next candidate is tried. When none is left, the start falls back
/// to the previous message's end and the end to the start (or the call's end), and
/// the timing is marked approximate.
pub fn resolve(
    times: MessageTimes,
    speaker: Speaker,
    clock: &MessageClock,
    previous_end_ms: i64,
    pointer: &str,
    mismatches: &mut ClockMismatches,
) -> ResolvedTimes {
    let mut resolver = Resolver {
        pointer,
        clock,
        findings: Vec::new(),
        exact: true,
    };

    for key in &times.invalid {
        resolver.report(
            "invalid-number",
            key,
            format!("{key} is not a finite number of plausible size; ignored"),
        );
    }

    let from_time = clock
        .zero_epoch_ms
        .zip(times.time)
        .map(|(zero, time)| round_ms(time) - zero);
    let from_seconds = times
        .seconds_from_start
        .map(|seconds| round_ms(seconds * 1000.0));
    if let (Some(by_time), Some(by_seconds)) = (from_time, from_seconds) {
        mismatches.observe(pointer, by_time - by_seconds);
    }
    let start_ms = resolver.start(
        [(from_time, "time"), (from_seconds, "secondsFromStart")],
        previous_end_ms,
    );

    let span_ms = times
        .time
        .zip(times.end_time)
        .map(|(time, end)| round_ms(end) - round_ms(time));
    let from_end_time = match (clock.zero_epoch_ms, times.end_time) {
        (Some(zero), Some(end)) => Some(round_ms(end) - zero),
        (None, Some(_)) => span_ms.map(|span| start_ms + span),
        _ => None,
    };
    let duration_ms = times
        .duration
        .and_then(|duration| resolver.duration(duration, span_ms, start_ms));
    let from_duration = duration_ms.map(|duration| start_ms + duration);
    let end_ms = resolver.end(
        [(from_end_time, "endTime"), (from_duration, "duration")],
        start_ms,
        speaker,
    );

    ResolvedTimes {
        start_ms,
        end_ms,
        exact: resolver.exact,
        findings: resolver.findings,
    }
}

struct Resolver<'a> {
    pointer: &'a str,
    clock: &'a MessageClock,
    findings: Vec<Finding>,
    exact: bool,
}

impl Resolver<'_> {
    fn report(&mut self, code: &str, key: &str, message: String) {
        self.exact = false;
        self.findings.push(Finding {
            code: code.to_string(),
            path: pointer_join(self.pointer, key),
            message,
        });
    }

    fn start(&mut self, candidates: [(Option<i64>, &str); 2], previous_end_ms: i64) -> i64 {
        let mut any = false;
        for (candidate, key) in candidates {
            let Some(ms) = candidate else { continue };
            any = true;
            if ms < 0 {
                self.report(
                    "negative-time",
                    key,
                    format!(
                        "{key} places the message {} ms before the call start; ignored",
                        -ms
                    ),
                );
            } else if self.clock.beyond_call(ms) {
                self.report(
                    "beyond-call-end",
                    key,
                    format!(
                        "{key} places the message start at {ms} ms, after the call ended; ignored"
                    ),
                );
            } else {
                return ms;
            }
        }

        let message = if any {
            format!(
                "no usable start time; placed at the previous message's end, {previous_end_ms} ms"
            )
        } else {
            format!("message has neither time nor secondsFromStart; placed at {previous_end_ms} ms")
        };
        self.report("missing-time", "time", message);
        previous_end_ms
    }

    fn end(
        &mut self,
        candidates: [(Option<i64>, &str); 2],
        start_ms: i64,
        speaker: Speaker,
    ) -> i64 {
        let mut beyond_call = false;
        let mut any = false;
        for (candidate, key) in candidates {
            let Some(ms) = candidate else { continue };
            any = true;
            if ms < start_ms {
                self.report(
                    "end-before-start",
                    key,
                    format!(
                        "{key} ends the message {} ms before it starts; ignored",
                        start_ms - ms
                    ),
                );
            } else if self.clock.beyond_call(ms) {
                beyond_call = true;
                self.report(
                    "beyond-call-end",
                    key,
                    format!("{key} ends the message at {ms} ms, after the call ended; ignored"),
                );
            } else {
                return ms;
            }
        }

        if beyond_call && let Some(call_end) = self.clock.call_duration_ms {
            self.exact = false;
            return call_end.max(start_ms);
        }
        // System prompts and tool messages have no end by schema; spoken messages do.
        if !any && speaker.is_audible() {
            self.report(
                "missing-end-time",
                "endTime",
                "spoken message has neither endTime nor duration; treated as instantaneous"
                    .to_string(),
            );
        }
        start_ms
    }

    /// Resolves `duration` to milliseconds from the message's own `endTime - time`
    /// span: the number is read as milliseconds or as seconds, whichever matches.
    /// Without a span the unit is ambiguous, so milliseconds are taken and a finding
    /// records the choice.
    fn duration(&mut self, duration: f64, span_ms: Option<i64>, start_ms: i64) -> Option<i64> {
        if duration < 0.0 {
            self.report(
                "negative-time",
                "duration",
                format!("duration is {duration}, negative; ignored"),
            );
            return None;
        }
        let as_ms = round_ms(duration);
        let as_seconds = round_ms(duration * 1000.0);

        if let Some(span) = span_ms {
            let tolerance = DURATION_TOLERANCE_MS.max(span.abs() / 10);
            if (as_ms - span).abs() <= tolerance {
                return Some(as_ms);
            }
            if (as_seconds - span).abs() <= tolerance {
                return Some(as_seconds);
            }
            self.report(
                "duration-mismatch",
                "duration",
                format!(
                    "duration {duration} matches endTime - time = {span} ms neither as \
                     milliseconds nor as seconds; the end follows endTime"
                ),
            );
            return None;
        }

        // Read as seconds a duration is always the longer of the two, so the call's
        // end can only rule seconds out, never milliseconds.
        let reason = if self.clock.beyond_call(start_ms + as_seconds) {
            "read as seconds the message would end after the call"
        } else {
            "as captured reports carry it, although the schema documents seconds"
        };
        self.report(
            "duration-unit-ambiguous",
            "duration",
            format!(
                "duration {duration} has no endTime to compare with; read as {as_ms} ms \
                 ({reason})"
            ),
        );
        Some(as_ms)
    }
}

/// Words of one message and what was wrong with them.
pub struct ParsedWords {
    pub words: Vec<Word>,
    pub findings: Vec<Finding>,
}

/// Mapping of a transcriber's word offsets to milliseconds from the call start. The
/// unit depends on the transcriber (seconds for Deepgram, milliseconds for
/// AssemblyAI), so it is chosen by which reading fits inside the message.
#[derive(Clone, Copy, Debug)]
enum WordClock {
    SecondsFromStart,
    MillisecondsFromStart,
    EpochMilliseconds(i64),
}

impl WordClock {
    fn to_ms(self, value: f64) -> i64 {
        match self {
            WordClock::SecondsFromStart => round_ms(value * 1000.0),
            WordClock::MillisecondsFromStart => round_ms(value),
            WordClock::EpochMilliseconds(zero) => round_ms(value) - zero,
        }
    }
}

const WORD_KEYS: &[&str] = &[
    "word",
    "start",
    "end",
    "confidence",
    "punctuated_word",
    "language",
    "speaker",
];

/// Reads `metadata.wordLevelConfidence` of a message placed at `message`.
pub fn words(
    items: &[Value],
    pointer: &str,
    message: &ResolvedTimes,
    clock: &MessageClock,
    unknown: &mut UnknownFields,
) -> ParsedWords {
    let mut findings = Vec::new();
    let mut raw = Vec::with_capacity(items.len());

    for (position, item) in items.iter().enumerate() {
        let item_pointer = format!("{pointer}/{position}");
        let Some(object) = item.as_object() else {
            findings.push(word_finding(
                "invalid-word",
                item_pointer,
                "word is not an object; skipped",
            ));
            continue;
        };
        unknown.collect(object, &item_pointer, WORD_KEYS);

        let text = object
            .get("punctuated_word")
            .or_else(|| object.get("word"))
            .and_then(Value::as_str);
        let start = time_number(object.get("start"));
        let end = time_number(object.get("end"));
        let (Some(text), Some(start), Some(end)) = (text, start, end) else {
            findings.push(word_finding(
                "invalid-word",
                item_pointer,
                "word lacks a text, start or end number; skipped",
            ));
            continue;
        };
        if end < start {
            findings.push(word_finding(
                "end-before-start",
                item_pointer,
                "word ends before it starts; skipped",
            ));
            continue;
        }
        let confidence = object
            .get("confidence")
            .and_then(Value::as_f64)
            .filter(|confidence| confidence.is_finite())
            .map(|confidence| confidence as f32);
        raw.push((text.to_string(), start, end, confidence));
    }

    if raw.is_empty() {
        return ParsedWords {
            words: Vec::new(),
            findings,
        };
    }
    if raw
        .iter()
        .all(|(_, start, end, _)| *start == 0.0 && *end == 0.0)
    {
        findings.push(word_finding(
            "word-times-placeholder",
            pointer.to_string(),
            "every word starts and ends at 0, the placeholder of transcribers without word timing; \
             word times dropped",
        ));
        return ParsedWords {
            words: Vec::new(),
            findings,
        };
    }

    let mut clocks = vec![
        WordClock::SecondsFromStart,
        WordClock::MillisecondsFromStart,
    ];
    if let Some(zero) = clock.zero_epoch_ms {
        clocks.push(WordClock::EpochMilliseconds(zero));
    }
    let best = clocks
        .into_iter()
        .filter_map(|word_clock| Some((word_clock, fit_error(&raw, word_clock, message)?)))
        .min_by_key(|(_, error)| *error);

    let Some((word_clock, _)) = best else {
        findings.push(word_finding(
            "word-times-outside-message",
            pointer.to_string(),
            &format!(
                "word times fit inside the message ({}..{} ms) neither as seconds nor as \
                 milliseconds from the call start; word times dropped",
                message.start_ms, message.end_ms
            ),
        ));
        return ParsedWords {
            words: Vec::new(),
            findings,
        };
    };

    let words = raw
        .into_iter()
        .map(|(text, start, end, confidence)| Word {
            text,
            start_ms: word_clock.to_ms(start),
            end_ms: word_clock.to_ms(end),
            confidence,
        })
        .collect();
    ParsedWords { words, findings }
}

/// Returns how far the words' first start and last end lie from the message's, or
/// `None` when some word falls outside the message under this clock.
fn fit_error(
    raw: &[(String, f64, f64, Option<f32>)],
    word_clock: WordClock,
    message: &ResolvedTimes,
) -> Option<i64> {
    let low = message.start_ms - WORD_SPAN_TOLERANCE_MS;
    let high = message.end_ms + WORD_SPAN_TOLERANCE_MS;
    let mut first_start = i64::MAX;
    let mut last_end = i64::MIN;

    for (_, start, end, _) in raw {
        let (start, end) = (word_clock.to_ms(*start), word_clock.to_ms(*end));
        if start < low.max(0) || end > high {
            return None;
        }
        first_start = first_start.min(start);
        last_end = last_end.max(end);
    }
    Some((first_start - message.start_ms).abs() + (last_end - message.end_ms).abs())
}

fn word_finding(code: &str, path: String, message: &str) -> Finding {
    Finding {
        code: code.to_string(),
        path,
        message: message.to_string(),
    }
}
