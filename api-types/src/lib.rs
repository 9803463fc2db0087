//! Types that cross a boundary in callscope: the component library's results, the
//! host's JSON API and the widget's view of it. One definition keeps the three from
//! drifting apart.
//!
//! Times named `*_ms` are milliseconds from the start of the recording unless the name
//! says otherwise. A call without a recording uses the first event as its zero.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod audio;
pub mod review;

pub use api::*;
pub use audio::*;
pub use review::*;

/// The party that produced an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The caller.
    User,
    /// The voice bot.
    Bot,
    /// A system prompt or other text that was not spoken.
    System,
    /// A tool call or tool result.
    Tool,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Bot => "bot",
            Speaker::System => "system",
            Speaker::Tool => "tool",
        }
    }

    /// Returns whether the speaker is heard on the recording.
    pub fn is_audible(self) -> bool {
        matches!(self, Speaker::User | Speaker::Bot)
    }
}

/// How far a time can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimingQuality {
    /// Taken from a time the vendor measured for this very item.
    Exact,
    /// Derived from a neighbouring anchor, such as a message time without word times.
    Approximate,
}

/// One word with its time on the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub confidence: Option<f32>,
}

/// One message of a call as the vendor reported it, with times normalised to
/// milliseconds from the recording start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// Position in the call's utterance list, starting at 0.
    pub index: u32,
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub words: Vec<Word>,
    pub timing: TimingQuality,
    /// The vendor's own time fields for this message, verbatim, as a JSON object.
    pub original_times: String,
}

/// Something in a payload or recording that is wrong or suspicious but did not stop
/// processing, such as a value flagged as impossible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable machine-readable code, for example `duration-unit-ambiguous`.
    pub code: String,
    /// Location in the input, as a JSON pointer (`/message/artifact/messages/3/duration`).
    pub path: String,
    pub message: String,
}

/// The kind of service a span measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// Speech to text.
    Stt,
    /// The language model.
    Llm,
    /// Text to speech.
    Tts,
    /// A tool or function call.
    Tool,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Stt => "stt",
            SpanKind::Llm => "llm",
            SpanKind::Tts => "tts",
            SpanKind::Tool => "tool",
        }
    }
}

/// One request to a speech, language-model or tool service during a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpan {
    pub kind: SpanKind,
    /// The vendor's turn number the span belongs to, when it reports one.
    pub turn_number: Option<u32>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Time to first byte (first token for a language model), in milliseconds.
    pub ttfb_ms: Option<i64>,
    /// Service provider, for example `deepgram` or `openai`.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Transcript, generated text or spoken text of the span.
    pub text: Option<String>,
    /// Whether the user interrupted the turn this span belongs to.
    pub interrupted: bool,
    /// The span's attributes and times as the vendor sent them, as a JSON object.
    pub original: String,
}

/// Reason a measured value is kept out of percentiles.
pub mod metric_flag {
    /// The value is below zero.
    pub const NEGATIVE: &str = "negative";
    /// The value is longer than the whole call.
    pub const LONGER_THAN_CALL: &str = "longer-than-call";
    /// The value has the size of an epoch timestamp, not of a delay.
    pub const EPOCH_SIZED: &str = "epoch-sized";
    /// The measurement stops before it starts.
    pub const STOP_BEFORE_START: &str = "stop-before-start";
    /// The same value on every turn, equal to a known configuration default.
    pub const CONFIGURATION_DEFAULT: &str = "configuration-default";
    /// Measured on a turn the user interrupted.
    pub const INTERRUPTED: &str = "interrupted";
}

/// One latency value the vendor reported (or callscope derived) for one turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// `stt`, `llm`, `tts`, `endpointing`, `e2e`, `turn`, or a vendor-specific name.
    pub name: String,
    /// The value in milliseconds; `None` when the vendor's value is not a number.
    pub value_ms: Option<i64>,
    /// Source of the value with its original value and unit, as a JSON object
    /// such as `{"path":"/message/artifact/performanceMetrics/turnLatencies/3/modelLatency","value":812,"unit":"ms"}`.
    pub original: String,
    pub quality: TimingQuality,
    /// Reason the value is excluded from percentiles (see [`metric_flag`]); `None` when
    /// it counts.
    pub flag: Option<String>,
}

/// The vendor's latency values for one turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnMetrics {
    /// The vendor's turn number, or its position when the vendor has none, from 0.
    pub turn_number: u32,
    /// Index of the bot utterance that replies in this turn, when it can be matched.
    pub utterance_index: Option<u32>,
    /// Whether the user interrupted the bot in this turn.
    pub interrupted: bool,
    pub values: Vec<MetricValue>,
}

