//! The WebAssembly component's exports: conversions between the WIT types of
//! `wit/callscope.wit` and the library's own types, and nothing else. Every
//! decision is made in `ingest`, `audio` and `analysis`, and for the review exports
//! (in [`review`]) in `policy`, `redaction` and `annotation`.

use std::cell::RefCell;

use callscope_api_types as api;

use crate::{analysis, audio, ingest};

mod review;

// The default build exports the current interface. The `interface-0-1` feature builds
// the same library against the frozen 0.1.0 interface, which has no `about` and whose
// `compute-agreement` cannot fail. The host tests load that build to show that this
// host still serves components built for the previous minor version.
#[cfg(not(feature = "interface-0-1"))]
wit_bindgen::generate!({
    world: "plugin",
    path: "../wit",
});

#[cfg(feature = "interface-0-1")]
wit_bindgen::generate!({
    world: "plugin",
    path: "../wit-previous/0.1.0",
});

use exports::callscope::plugin::analysis as wit_analysis;
use exports::callscope::plugin::audio as wit_audio;
use exports::callscope::plugin::ingest as wit_ingest;
use exports::callscope::plugin::types as wit;

struct Component;

export!(Component);

#[cfg(not(feature = "interface-0-1"))]
impl exports::callscope::plugin::about::Guest for Component {
    fn describe() -> exports::callscope::plugin::about::ComponentInfo {
        exports::callscope::plugin::about::ComponentInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            formats: ingest::format_names(),
            audio_encodings: api::AudioEncoding::ALL
                .iter()
                .map(|encoding| encoding.name().to_string())
                .collect(),
        }
    }
}

impl wit_ingest::Guest for Component {
    fn detect_format(payload: Vec<u8>) -> Result<String, wit_ingest::IngestError> {
        ingest::detect_format(&payload)
            .map(str::to_string)
            .map_err(ingest_error)
    }

    fn normalize(payload: Vec<u8>) -> Result<wit::NormalizedCall, wit_ingest::IngestError> {
        ingest::normalize(&payload)
            .map(normalized_call)
            .map_err(ingest_error)
    }

    fn format_names() -> Vec<String> {
        ingest::format_names()
    }

    fn split_otlp(
        body: Vec<u8>,
        encoding: wit_ingest::OtlpEncoding,
    ) -> Result<Vec<wit_ingest::OtlpSpan>, wit_ingest::IngestError> {
        let encoding = match encoding {
            wit_ingest::OtlpEncoding::Json => ingest::OtlpEncoding::Json,
            wit_ingest::OtlpEncoding::Protobuf => ingest::OtlpEncoding::Protobuf,
        };
        let spans = ingest::split_otlp(&body, encoding).map_err(ingest_error)?;
        Ok(spans
            .into_iter()
            .map(|span| wit_ingest::OtlpSpan {
                conversation_id: span.conversation_id,
                trace_id: span.trace_id,
                span_id: span.span_id,
                span_json: span.span_json,
            })
            .collect())
    }

    fn normalize_spans(spans: Vec<String>) -> Result<wit::NormalizedCall, wit_ingest::IngestError> {
        ingest::normalize_spans(&spans)
            .map(normalized_call)
            .map_err(ingest_error)
    }

    fn parse_events(events: Vec<Vec<u8>>) -> Vec<Result<wit_ingest::StreamEvent, String>> {
        ingest::stream::parse_events(&events)
            .into_iter()
            .map(|result| {
                result.map(|event| wit_ingest::StreamEvent {
                    id: event.id,
                    call_id: event.call_id,
                    event_type: event.event_type,
                    json: event.json,
                })
            })
            .collect()
    }
}

fn ingest_error(error: ingest::IngestError) -> wit_ingest::IngestError {
    match error {
        ingest::IngestError::InvalidJson(message) => wit_ingest::IngestError::InvalidJson(message),
        ingest::IngestError::UnknownFormat(tried) => wit_ingest::IngestError::UnknownFormat(tried),
        ingest::IngestError::InvalidPayload(message) => {
            wit_ingest::IngestError::InvalidPayload(message)
        }
        ingest::IngestError::TooLarge(message) => wit_ingest::IngestError::TooLarge(message),
    }
}

