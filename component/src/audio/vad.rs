//! Speech/silence detection per channel.
//!
//! Two signals decide together:
//!
//! - **earshot** (a small pure-Rust neural detector, 16 kHz, 16 ms frames) decides
//!   *whether* a stretch is speech. It ignores mains hum, clicks and steady noise that an
//!   energy threshold alone would take for speech. Its onsets come late, though:
//!   measured on the OSR reading, 0–130 ms after the energy rise, and it rides
//!   ~70 ms into digital silence after an utterance.
//! - **Energy** in 4 ms subframes against an adaptive noise floor decides *where* the
//!   edges are. A subframe is speech when it is clearly above the floor (active) and
//!   earshot marks it (core). An active subframe also is speech when a core subframe
//!   follows within [`ONSET_REACH_MS`] or precedes within [`TAIL_REACH_MS`], and the
//!   active subframes between them have no dip longer than [`EDGE_DIP_MS`].
//!
//! The noise floor of a subframe is the lowest of the lower-quartile 16 ms frame levels
//! of the 256 ms blocks within ±2 s of it ([`FLOOR_SPAN_BLOCKS`] blocks each side), so a recording that starts with
//! speech still gets a floor from the pause that follows. Decisions are therefore
//! delayed by about 2.5 s of audio and only that much per-subframe state is kept.
//!
//! NOTE: digital silence counts towards the floor, so that the decaying ends of clean
//! utterances between exact zeros stay speech. On a noisy channel that also contains
//! exact zeros, the noise near them is active and edges there rest on earshot alone,
//! plus up to the reach limits (measured: +140 ms at the end of the left channel of the
//! mu-law faster-whisper stereo copy).
//!
//! Input at any rate is converted to 16 kHz first; all times are counted in 16 kHz
//! samples, so a subframe is exactly 4 ms.

use std::collections::VecDeque;

use callscope_api_types::audio::Segment;

use super::decode::to_i16_slice;
use super::levels::sum_of_squares;
use super::resample::Resampler;
use super::stages::{Stage, StageClock};

/// earshot's documented default decision threshold on its 0..1 score.
const SPEECH_SCORE_THRESHOLD: f32 = 0.5;

/// Samples per earshot frame at 16 kHz, fixed by the detector.
const DETECTOR_FRAME_SAMPLES: usize = 256;

/// Samples per energy subframe: 4 ms, the resolution of segment edges.
const SUBFRAME_SAMPLES: usize = 64;
const SUBFRAMES_PER_FRAME: usize = DETECTOR_FRAME_SAMPLES / SUBFRAME_SAMPLES;
const SUBFRAME_MS: i64 = 4;

/// Subframes per noise-floor block (256 ms).
const FLOOR_BLOCK_SUBFRAMES: u64 = 64;
const FRAMES_PER_BLOCK: usize = FLOOR_BLOCK_SUBFRAMES as usize / SUBFRAMES_PER_FRAME;

/// Blocks on each side that the noise floor looks at: ±2 s holds at least one pause in
/// conversational speech, and is short enough to follow a changing background.
const FLOOR_SPAN_BLOCKS: u64 = 8;

/// Level above the noise floor at which a subframe is active. The floor is a low
/// quantile of 16 ms frames, a few dB under the mean noise level, so 10 dB keeps steady
/// noise and hum below it while the quiet ends of words stay above it.
const ACTIVE_MARGIN_DB: f32 = 10.0;

/// Subframes quieter than this are never active, whatever the floor: with a floor of
/// digital silence, dither and codec noise would otherwise extend every edge, and
/// earshot's hangover into the silence would count as speech.
const ACTIVE_MIN_DBFS: f32 = -70.0;

/// How far before earshot's first speech frame energy may move an onset. earshot reacts
/// late to fricative onsets: on the OSR reading "She saw…" starts 140 ms and "Small…"
/// 90 ms before its first speech frame.
const ONSET_REACH_MS: i64 = 200;

/// How far after earshot's last speech frame energy may move the end. earshot's ends
/// follow the decay of the voice closely, so this only catches a final fricative.
const TAIL_REACH_MS: i64 = 100;

/// Maximum dip below the active level crossed while extending an edge, such as the
/// closure before a plosive.
const EDGE_DIP_MS: i64 = 24;

/// Pauses shorter than this are bridged: they are gaps between words, not turns, and
/// the analysis reports pauses from 200 ms up.
pub const MIN_PAUSE_MS: i64 = 200;

/// Speech segments shorter than this are dropped as clicks or breaths; a backchannel
/// ("mm", "ok") lasts 150 ms or more.
pub const MIN_SPEECH_MS: i64 = 100;

