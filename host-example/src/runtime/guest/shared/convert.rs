//! Conversions between the generated WIT types of one interface version and the
//! shared API types. Field by field, with no logic beyond the mapping.

use callscope_api_types as api;

use super::bindings::exports::callscope::plugin::{analysis as wa, audio as wau, ingest as wi, types as wt};
use crate::runtime::{OtlpEncoding, RejectedInput};

fn speaker(value: wt::Speaker) -> api::Speaker {
    match value {
        wt::Speaker::User => api::Speaker::User,
        wt::Speaker::Bot => api::Speaker::Bot,
        wt::Speaker::System => api::Speaker::System,
        wt::Speaker::Tool => api::Speaker::Tool,
    }
}

fn speaker_to_wit(value: api::Speaker) -> wt::Speaker {
    match value {
        api::Speaker::User => wt::Speaker::User,
        api::Speaker::Bot => wt::Speaker::Bot,
        api::Speaker::System => wt::Speaker::System,
        api::Speaker::Tool => wt::Speaker::Tool,
    }
}

fn source(value: wt::MeasureSource) -> api::MeasureSource {
    match value {
        wt::MeasureSource::Events => api::MeasureSource::Events,
        wt::MeasureSource::Audio => api::MeasureSource::Audio,
    }
}

fn finding(value: wt::Finding) -> api::Finding {
    api::Finding { code: value.code, path: value.path, message: value.message }
}

fn segment(value: wt::Segment) -> api::Segment {
    api::Segment { start_ms: value.start_ms, end_ms: value.end_ms }
}

fn activity(value: wt::ChannelActivity) -> api::ChannelActivity {
    api::ChannelActivity { channel: value.channel, speech: value.speech.into_iter().map(segment).collect() }
}

pub fn activity_to_wit(value: &api::ChannelActivity) -> wt::ChannelActivity {
    wt::ChannelActivity {
        channel: value.channel,
        speech: value.speech.iter().map(|s| wt::Segment { start_ms: s.start_ms, end_ms: s.end_ms }).collect(),
    }
}

pub fn layout_to_wit(value: api::ChannelLayout) -> wt::ChannelLayout {
    match value {
        api::ChannelLayout::Mixed => wt::ChannelLayout::Mixed,
        api::ChannelLayout::Separate { user_channel, bot_channel } => {
            wt::ChannelLayout::Separate(wt::SeparateChannels { user_channel, bot_channel })
        }
    }
}

pub fn settings_to_wit(value: &api::AnalysisSettings) -> wa::Settings {
    wa::Settings {
        min_pause_ms: value.min_pause_ms,
        min_overlap_ms: value.min_overlap_ms,
        turn_join_gap_ms: value.turn_join_gap_ms,
        backchannel_max_ms: value.backchannel_max_ms,
        dead_air_min_ms: value.dead_air_min_ms,
        slow_response_ms: value.slow_response_ms,
        max_clock_difference_ms: value.max_clock_difference_ms,
    }
}

pub fn utterance_to_wit(value: &api::Utterance) -> wt::Utterance {
    wt::Utterance {
        index: value.index,
        speaker: speaker_to_wit(value.speaker),
        text: value.text.clone(),
        start_ms: value.start_ms,
        end_ms: value.end_ms,
        words: value
            .words
            .iter()
            .map(|w| wt::Word { text: w.text.clone(), start_ms: w.start_ms, end_ms: w.end_ms, confidence: w.confidence })
            .collect(),
        timing: match value.timing {
            api::TimingQuality::Exact => wt::TimingQuality::Exact,
            api::TimingQuality::Approximate => wt::TimingQuality::Approximate,
        },
        original_times: value.original_times.clone(),
    }
}

pub fn utterance(value: wt::Utterance) -> api::Utterance {
    api::Utterance {
        index: value.index,
        speaker: speaker(value.speaker),
        text: value.text,
        start_ms: value.start_ms,
        end_ms: value.end_ms,
        words: value
            .words
            .into_iter()
            .map(|w| api::Word { text: w.text, start_ms: w.start_ms, end_ms: w.end_ms, confidence: w.confidence })
            .collect(),
        timing: match value.timing {
            wt::TimingQuality::Exact => api::TimingQuality::Exact,
            wt::TimingQuality::Approximate => api::TimingQuality::Approximate,
        },
        original_times: value.original_times,
    }
}