fn normalized_call(call: api::NormalizedCall) -> wit::NormalizedCall {
    wit::NormalizedCall {
        format: call.format,
        vendor_call_id: call.vendor_call_id,
        started_at_epoch_ms: call.started_at_epoch_ms,
        duration_ms: call.duration_ms,
        utterances: call.utterances.into_iter().map(utterance_to_wit).collect(),
        findings: call.findings.into_iter().map(finding_to_wit).collect(),
        unknown_fields: call.unknown_fields,
        recording_urls: call.recording_urls,
        spans: call.spans.into_iter().map(span_to_wit).collect(),
        turn_metrics: call
            .turn_metrics
            .into_iter()
            .map(turn_metrics_to_wit)
            .collect(),
        metrics: call
            .metrics
            .into_iter()
            .map(|metric| wit::CallMetric {
                name: metric.name,
                value: metric.value,
                unit: metric.unit,
                original: metric.original,
                flag: metric.flag,
            })
            .collect(),
        latency_percentiles: call
            .latency_percentiles
            .into_iter()
            .map(|percentiles| wit::LatencyPercentiles {
                name: percentiles.name,
                p50_ms: percentiles.p50_ms,
                p90_ms: percentiles.p90_ms,
                p95_ms: percentiles.p95_ms,
                p99_ms: percentiles.p99_ms,
                count: percentiles.count,
                excluded: percentiles.excluded,
            })
            .collect(),
        turns_without_latency: call.turns_without_latency,
        ended_reason: call.ended_reason,
        vendor_analysis: call.vendor_analysis,
    }
}

fn span_to_wit(span: api::ServiceSpan) -> wit::ServiceSpan {
    wit::ServiceSpan {
        kind: match span.kind {
            api::SpanKind::Stt => wit::SpanKind::Stt,
            api::SpanKind::Llm => wit::SpanKind::Llm,
            api::SpanKind::Tts => wit::SpanKind::Tts,
            api::SpanKind::Tool => wit::SpanKind::Tool,
        },
        turn_number: span.turn_number,
        start_ms: span.start_ms,
        end_ms: span.end_ms,
        ttfb_ms: span.ttfb_ms,
        provider: span.provider,
        model: span.model,
        input_tokens: span.input_tokens,
        output_tokens: span.output_tokens,
        text: span.text,
        interrupted: span.interrupted,
        original: span.original,
    }
}

fn turn_metrics_to_wit(turn: api::TurnMetrics) -> wit::TurnMetrics {
    wit::TurnMetrics {
        turn_number: turn.turn_number,
        utterance_index: turn.utterance_index,
        interrupted: turn.interrupted,
        values: turn
            .values
            .into_iter()
            .map(|value| wit::MetricValue {
                name: value.name,
                value_ms: value.value_ms,
                original: value.original,
                quality: timing_to_wit(value.quality),
                flag: value.flag,
            })
            .collect(),
    }
}

fn timing_to_wit(timing: api::TimingQuality) -> wit::TimingQuality {
    match timing {
        api::TimingQuality::Exact => wit::TimingQuality::Exact,
        api::TimingQuality::Approximate => wit::TimingQuality::Approximate,
    }
}

fn finding_to_wit(finding: api::Finding) -> wit::Finding {
    wit::Finding {
        code: finding.code,
        path: finding.path,
        message: finding.message,
    }
}

fn utterance_to_wit(utterance: api::Utterance) -> wit::Utterance {
    wit::Utterance {
        index: utterance.index,
        speaker: speaker_to_wit(utterance.speaker),
        text: utterance.text,
        start_ms: utterance.start_ms,
        end_ms: utterance.end_ms,
        words: utterance.words.into_iter().map(word_to_wit).collect(),
        timing: match utterance.timing {
            api::TimingQuality::Exact => wit::TimingQuality::Exact,
            api::TimingQuality::Approximate => wit::TimingQuality::Approximate,
        },
        original_times: utterance.original_times,
    }
}

