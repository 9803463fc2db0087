//! Types that cross a boundary in callscope: the component library's results, the
//! host's JSON API and the widget's view of it. One definition keeps the three from
//! drifting apart.
//!
//! Times named `*_ms` are milliseconds from the start of the recording unless the name
//! says otherwise. A call without a recording uses the first event as its zero.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod audio;

pub use api::*;
pub use audio::*;

/// Who produced an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The caller.
    User,
    /// The voice bot.
    Bot,
    /// A system prompt or other text nobody spoke.
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

    /// Whether the speaker is heard on the recording.
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
    /// Where in the input, as a JSON pointer (`/message/artifact/messages/3/duration`).
    pub path: String,
    pub message: String,
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
}

/// Which audio channel carries which party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ChannelLayout {
    /// All parties on one channel (or a mono mix); the transcript tells who speaks when.
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

/// Where a measured value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasureSource {
    /// Utterance times reported by the vendor.
    Events,
    /// Speech detected in the recording.
    Audio,
}

/// Time from the end of the user's speech to the start of the bot's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseLatency {
    /// The bot turn that answers.
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

/// A stretch where user and bot speak at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    /// The speaker who started talking while the other was already speaking.
    pub interrupter: Speaker,
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
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self { min_pause_ms: 500, min_overlap_ms: 200, turn_join_gap_ms: 1500 }
    }
}

/// Everything the analysis derives from a call's utterances and speech activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAnalysis {
    pub turns: Vec<Turn>,
    pub latencies: Vec<ResponseLatency>,
    pub pauses: Vec<Pause>,
    pub overlaps: Vec<Overlap>,
    pub findings: Vec<Finding>,
}