pub fn normalized_call(value: wt::NormalizedCall) -> api::NormalizedCall {
    api::NormalizedCall {
        format: value.format,
        vendor_call_id: value.vendor_call_id,
        started_at_epoch_ms: value.started_at_epoch_ms,
        duration_ms: value.duration_ms,
        utterances: value.utterances.into_iter().map(utterance).collect(),
        findings: value.findings.into_iter().map(finding).collect(),
        unknown_fields: value.unknown_fields,
        recording_urls: value.recording_urls,
        spans: value.spans.into_iter().map(service_span).collect(),
        turn_metrics: value.turn_metrics.into_iter().map(turn_metrics).collect(),
        metrics: value
            .metrics
            .into_iter()
            .map(|m| api::CallMetric { name: m.name, value: m.value, unit: m.unit, original: m.original, flag: m.flag })
            .collect(),
        latency_percentiles: value
            .latency_percentiles
            .into_iter()
            .map(|p| api::LatencyPercentiles {
                name: p.name,
                p50_ms: p.p50_ms,
                p90_ms: p.p90_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
                count: p.count,
                excluded: p.excluded,
            })
            .collect(),
        turns_without_latency: value.turns_without_latency,
        ended_reason: value.ended_reason,
        vendor_analysis: value.vendor_analysis,
    }
}

fn timing(value: wt::TimingQuality) -> api::TimingQuality {
    match value {
        wt::TimingQuality::Exact => api::TimingQuality::Exact,
        wt::TimingQuality::Approximate => api::TimingQuality::Approximate,
    }
}

fn service_span(value: wt::ServiceSpan) -> api::ServiceSpan {
    api::ServiceSpan {
        kind: match value.kind {
            wt::SpanKind::Stt => api::SpanKind::Stt,
            wt::SpanKind::Llm => api::SpanKind::Llm,
            wt::SpanKind::Tts => api::SpanKind::Tts,
            wt::SpanKind::Tool => api::SpanKind::Tool,
        },
        turn_number: value.turn_number,
        start_ms: value.start_ms,
        end_ms: value.end_ms,
        ttfb_ms: value.ttfb_ms,
        provider: value.provider,
        model: value.model,
        input_tokens: value.input_tokens,
        output_tokens: value.output_tokens,
        text: value.text,
        interrupted: value.interrupted,
        original: value.original,
    }
}

fn turn_metrics(value: wt::TurnMetrics) -> api::TurnMetrics {
    api::TurnMetrics {
        turn_number: value.turn_number,
        utterance_index: value.utterance_index,
        interrupted: value.interrupted,
        values: value
            .values
            .into_iter()
            .map(|v| api::MetricValue {
                name: v.name,
                value_ms: v.value_ms,
                original: v.original,
                quality: timing(v.quality),
                flag: v.flag,
            })
            .collect(),
    }
}

pub fn otlp_encoding_to_wit(value: OtlpEncoding) -> wi::OtlpEncoding {
    match value {
        OtlpEncoding::Json => wi::OtlpEncoding::Json,
        OtlpEncoding::Protobuf => wi::OtlpEncoding::Protobuf,
    }
}

pub fn ingest_error(value: wi::IngestError) -> RejectedInput {
    match value {
        wi::IngestError::InvalidJson(m) => RejectedInput::InvalidJson(m),
        wi::IngestError::UnknownFormat(tried) => RejectedInput::UnknownFormat(tried),
        wi::IngestError::InvalidPayload(m) => RejectedInput::InvalidPayload(m),
        wi::IngestError::TooLarge(m) => RejectedInput::PayloadTooLarge(m),
    }
}

pub fn audio_error(value: wau::AudioError) -> RejectedInput {
    match value {
        wau::AudioError::InvalidAudio(m) => RejectedInput::InvalidAudio(m),
        wau::AudioError::Unsupported(m) => RejectedInput::UnsupportedAudio(m),
        wau::AudioError::TooLarge(m) => RejectedInput::RecordingTooLarge(m),
        wau::AudioError::Finished => RejectedInput::InvalidAudio("the recording was already finished".into()),
    }
}

fn encoding(value: wau::AudioEncoding) -> api::AudioEncoding {
    match value {
        wau::AudioEncoding::Pcm8 => api::AudioEncoding::Pcm8,
        wau::AudioEncoding::Pcm16 => api::AudioEncoding::Pcm16,
        wau::AudioEncoding::Pcm24 => api::AudioEncoding::Pcm24,
        wau::AudioEncoding::Pcm32 => api::AudioEncoding::Pcm32,
        wau::AudioEncoding::Float32 => api::AudioEncoding::Float32,
        wau::AudioEncoding::Mulaw => api::AudioEncoding::Mulaw,
        wau::AudioEncoding::Alaw => api::AudioEncoding::Alaw,
        wau::AudioEncoding::Mp3 => api::AudioEncoding::Mp3,
        wau::AudioEncoding::Flac => api::AudioEncoding::Flac,
        wau::AudioEncoding::Opus => api::AudioEncoding::Opus,
    }
}