fn utterance_from_wit(utterance: wit::Utterance) -> api::Utterance {
    api::Utterance {
        index: utterance.index,
        speaker: speaker_from_wit(utterance.speaker),
        text: utterance.text,
        start_ms: utterance.start_ms,
        end_ms: utterance.end_ms,
        words: utterance.words.into_iter().map(word_from_wit).collect(),
        timing: match utterance.timing {
            wit::TimingQuality::Exact => api::TimingQuality::Exact,
            wit::TimingQuality::Approximate => api::TimingQuality::Approximate,
        },
        original_times: utterance.original_times,
    }
}

fn word_to_wit(word: api::Word) -> wit::Word {
    wit::Word {
        text: word.text,
        start_ms: word.start_ms,
        end_ms: word.end_ms,
        confidence: word.confidence,
    }
}

fn word_from_wit(word: wit::Word) -> api::Word {
    api::Word {
        text: word.text,
        start_ms: word.start_ms,
        end_ms: word.end_ms,
        confidence: word.confidence,
    }
}

fn speaker_to_wit(speaker: api::Speaker) -> wit::Speaker {
    match speaker {
        api::Speaker::User => wit::Speaker::User,
        api::Speaker::Bot => wit::Speaker::Bot,
        api::Speaker::System => wit::Speaker::System,
        api::Speaker::Tool => wit::Speaker::Tool,
    }
}

fn speaker_from_wit(speaker: wit::Speaker) -> api::Speaker {
    match speaker {
        wit::Speaker::User => api::Speaker::User,
        wit::Speaker::Bot => api::Speaker::Bot,
        wit::Speaker::System => api::Speaker::System,
        wit::Speaker::Tool => api::Speaker::Tool,
    }
}

fn source_to_wit(source: api::MeasureSource) -> wit::MeasureSource {
    match source {
        api::MeasureSource::Events => wit::MeasureSource::Events,
        api::MeasureSource::Audio => wit::MeasureSource::Audio,
    }
}

fn activity_to_wit(activity: api::ChannelActivity) -> wit::ChannelActivity {
    wit::ChannelActivity {
        channel: activity.channel,
        speech: activity
            .speech
            .into_iter()
            .map(|segment| wit::Segment {
                start_ms: segment.start_ms,
                end_ms: segment.end_ms,
            })
            .collect(),
    }
}

fn activity_from_wit(activity: wit::ChannelActivity) -> api::ChannelActivity {
    api::ChannelActivity {
        channel: activity.channel,
        speech: activity
            .speech
            .into_iter()
            .map(|segment| api::Segment {
                start_ms: segment.start_ms,
                end_ms: segment.end_ms,
            })
            .collect(),
    }
}

/// The `recording` resource. The WIT methods take `&self`, so the decoder sits in a
/// `RefCell`; a component instance is single-threaded, so a borrow never overlaps.
struct RecordingResource {
    recording: RefCell<audio::Recording>,
}

/// The `pcm16-peaks` resource; its methods take `&self` as well.
struct Pcm16PeaksResource {
    peaks: RefCell<audio::Pcm16Peaks>,
}

impl wit_audio::Guest for Component {
    type Recording = RecordingResource;
    type Pcm16Peaks = Pcm16PeaksResource;

    fn encode_peaks(
        level: wit_audio::PeaksLevel,
        sample_rate: u32,
        format: wit_audio::PeaksFormat,
        bits: u8,
    ) -> Result<Vec<u8>, wit_audio::AudioError> {
        let level = api::PeaksLevel {
            samples_per_pixel: level.samples_per_pixel,
            channels: level.channels,
            data: level.data,
        };
        let format = match format {
            wit_audio::PeaksFormat::Dat => audio::peaks_export::PeaksFormat::Dat,
            wit_audio::PeaksFormat::Json => audio::peaks_export::PeaksFormat::Json,
        };
        let bits = audio::peaks_export::PeaksBits::from_count(bits).map_err(audio_error)?;
        audio::peaks_export::encode_peaks(&level, sample_rate, format, bits).map_err(audio_error)
    }

    fn combine_parties(
        user: wit_audio::AudioSummary,
        bot: wit_audio::AudioSummary,
    ) -> Result<wit_audio::AudioSummary, wit_audio::AudioError> {
        audio::parties::combine_parties(&audio_summary_from_wit(user), &audio_summary_from_wit(bot))
            .map(audio_summary)
            .map_err(audio_error)
    }
}