const ONSET_REACH: u64 = (ONSET_REACH_MS / SUBFRAME_MS) as u64;
const TAIL_REACH: u64 = (TAIL_REACH_MS / SUBFRAME_MS) as u64;
/// Subframes kept on each side of the one being decided.
const DECISION_CONTEXT: u64 = if ONSET_REACH > TAIL_REACH { ONSET_REACH } else { TAIL_REACH };
const EDGE_DIP: u64 = (EDGE_DIP_MS / SUBFRAME_MS) as u64;
const MIN_PAUSE: u64 = (MIN_PAUSE_MS / SUBFRAME_MS) as u64;
const MIN_SPEECH: u64 = (MIN_SPEECH_MS / SUBFRAME_MS) as u64;

/// All-zero frames in a row that earshot still scores; later ones in the same run
/// repeat its last decision. A zero subframe is active only next to sound, through the
/// 12 ms smoothing of [`ChannelVad::smoothed_energy_db`], so only decisions near the
/// ends of a run can matter, and earshot's hangover into digital silence lasts about
/// 70 ms (5 frames). Skipping changes earshot's recurrent state at the next sound: in
/// zeros it keeps drifting by single steps for thousands of frames and never settles.
///
/// NOTE: measured, not proven: with 8 or more scored frames the segments of every
/// fixture recording (and of the one-hour benchmark call) equal those of scoring every
/// frame; with 4, one segment end of the stereo diarization fixture moves by 16 ms.
const SILENCE_SCORED_FRAMES: u32 = 10;

/// Level reported for a subframe of digital silence.
const SILENCE_DB: f32 = -120.0;

#[derive(Debug, Clone, Copy)]
struct Subframe {
    /// Mean square of the subframe's samples (full scale = 1.0).
    power: f64,
    /// earshot scored the frame of this subframe as speech.
    detected: bool,
    active: bool,
    core: bool,
}

/// Speech detection for one channel.
pub struct ChannelVad {
    resampler: Resampler,
    /// Output of the resampler for the block being added.
    resampled: Vec<f32>,
    detector: Box<earshot::Detector>,

    /// The 16 kHz samples of the open frame; the first `frame_fill` are set.
    frame: [f32; DETECTOR_FRAME_SAMPLES],
    frame_fill: usize,
    /// Frames in a row that were all zero at 16 bits, up to and including the last.
    silent_frames: u32,
    /// earshot's decision on the last frame it scored.
    last_detected: bool,

    /// Subframes from `history_start` on, kept until no later decision needs them.
    history: VecDeque<Subframe>,
    history_start: u64,
    subframes: u64,

    /// Lower-quartile frame level of each closed block from `blocks_start` on.
    block_minima: VecDeque<f32>,
    blocks_start: u64,
    /// Frame levels of the open block.
    block_frames: Vec<f32>,
    /// Next block whose subframes get their active and core flags.
    next_classified_block: u64,
    /// Next subframe to decide.
    next_decided: u64,

    segments: SegmentBuilder,
}

impl ChannelVad {
    pub fn new(sample_rate: u32) -> Self {
        Self {
            resampler: Resampler::new(sample_rate),
            resampled: Vec::new(),
            detector: earshot::Detector::default_boxed(),
            frame: [0.0; DETECTOR_FRAME_SAMPLES],
            frame_fill: 0,
            silent_frames: 0,
            last_detected: false,
            history: VecDeque::new(),
            history_start: 0,
            subframes: 0,
            block_minima: VecDeque::new(),
            blocks_start: 0,
            block_frames: Vec::with_capacity(FRAMES_PER_BLOCK),
            next_classified_block: 0,
            next_decided: 0,
            segments: SegmentBuilder::default(),
        }
    }

    /// Adds samples at the source rate (16-bit full scale = 1.0).
    pub fn push(&mut self, samples: &[f32]) {
        self.push_timed(samples, &mut StageClock::default());
    }

    /// [`Self::push`], timing the resampling and the detection on `clock`.
    pub(crate) fn push_timed(&mut self, samples: &[f32], clock: &mut StageClock) {
        let mut resampled = std::mem::take(&mut self.resampled);
        resampled.clear();
        clock.time(Stage::Resample, || self.resampler.process(samples, &mut resampled));
        clock.time(Stage::Speech, || self.push_resampled(&resampled));
        self.resampled = resampled;
    }