pub fn peaks_level(value: wau::PeaksLevel) -> api::PeaksLevel {
    api::PeaksLevel { samples_per_pixel: value.samples_per_pixel, channels: value.channels, data: value.data }
}

pub fn audio_summary(value: wau::AudioSummary) -> api::AudioSummary {
    let format = value.format;
    api::AudioSummary {
        format: api::AudioFormat {
            encoding: encoding(format.encoding),
            sample_rate: format.sample_rate,
            channels: format.channels,
            bits_per_sample: format.bits_per_sample,
            frames: format.frames,
            duration_ms: format.duration_ms,
        },
        activity: value.activity.into_iter().map(activity).collect(),
        levels: value
            .levels
            .into_iter()
            .map(|l| api::ChannelLevels {
                channel: l.channel,
                peak: l.peak,
                rms_dbfs: l.rms_dbfs,
                clipped_samples: l.clipped_samples,
            })
            .collect(),
        peaks: value.peaks.into_iter().map(peaks_level).collect(),
        playback_wav_header: value.playback_wav_header,
        findings: value.findings.into_iter().map(finding).collect(),
    }
}

pub fn call_analysis(value: wa::CallAnalysis) -> api::CallAnalysis {
    api::CallAnalysis {
        turns: value
            .turns
            .into_iter()
            .map(|t| api::Turn {
                index: t.index,
                speaker: speaker(t.speaker),
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                utterances: t.utterances,
                source: source(t.source),
            })
            .collect(),
        latencies: value
            .latencies
            .into_iter()
            .map(|l| api::ResponseLatency {
                turn_index: l.turn_index,
                user_end_ms: l.user_end_ms,
                bot_start_ms: l.bot_start_ms,
                latency_ms: l.latency_ms,
                source: source(l.source),
            })
            .collect(),
        pauses: value
            .pauses
            .into_iter()
            .map(|p| api::Pause {
                start_ms: p.start_ms,
                end_ms: p.end_ms,
                duration_ms: p.duration_ms,
                kind: match p.kind {
                    wa::PauseKind::WithinTurn => api::PauseKind::WithinTurn,
                    wa::PauseKind::BetweenSpeakers => api::PauseKind::BetweenSpeakers,
                },
                speaker: speaker(p.speaker),
                source: source(p.source),
            })
            .collect(),
        overlaps: value
            .overlaps
            .into_iter()
            .map(|o| api::Overlap {
                start_ms: o.start_ms,
                end_ms: o.end_ms,
                duration_ms: o.duration_ms,
                interrupter: speaker(o.interrupter),
                kind: overlap_kind(o.kind),
                source: source(o.source),
            })
            .collect(),
        dead_air: value
            .dead_air
            .into_iter()
            .map(|d| api::DeadAir {
                start_ms: d.start_ms,
                end_ms: d.end_ms,
                duration_ms: d.duration_ms,
                source: source(d.source),
            })
            .collect(),
        talk: value
            .talk
            .into_iter()
            .map(|t| api::TalkTime {
                speaker: speaker(t.speaker),
                speech_ms: t.speech_ms,
                share: t.share,
                words: t.words,
                words_per_minute: t.words_per_minute,
                source: source(t.source),
            })
            .collect(),
        alignment: value.alignment.map(|a| api::Alignment {
            offset_ms: a.offset_ms,
            drift_ms_per_minute: a.drift_ms_per_minute,
            max_difference_ms: a.max_difference_ms,
            matched: a.matched,
        }),
        flags: value
            .flags
            .into_iter()
            .map(|f| api::Flag { code: f.code, message: f.message, at_ms: f.at_ms })
            .collect(),
        findings: value.findings.into_iter().map(finding).collect(),
    }
}

fn overlap_kind(value: wa::OverlapKind) -> api::OverlapKind {
    match value {
        wa::OverlapKind::BargeIn => api::OverlapKind::BargeIn,
        wa::OverlapKind::TalkOver => api::OverlapKind::TalkOver,
        wa::OverlapKind::Backchannel => api::OverlapKind::Backchannel,
        wa::OverlapKind::FalseInterruption => api::OverlapKind::FalseInterruption,
    }
}

pub fn peaks_level_to_wit(value: &api::PeaksLevel) -> wau::PeaksLevel {
    wau::PeaksLevel { samples_per_pixel: value.samples_per_pixel, channels: value.channels, data: value.data.clone() }
}