impl wit_audio::GuestRecording for RecordingResource {
    fn new() -> Self {
        Self {
            recording: RefCell::new(audio::Recording::new()),
        }
    }

    fn expect_sample_rate(&self, sample_rate: u32) {
        self.recording.borrow_mut().expect_sample_rate(sample_rate);
    }

    fn push(&self, chunk: Vec<u8>) -> Result<Vec<u8>, wit_audio::AudioError> {
        self.recording
            .borrow_mut()
            .push(&chunk)
            .map_err(audio_error)
    }

    fn finish(&self) -> Result<wit_audio::AudioSummary, wit_audio::AudioError> {
        self.recording
            .borrow_mut()
            .finish()
            .map(audio_summary)
            .map_err(audio_error)
    }
}

impl wit_audio::GuestPcm16Peaks for Pcm16PeaksResource {
    fn new(channels: u16, sample_rate: u32) -> Self {
        Self { peaks: RefCell::new(audio::Pcm16Peaks::new(channels, sample_rate)) }
    }

    fn push(&self, chunk: Vec<u8>) -> Result<(), wit_audio::AudioError> {
        self.peaks.borrow_mut().push(&chunk).map_err(audio_error)
    }

    fn finish(&self) -> Result<Vec<wit_audio::PeaksLevel>, wit_audio::AudioError> {
        let levels = self.peaks.borrow_mut().finish().map_err(audio_error)?;
        Ok(levels.into_iter().map(peaks_level).collect())
    }
}

fn audio_error(error: audio::AudioError) -> wit_audio::AudioError {
    match error {
        audio::AudioError::InvalidAudio(message) => wit_audio::AudioError::InvalidAudio(message),
        audio::AudioError::Unsupported(message) => wit_audio::AudioError::Unsupported(message),
        audio::AudioError::TooLarge(message) => wit_audio::AudioError::TooLarge(message),
        audio::AudioError::Finished => wit_audio::AudioError::Finished,
    }
}

fn peaks_level(level: api::PeaksLevel) -> wit_audio::PeaksLevel {
    wit_audio::PeaksLevel { samples_per_pixel: level.samples_per_pixel, channels: level.channels, data: level.data }
}

fn audio_summary(summary: api::AudioSummary) -> wit_audio::AudioSummary {
    wit_audio::AudioSummary {
        format: audio_format(summary.format),
        activity: summary.activity.into_iter().map(activity_to_wit).collect(),
        levels: summary
            .levels
            .into_iter()
            .map(|levels| wit_audio::ChannelLevels {
                channel: levels.channel,
                peak: levels.peak,
                rms_dbfs: levels.rms_dbfs,
                clipped_samples: levels.clipped_samples,
            })
            .collect(),
        peaks: summary.peaks.into_iter().map(peaks_level).collect(),
        playback_wav_header: summary.playback_wav_header,
        findings: summary.findings.into_iter().map(finding_to_wit).collect(),
    }
}

fn audio_summary_from_wit(summary: wit_audio::AudioSummary) -> api::AudioSummary {
    let format = summary.format;
    api::AudioSummary {
        format: api::AudioFormat {
            encoding: encoding_from_wit(format.encoding),
            sample_rate: format.sample_rate,
            channels: format.channels,
            bits_per_sample: format.bits_per_sample,
            frames: format.frames,
            duration_ms: format.duration_ms,
        },
        activity: summary.activity.into_iter().map(activity_from_wit).collect(),
        levels: summary
            .levels
            .into_iter()
            .map(|levels| api::ChannelLevels {
                channel: levels.channel,
                peak: levels.peak,
                rms_dbfs: levels.rms_dbfs,
                clipped_samples: levels.clipped_samples,
            })
            .collect(),
        peaks: summary
            .peaks
            .into_iter()
            .map(|level| api::PeaksLevel {
                samples_per_pixel: level.samples_per_pixel,
                channels: level.channels,
                data: level.data,
            })
            .collect(),
        playback_wav_header: summary.playback_wav_header,
        findings: summary
            .findings
            .into_iter()
            .map(|finding| api::Finding {
                code: finding.code,
                path: finding.path,
                message: finding.message,
            })
            .collect(),
    }
}