    /// Decides the rest of the channel and returns its speech segments, clipped to
    /// `duration_ms`.
    pub fn finish(mut self, duration_ms: i64) -> Vec<Segment> {
        let mut tail = Vec::new();
        self.resampler.finish(&mut tail);
        self.push_resampled(&tail);
        if self.frame_fill > 0 {
            self.close_frame();
        }

        if !self.block_frames.is_empty() {
            self.close_block();
        }
        self.classify_blocks(true);
        self.decide_subframes(true);

        let mut segments = self.segments.finish();
        segments.retain_mut(|segment| {
            segment.end_ms = segment.end_ms.min(duration_ms);
            segment.end_ms > segment.start_ms
        });
        segments
    }

    fn push_resampled(&mut self, mut values: &[f32]) {
        while !values.is_empty() {
            let taken = (DETECTOR_FRAME_SAMPLES - self.frame_fill).min(values.len());
            self.frame[self.frame_fill..self.frame_fill + taken].copy_from_slice(&values[..taken]);
            self.frame_fill += taken;
            values = &values[taken..];

            if self.frame_fill == DETECTOR_FRAME_SAMPLES {
                self.close_frame();
                self.classify_blocks(false);
                self.decide_subframes(false);
            }
        }
    }

    /// Scores the current (possibly partial, zero-padded) frame and records its subframes.
    fn close_frame(&mut self) {
        let filled = self.frame_fill;
        self.frame[filled..].fill(0.0);

        // Digital silence, most of a call's channel, converts to zeros and has no energy.
        let mut samples = [0i16; DETECTOR_FRAME_SAMPLES];
        let mut subframe_energy = [0.0f64; SUBFRAMES_PER_FRAME];
        if self.frame.iter().any(|&sample| sample != 0.0) {
            to_i16_slice(&self.frame, &mut samples);
            for (energy, subframe) in subframe_energy.iter_mut().zip(self.frame.chunks_exact(SUBFRAME_SAMPLES)) {
                *energy = sum_of_squares(subframe);
            }
        }
        let detected = self.detect(&samples);

        let frame_energy: f64 = subframe_energy.iter().sum();
        let frame_db = energy_db(frame_energy / filled as f64);

        for (index, energy) in subframe_energy.iter().enumerate() {
            let samples = filled.saturating_sub(index * SUBFRAME_SAMPLES).min(SUBFRAME_SAMPLES);
            if samples == 0 {
                break;
            }
            self.history.push_back(Subframe {
                power: energy / samples as f64,
                detected,
                active: false,
                core: false,
            });
            self.subframes += 1;
        }

        // Blocks hold whole frames: 64 subframes are 16 frames.
        self.block_frames.push(frame_db);
        if self.subframes % FLOOR_BLOCK_SUBFRAMES == 0 {
            self.close_block();
        }

        self.frame_fill = 0;
    }

    /// Returns earshot's decision on a frame. Deep in digital silence earshot is not
    /// run: only the first [`SILENCE_SCORED_FRAMES`] all-zero frames in a row are scored
    /// and the rest repeat the last decision.
    fn detect(&mut self, samples: &[i16; DETECTOR_FRAME_SAMPLES]) -> bool {
        let silent = samples.iter().fold(0, |bits, &sample| bits | sample) == 0;
        self.silent_frames = if silent { self.silent_frames.saturating_add(1) } else { 0 };
        if self.silent_frames > SILENCE_SCORED_FRAMES {
            return self.last_detected;
        }
        self.last_detected = self.detector.predict_i16(samples) >= SPEECH_SCORE_THRESHOLD;
        self.last_detected
    }

    fn close_block(&mut self) {
        // The lower quartile rather than the minimum, so that a few outlier frames (a
        // dropout, a fade-in at the start of the file) do not drag the floor down.
        self.block_frames.sort_by(f32::total_cmp);
        let quartile = self.block_frames[self.block_frames.len() / 4];
        self.block_minima.push_back(quartile);
        self.block_frames.clear();
    }

    /// Sets the active and core flags of every block whose floor window is complete.
    fn classify_blocks(&mut self, at_end: bool) {
        let closed_blocks = self.blocks_start + self.block_minima.len() as u64;

        while self.next_classified_block < closed_blocks
            && (at_end || self.next_classified_block + FLOOR_SPAN_BLOCKS < closed_blocks)
        {
            let block = self.next_classified_block;
            let first = block.saturating_sub(FLOOR_SPAN_BLOCKS).max(self.blocks_start);
            let last = (block + FLOOR_SPAN_BLOCKS).min(closed_blocks - 1);
            let floor_db = (first..=last)
                .map(|index| self.block_minima[(index - self.blocks_start) as usize])
                .fold(f32::INFINITY, f32::min);

            let active_db = (floor_db + ACTIVE_MARGIN_DB).max(ACTIVE_MIN_DBFS);

            let start = block * FLOOR_BLOCK_SUBFRAMES;
            let end = ((block + 1) * FLOOR_BLOCK_SUBFRAMES).min(self.subframes);
            for index in start.max(self.history_start)..end {
                let level_db = self.smoothed_energy_db(index);
                let subframe = &mut self.history[(index - self.history_start) as usize];
                subframe.active = level_db > active_db;
                subframe.core = subframe.detected && subframe.active;
            }

            self.next_classified_block += 1;
        }

        // Blocks before the floor window of the next block to classify are done.
        let keep_from = self.next_classified_block.saturating_sub(FLOOR_SPAN_BLOCKS);
        while self.blocks_start < keep_from && !self.block_minima.is_empty() {
            self.block_minima.pop_front();
            self.blocks_start += 1;
        }
    }