/// A call-level number the vendor reported, such as a cost or its own percentile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallMetric {
    /// Dotted name, for example `cost.total` or `vendor.latency.e2e.p50`.
    pub name: String,
    pub value: f64,
    /// Unit of `value`, for example `ms`, `usd`, `cents` or `tokens`.
    pub unit: String,
    /// The value and its JSON pointer as the vendor sent them, as a JSON object.
    pub original: String,
    pub flag: Option<String>,
}

/// Percentiles of one per-turn latency, computed by callscope from the turn
/// metrics that carry no flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyPercentiles {
    /// The metric name, as in [`MetricValue::name`].
    pub name: String,
    pub p50_ms: i64,
    pub p90_ms: i64,
    pub p95_ms: i64,
    pub p99_ms: i64,
    /// Number of values the percentiles are computed from.
    pub count: u32,
    /// Number of values left out because they carry a flag.
    pub excluded: u32,
}

/// A vendor payload normalised into callscope's model of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedCall {
    /// Format the payload was parsed as, for example `vapi-end-of-call-report`.
    pub format: String,
    /// The vendor's id for the call, when the payload has one.
    pub vendor_call_id: Option<String>,
    /// Wall-clock start of the recording in Unix epoch milliseconds, when known.
    pub started_at_epoch_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub utterances: Vec<Utterance>,
    pub findings: Vec<Finding>,
    /// Keys the parser did not recognise, kept verbatim as one JSON object keyed by
    /// JSON pointer.
    pub unknown_fields: String,
    /// Recording URLs named in the payload; never fetched by the component.
    pub recording_urls: Vec<String>,
    /// Service requests (speech to text, language model, text to speech, tools).
    #[serde(default)]
    pub spans: Vec<ServiceSpan>,
    /// The vendor's per-turn latency values, each checked and flagged.
    #[serde(default)]
    pub turn_metrics: Vec<TurnMetrics>,
    /// Call-level numbers the vendor reported: costs, its own latency summaries.
    #[serde(default)]
    pub metrics: Vec<CallMetric>,
    /// Percentiles per latency name, computed from `turn_metrics` without flagged values.
    #[serde(default)]
    pub latency_percentiles: Vec<LatencyPercentiles>,
    /// Bot turns for which no usable end-to-end latency exists.
    #[serde(default)]
    pub turns_without_latency: u32,
    /// Reason the call ended, in the vendor's words (`customer-ended-call`, `user_hangup`).
    #[serde(default)]
    pub ended_reason: Option<String>,
    /// The vendor's own summary or analysis object, verbatim, as JSON; `{}` when none.
    #[serde(default = "empty_json_object")]
    pub vendor_analysis: String,
}

fn empty_json_object() -> String {
    "{}".to_string()
}

impl Default for NormalizedCall {
    /// An empty call whose JSON fields hold `{}`.
    fn default() -> Self {
        Self {
            format: String::new(),
            vendor_call_id: None,
            started_at_epoch_ms: None,
            duration_ms: None,
            utterances: Vec::new(),
            findings: Vec::new(),
            unknown_fields: empty_json_object(),
            recording_urls: Vec::new(),
            spans: Vec::new(),
            turn_metrics: Vec::new(),
            metrics: Vec::new(),
            latency_percentiles: Vec::new(),
            turns_without_latency: 0,
            ended_reason: None,
            vendor_analysis: empty_json_object(),
        }
    }
}

/// Assignment of parties to audio channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ChannelLayout {
    /// All parties on one channel (or a mono mix), so the transcript attributes speech to speakers.
    Mixed,
    /// User and bot on separate channels of one recording.
    Separate { user_channel: u16, bot_channel: u16 },
}

/// A party's uninterrupted stretch of speech: consecutive utterances or speech
/// segments of one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub index: u32,
    pub speaker: Speaker,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Indices of the utterances in this turn; empty when turns come from audio alone.
    pub utterances: Vec<u32>,
    pub source: MeasureSource,
}

/// Source of a measured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasureSource {
    /// Utterance times reported by the vendor.
    Events,
    /// Speech detected in the recording.
    Audio,
}

/// Time from the end of the user's speech to the start of the bot's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseLatency {
    /// The bot turn that replies.
    pub turn_index: u32,
    pub user_end_ms: i64,
    pub bot_start_ms: i64,
    /// `bot_start_ms - user_end_ms`; negative when the bot started before the user ended.
    pub latency_ms: i64,
    pub source: MeasureSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PauseKind {
    /// Silence inside one speaker's turn.
    WithinTurn,
    /// Silence between the end of one speaker and the start of the other.
    BetweenSpeakers,
}

/// A stretch of silence at least the configured minimum pause long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub kind: PauseKind,
    /// The speaker who paused (within a turn) or who spoke before the pause.
    pub speaker: Speaker,
    pub source: MeasureSource,
}