fn encoding_from_wit(encoding: wit_audio::AudioEncoding) -> api::AudioEncoding {
    match encoding {
        wit_audio::AudioEncoding::Pcm8 => api::AudioEncoding::Pcm8,
        wit_audio::AudioEncoding::Pcm16 => api::AudioEncoding::Pcm16,
        wit_audio::AudioEncoding::Pcm24 => api::AudioEncoding::Pcm24,
        wit_audio::AudioEncoding::Pcm32 => api::AudioEncoding::Pcm32,
        wit_audio::AudioEncoding::Float32 => api::AudioEncoding::Float32,
        wit_audio::AudioEncoding::Mulaw => api::AudioEncoding::Mulaw,
        wit_audio::AudioEncoding::Alaw => api::AudioEncoding::Alaw,
        wit_audio::AudioEncoding::Mp3 => api::AudioEncoding::Mp3,
        wit_audio::AudioEncoding::Flac => api::AudioEncoding::Flac,
        wit_audio::AudioEncoding::Opus => api::AudioEncoding::Opus,
    }
}

fn audio_format(format: api::AudioFormat) -> wit_audio::AudioFormat {
    wit_audio::AudioFormat {
        encoding: match format.encoding {
            api::AudioEncoding::Pcm8 => wit_audio::AudioEncoding::Pcm8,
            api::AudioEncoding::Pcm16 => wit_audio::AudioEncoding::Pcm16,
            api::AudioEncoding::Pcm24 => wit_audio::AudioEncoding::Pcm24,
            api::AudioEncoding::Pcm32 => wit_audio::AudioEncoding::Pcm32,
            api::AudioEncoding::Float32 => wit_audio::AudioEncoding::Float32,
            api::AudioEncoding::Mulaw => wit_audio::AudioEncoding::Mulaw,
            api::AudioEncoding::Alaw => wit_audio::AudioEncoding::Alaw,
            api::AudioEncoding::Mp3 => wit_audio::AudioEncoding::Mp3,
            api::AudioEncoding::Flac => wit_audio::AudioEncoding::Flac,
            api::AudioEncoding::Opus => wit_audio::AudioEncoding::Opus,
        },
        sample_rate: format.sample_rate,
        channels: format.channels,
        bits_per_sample: format.bits_per_sample,
        frames: format.frames,
        duration_ms: format.duration_ms,
    }
}

impl wit_analysis::Guest for Component {
    fn default_settings() -> wit_analysis::Settings {
        settings_to_wit(api::AnalysisSettings::default())
    }

    fn analyze(
        utterances: Vec<wit::Utterance>,
        activity: Vec<wit::ChannelActivity>,
        layout: wit::ChannelLayout,
        settings: wit_analysis::Settings,
    ) -> Result<wit_analysis::CallAnalysis, String> {
        let utterances: Vec<api::Utterance> =
            utterances.into_iter().map(utterance_from_wit).collect();
        let activity: Vec<api::ChannelActivity> =
            activity.into_iter().map(activity_from_wit).collect();
        let layout = match layout {
            wit::ChannelLayout::Mixed => api::ChannelLayout::Mixed,
            wit::ChannelLayout::Separate(channels) => api::ChannelLayout::Separate {
                user_channel: channels.user_channel,
                bot_channel: channels.bot_channel,
            },
        };
        let settings = api::AnalysisSettings {
            min_pause_ms: settings.min_pause_ms,
            min_overlap_ms: settings.min_overlap_ms,
            turn_join_gap_ms: settings.turn_join_gap_ms,
            backchannel_max_ms: settings.backchannel_max_ms,
            dead_air_min_ms: settings.dead_air_min_ms,
            slow_response_ms: settings.slow_response_ms,
            max_clock_difference_ms: settings.max_clock_difference_ms,
        };

        analysis::analyze(&utterances, &activity, layout, &settings)
            .map(call_analysis)
            .map_err(|error| error.to_string())
    }
}