    /// Decides every subframe whose surroundings within [`DECISION_CONTEXT`] are classified.
    fn decide_subframes(&mut self, at_end: bool) {
        let classified = (self.next_classified_block * FLOOR_BLOCK_SUBFRAMES).min(self.subframes);

        while self.next_decided < classified && (at_end || self.next_decided + DECISION_CONTEXT < classified) {
            let index = self.next_decided;
            let speech = self.is_speech(index, classified);
            self.segments.push(index, speech);
            self.next_decided += 1;
        }

        let keep_from = self.next_decided.saturating_sub(DECISION_CONTEXT);
        while self.history_start < keep_from && !self.history.is_empty() {
            self.history.pop_front();
            self.history_start += 1;
        }
    }

    fn is_speech(&self, index: u64, classified: u64) -> bool {
        let subframe = self.subframe(index);
        if subframe.core {
            return true;
        }
        if !subframe.active {
            return false;
        }

        // Core speech earlier on makes this subframe part of an utterance's tail; core
        // speech later on makes it part of an onset.
        let earlier = (index.saturating_sub(TAIL_REACH).max(self.history_start)..index).rev();
        let later = index + 1..(index + 1 + ONSET_REACH).min(classified);
        self.reaches_core(earlier) || self.reaches_core(later)
    }

    /// Walks from a subframe outwards and returns whether a core subframe is reached
    /// before a dip longer than [`EDGE_DIP`].
    fn reaches_core(&self, path: impl Iterator<Item = u64>) -> bool {
        let mut dip = 0;
        for index in path {
            let subframe = self.subframe(index);
            if subframe.core {
                return true;
            }
            if subframe.active {
                dip = 0;
            } else {
                dip += 1;
                if dip > EDGE_DIP {
                    return false;
                }
            }
        }
        false
    }

    /// Returns the level of a subframe averaged with its neighbours (12 ms), which keeps
    /// the 4 ms fluctuations of noise from reading as activity.
    fn smoothed_energy_db(&self, index: u64) -> f32 {
        let first = index.saturating_sub(1).max(self.history_start);
        let last = (index + 1).min(self.history_start + self.history.len() as u64 - 1);
        let power: f64 = (first..=last).map(|i| self.subframe(i).power).sum();
        energy_db(power / (last - first + 1) as f64)
    }

    fn subframe(&self, index: u64) -> &Subframe {
        &self.history[(index - self.history_start) as usize]
    }
}

fn energy_db(mean_square: f64) -> f32 {
    if mean_square > 0.0 { ((10.0 * mean_square.log10()) as f32).max(SILENCE_DB) } else { SILENCE_DB }
}

/// Joins speech subframes into segments, bridging short pauses and dropping short blips.
#[derive(Debug, Default)]
struct SegmentBuilder {
    /// Open segment as `[start, end)` subframes.
    open: Option<(u64, u64)>,
    segments: Vec<Segment>,
}

impl SegmentBuilder {
    fn push(&mut self, index: u64, speech: bool) {
        match (self.open, speech) {
            (Some((start, end)), true) if index - end < MIN_PAUSE => self.open = Some((start, index + 1)),
            (Some(_), true) => {
                self.close();
                self.open = Some((index, index + 1));
            }
            (None, true) => self.open = Some((index, index + 1)),
            (Some((_, end)), false) if index + 1 - end >= MIN_PAUSE => self.close(),
            _ => {}
        }
    }

    fn finish(mut self) -> Vec<Segment> {
        self.close();
        self.segments
    }

    fn close(&mut self) {
        if let Some((start, end)) = self.open.take() {
            if end - start >= MIN_SPEECH {
                self.segments.push(Segment {
                    start_ms: start as i64 * SUBFRAME_MS,
                    end_ms: end as i64 * SUBFRAME_MS,
                });
            }
        }
    }
}
