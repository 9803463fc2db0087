//! JSON bodies of the host's HTTP API, as the widget reads them.

use serde::{Deserialize, Serialize};

use crate::{AudioFormat, CallAnalysis, ChannelActivity, ChannelLayout, ChannelLevels, NormalizedCall};

/// One row of the calls list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    pub id: String,
    pub title: String,
    pub format: String,
    /// When the call was imported, RFC 3339.
    pub imported_at: String,
    pub duration_ms: Option<i64>,
    pub utterance_count: u32,
    /// Largest response latency measured, from audio when a recording exists.
    pub max_latency_ms: Option<i64>,
    pub pause_count: u32,
    pub overlap_count: u32,
    pub has_recording: bool,
    /// Whether the call is still in progress on the event stream.
    #[serde(default)]
    pub live: bool,
}

/// A page of the calls list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallList {
    pub calls: Vec<CallSummary>,
    pub total: u64,
}

/// The recording of a call, without its peaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingInfo {
    pub format: AudioFormat,
    pub layout: ChannelLayout,
    pub activity: Vec<ChannelActivity>,
    pub levels: Vec<ChannelLevels>,
    /// Path of the playable audio, relative to the API base.
    pub audio_url: String,
}

/// Everything the call view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallDetail {
    pub summary: CallSummary,
    pub call: NormalizedCall,
    pub recording: Option<RecordingInfo>,
    pub analysis: CallAnalysis,
    /// Version and sha256 of the component that produced the analysis.
    pub analysed_by: ComponentVersion,
    /// Personal data in the transcript and vendor data was replaced by markers such as
    /// `[phone]`, because the user may not see it.
    #[serde(default)]
    pub redacted: bool,
    /// The transcript, vendor summary and raw fields were left out, because the user
    /// may not read transcripts.
    #[serde(default)]
    pub transcript_hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentVersion {
    pub interface_version: String,
    pub sha256: String,
}

/// Waveform peaks for a time range, at the coarsest pyramid level that still gives
/// at least the requested number of pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeaksWindow {
    pub start_ms: i64,
    pub end_ms: i64,
    pub sample_rate: u32,
    pub samples_per_pixel: u32,
    pub channels: u16,
    /// Interleaved `[min, max]` per channel per pixel, as in [`crate::PeaksLevel`].
    pub data: Vec<i16>,
}

/// The signed-in backoffice user as the host authenticated them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: String,
    pub roles: Vec<String>,
    /// Permissions the roles grant, as the component's policy decided them.
    #[serde(default)]
    pub permissions: Vec<crate::Permission>,
}

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable kind, for example `invalid-audio`.
    pub error: String,
    /// Description of what failed, on which value, and what to do.
    pub message: String,
}

/// One installed component version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledComponent {
    pub sha256: String,
    /// WIT package version it exports, e.g. `0.2.0`.
    pub interface_version: String,
    /// When it was installed, RFC 3339.
    pub installed_at: String,
    pub installed_by: String,
    pub size_bytes: u64,
    /// Name of the configured key whose ed25519 signature it carried, if any.
    pub signed_by: Option<String>,
    /// The component's description of its build. It is absent for interface 0.1
    /// components, which have no `about` interface, and in state files from before 0.2.
    #[serde(default)]
    pub describes_itself_as: Option<ComponentInfo>,
}

/// A component's own description of its build (interface 0.2 and later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// Package name of the build, such as `callscope-component`.
    pub name: String,
    /// The build's release version, independent of the interface version.
    pub version: String,
    /// Payload formats it reads, in the order it tries them.
    pub formats: Vec<String>,
    /// Audio encodings it decodes.
    pub audio_encodings: Vec<String>,
}

/// Progress of re-analysing stored calls with the active component.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReanalysisProgress {
    /// sha256 of the component the calls are being brought to.
    pub target_sha256: String,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub running: bool,
}

/// Component versions and re-analysis progress, as the admin page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentsStatus {
    pub active: InstalledComponent,
    /// The version a rollback returns to.
    pub previous: Option<InstalledComponent>,
    pub reanalysis: ReanalysisProgress,
}

/// Body of a refused install (422): which check failed and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRefusal {
    /// Always `install-refused`.
    pub error: String,
    /// `component`, `interface`, `imports`, `signature` or `self-test`.
    pub check: String,
    pub message: String,
}
