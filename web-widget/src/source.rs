//! The measurement source the call view shows.
//!
//! The analysis keeps pauses, overlaps, dead air and latencies from both sources
//! (the vendor's utterance times and the speech found on the recording). Drawing
//! both on one waveform stacks near-identical marks, so the view shows one source at
//! a time and the header counts follow it.

use callscope_api_types::{CallAnalysis, CallDetail, MeasureSource, OverlapKind};

/// Returns the source shown when a call opens: the recording when the call has one
/// and the analysis measured any pause or overlap on it, the events otherwise.
pub fn default_source(detail: &CallDetail) -> MeasureSource {
    let analysis = &detail.analysis;
    let measured_on_audio = analysis.pauses.iter().any(|pause| pause.source == MeasureSource::Audio)
        || analysis.overlaps.iter().any(|overlap| overlap.source == MeasureSource::Audio);
    if detail.recording.is_some() && measured_on_audio { MeasureSource::Audio } else { MeasureSource::Events }
}

/// Label of a source in the toggle and in hover texts.
pub fn source_name(source: MeasureSource) -> &'static str {
    match source {
        MeasureSource::Events => "events",
        MeasureSource::Audio => "recording",
    }
}

/// Counts of what the analysis found in one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceCounts {
    pub pauses: usize,
    pub overlaps: usize,
    pub dead_air: usize,
}

pub fn counts(analysis: &CallAnalysis, source: MeasureSource) -> SourceCounts {
    SourceCounts {
        pauses: analysis.pauses.iter().filter(|pause| pause.source == source).count(),
        overlaps: analysis.overlaps.iter().filter(|overlap| overlap.source == source).count(),
        dead_air: analysis.dead_air.iter().filter(|found| found.source == source).count(),
    }
}

/// Every overlap kind, in legend order.
pub const OVERLAP_KINDS: [OverlapKind; 4] =
    [OverlapKind::BargeIn, OverlapKind::TalkOver, OverlapKind::Backchannel, OverlapKind::FalseInterruption];

/// Value of an overlap's `data-kind` attribute and suffix of its CSS class.
pub fn overlap_kind_key(kind: OverlapKind) -> &'static str {
    match kind {
        OverlapKind::BargeIn => "barge-in",
        OverlapKind::TalkOver => "talk-over",
        OverlapKind::Backchannel => "backchannel",
        OverlapKind::FalseInterruption => "false-interruption",
    }
}

/// Name of an overlap kind in labels and the legend.
pub fn overlap_kind_name(kind: OverlapKind) -> &'static str {
    match kind {
        OverlapKind::BargeIn => "Barge-in",
        OverlapKind::TalkOver => "Talk-over",
        OverlapKind::Backchannel => "Backchannel",
        OverlapKind::FalseInterruption => "False interruption",
    }
}

/// Returns what an overlap kind means, for hover texts.
pub fn overlap_kind_description(kind: OverlapKind) -> &'static str {
    match kind {
        OverlapKind::BargeIn => "the user started during bot speech and the bot stopped first",
        OverlapKind::TalkOver => "both kept talking",
        OverlapKind::Backchannel => "short user speech with a transcript (\"yeah\") while the bot went on",
        OverlapKind::FalseInterruption => "short user sound without a transcript during bot speech, such as a cough or line noise",
    }
}

#[cfg(test)]
mod tests {
    use callscope_api_types::{
        AudioEncoding, AudioFormat, CallSummary, ChannelLayout, ComponentVersion, NormalizedCall, Overlap, Pause, PauseKind,
        RecordingInfo, Speaker,
    };

    use super::*;

    fn pause(source: MeasureSource) -> Pause {
        Pause { start_ms: 0, end_ms: 600, duration_ms: 600, kind: PauseKind::BetweenSpeakers, speaker: Speaker::User, source }
    }

    fn detail(with_recording: bool, pauses: Vec<Pause>, overlaps: Vec<Overlap>) -> CallDetail {
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
                has_recording: with_recording,
                live: false,
            },
            call: NormalizedCall::default(),
            recording: with_recording.then(|| RecordingInfo {
                format: AudioFormat { encoding: AudioEncoding::Pcm16, sample_rate: 8000, channels: 1, bits_per_sample: 16, frames: 8000, duration_ms: 1000 },
                layout: ChannelLayout::Mixed,
                activity: Vec::new(),
                levels: Vec::new(),
                audio_url: String::from("calls/c1/audio"),
            }),
            analysis: CallAnalysis {
                turns: Vec::new(),
                latencies: Vec::new(),
                pauses,
                overlaps,
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
    fn default_source_recording_with_audio_pauses() {
        let call = detail(true, vec![pause(MeasureSource::Events), pause(MeasureSource::Audio)], Vec::new());
        assert_eq!(default_source(&call), MeasureSource::Audio);
    }

    #[test]
    fn default_source_recording_without_audio_marks() {
        let call = detail(true, vec![pause(MeasureSource::Events)], Vec::new());
        assert_eq!(default_source(&call), MeasureSource::Events);
    }

    #[test]
    fn default_source_audio_overlap_counts() {
        let overlap = Overlap {
            start_ms: 0,
            end_ms: 300,
            duration_ms: 300,
            interrupter: Speaker::User,
            kind: OverlapKind::Backchannel,
            source: MeasureSource::Audio,
        };
        assert_eq!(default_source(&detail(true, Vec::new(), vec![overlap])), MeasureSource::Audio);
    }

    #[test]
    fn default_source_without_recording_is_events() {
        let call = detail(false, vec![pause(MeasureSource::Audio)], Vec::new());
        assert_eq!(default_source(&call), MeasureSource::Events);
    }

    #[test]
    fn counts_follow_source() {
        let call = detail(true, vec![pause(MeasureSource::Events), pause(MeasureSource::Audio), pause(MeasureSource::Audio)], Vec::new());
        assert_eq!(counts(&call.analysis, MeasureSource::Audio).pauses, 2);
        assert_eq!(counts(&call.analysis, MeasureSource::Events).pauses, 1);
    }
}