/// What an overlap was, judged from who yielded and how long the interrupter spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverlapKind {
    /// The user started during bot speech and the bot stopped before the user did.
    BargeIn,
    /// Both kept talking: the bot started during user speech, or the user spoke at
    /// length while the bot went on.
    TalkOver,
    /// Short user speech with a transcript during bot speech that went on ("yeah").
    Backchannel,
    /// Short user sound during bot speech that no transcript covers: a cough, a
    /// click or line noise that a voice bot may take for an interruption.
    FalseInterruption,
}

/// A stretch where user and bot speak at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    /// The speaker who started talking while the other was already speaking.
    pub interrupter: Speaker,
    pub kind: OverlapKind,
    pub source: MeasureSource,
}

/// Silence on every channel at least [`AnalysisSettings::dead_air_min_ms`] long,
/// between the first and the last speech of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadAir {
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub source: MeasureSource,
}

/// How the event clock (utterance times) relates to the recording, fitted on
/// utterance starts matched to speech onsets: an event at recording time `t` ms
/// carries the time `t + offset_ms + drift_ms_per_minute * t / 60000`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// Event time minus recording time at the start of the recording.
    pub offset_ms: i64,
    /// Change of that difference per minute of recording.
    pub drift_ms_per_minute: f64,
    /// Largest difference between a matched utterance start and its speech onset.
    pub max_difference_ms: i64,
    /// Utterance starts matched to an onset and kept by the fit.
    pub matched: u32,
}

/// Something about the call worth a reviewer's attention, raised by a rule with a
/// threshold from [`AnalysisSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// Stable machine-readable code, for example `slow-response`.
    pub code: String,
    pub message: String,
    /// Position on the recording, when the flag concerns one moment.
    pub at_ms: Option<i64>,
}

/// Speaking time and rate of one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TalkTime {
    pub speaker: Speaker,
    /// Time the party speaks, overlaps included.
    pub speech_ms: i64,
    /// `speech_ms` over the user's and bot's speech together, 0 to 1.
    pub share: f64,
    /// Words in the party's utterances.
    pub words: u32,
    /// `words` per minute of `speech_ms`; `None` without speech or words.
    pub words_per_minute: Option<f64>,
    pub source: MeasureSource,
}

/// Thresholds for the analysis, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    /// Shortest silence reported as a pause. 500 ms is about where listeners start
    /// to notice a gap in conversation.
    pub min_pause_ms: i64,
    /// Shortest simultaneous speech reported as an overlap, so that a shared
    /// breath or click does not count.
    pub min_overlap_ms: i64,
    /// Silence inside one speaker's speech shorter than this joins two speech
    /// segments into one turn.
    pub turn_join_gap_ms: i64,
    /// Longest user speech during bot speech that counts as a backchannel or a false
    /// interruption. Backchannels ("yeah", "mm-hm") last well under a second.
    #[serde(default = "default_backchannel_max_ms")]
    pub backchannel_max_ms: i64,
    /// Shortest silence of every party reported as dead air. 2 s of silence on a phone
    /// line makes callers ask whether anyone is there.
    #[serde(default = "default_dead_air_min_ms")]
    pub dead_air_min_ms: i64,
    /// Response latency above which a turn is flagged as slow.
    #[serde(default = "default_slow_response_ms")]
    pub slow_response_ms: i64,
    /// Largest difference between event times and the recording that is not flagged.
    /// 150 ms is about where a listener starts to hear a delay change.
    #[serde(default = "default_max_clock_difference_ms")]
    pub max_clock_difference_ms: i64,
}

fn default_backchannel_max_ms() -> i64 {
    1000
}

fn default_dead_air_min_ms() -> i64 {
    2000
}

fn default_slow_response_ms() -> i64 {
    2000
}

fn default_max_clock_difference_ms() -> i64 {
    150
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            min_pause_ms: 500,
            min_overlap_ms: 200,
            turn_join_gap_ms: 1500,
            backchannel_max_ms: default_backchannel_max_ms(),
            dead_air_min_ms: default_dead_air_min_ms(),
            slow_response_ms: default_slow_response_ms(),
            max_clock_difference_ms: default_max_clock_difference_ms(),
        }
    }
}

/// Everything the analysis derives from a call's utterances and speech activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAnalysis {
    pub turns: Vec<Turn>,
    pub latencies: Vec<ResponseLatency>,
    pub pauses: Vec<Pause>,
    pub overlaps: Vec<Overlap>,
    #[serde(default)]
    pub dead_air: Vec<DeadAir>,
    /// Speaking time per party and source.
    #[serde(default)]
    pub talk: Vec<TalkTime>,
    /// `None` without a recording, or when too few utterance starts match speech.
    #[serde(default)]
    pub alignment: Option<Alignment>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    pub findings: Vec<Finding>,
}