fn settings_to_wit(settings: api::AnalysisSettings) -> wit_analysis::Settings {
    wit_analysis::Settings {
        min_pause_ms: settings.min_pause_ms,
        min_overlap_ms: settings.min_overlap_ms,
        turn_join_gap_ms: settings.turn_join_gap_ms,
        backchannel_max_ms: settings.backchannel_max_ms,
        dead_air_min_ms: settings.dead_air_min_ms,
        slow_response_ms: settings.slow_response_ms,
        max_clock_difference_ms: settings.max_clock_difference_ms,
    }
}

fn call_analysis(analysis: api::CallAnalysis) -> wit_analysis::CallAnalysis {
    wit_analysis::CallAnalysis {
        turns: analysis
            .turns
            .into_iter()
            .map(|turn| wit_analysis::Turn {
                index: turn.index,
                speaker: speaker_to_wit(turn.speaker),
                start_ms: turn.start_ms,
                end_ms: turn.end_ms,
                utterances: turn.utterances,
                source: source_to_wit(turn.source),
            })
            .collect(),
        latencies: analysis
            .latencies
            .into_iter()
            .map(|latency| wit_analysis::ResponseLatency {
                turn_index: latency.turn_index,
                user_end_ms: latency.user_end_ms,
                bot_start_ms: latency.bot_start_ms,
                latency_ms: latency.latency_ms,
                source: source_to_wit(latency.source),
            })
            .collect(),
        pauses: analysis
            .pauses
            .into_iter()
            .map(|pause| wit_analysis::Pause {
                start_ms: pause.start_ms,
                end_ms: pause.end_ms,
                duration_ms: pause.duration_ms,
                kind: match pause.kind {
                    api::PauseKind::WithinTurn => wit_analysis::PauseKind::WithinTurn,
                    api::PauseKind::BetweenSpeakers => wit_analysis::PauseKind::BetweenSpeakers,
                },
                speaker: speaker_to_wit(pause.speaker),
                source: source_to_wit(pause.source),
            })
            .collect(),
        overlaps: analysis
            .overlaps
            .into_iter()
            .map(|overlap| wit_analysis::Overlap {
                start_ms: overlap.start_ms,
                end_ms: overlap.end_ms,
                duration_ms: overlap.duration_ms,
                interrupter: speaker_to_wit(overlap.interrupter),
                kind: overlap_kind_to_wit(overlap.kind),
                source: source_to_wit(overlap.source),
            })
            .collect(),
        dead_air: analysis
            .dead_air
            .into_iter()
            .map(|found| wit_analysis::DeadAir {
                start_ms: found.start_ms,
                end_ms: found.end_ms,
                duration_ms: found.duration_ms,
                source: source_to_wit(found.source),
            })
            .collect(),
        talk: analysis.talk.into_iter().map(talk_to_wit).collect(),
        alignment: analysis.alignment.map(|alignment| wit_analysis::Alignment {
            offset_ms: alignment.offset_ms,
            drift_ms_per_minute: alignment.drift_ms_per_minute,
            max_difference_ms: alignment.max_difference_ms,
            matched: alignment.matched,
        }),
        flags: analysis
            .flags
            .into_iter()
            .map(|flag| wit_analysis::Flag {
                code: flag.code,
                message: flag.message,
                at_ms: flag.at_ms,
            })
            .collect(),
        findings: analysis.findings.into_iter().map(finding_to_wit).collect(),
    }
}

fn overlap_kind_to_wit(kind: api::OverlapKind) -> wit_analysis::OverlapKind {
    match kind {
        api::OverlapKind::BargeIn => wit_analysis::OverlapKind::BargeIn,
        api::OverlapKind::TalkOver => wit_analysis::OverlapKind::TalkOver,
        api::OverlapKind::Backchannel => wit_analysis::OverlapKind::Backchannel,
        api::OverlapKind::FalseInterruption => wit_analysis::OverlapKind::FalseInterruption,
    }
}

fn talk_to_wit(talk: api::TalkTime) -> wit_analysis::TalkTime {
    wit_analysis::TalkTime {
        speaker: speaker_to_wit(talk.speaker),
        speech_ms: talk.speech_ms,
        share: talk.share,
        words: talk.words,
        words_per_minute: talk.words_per_minute,
        source: source_to_wit(talk.source),
    }
}
