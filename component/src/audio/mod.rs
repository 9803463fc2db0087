//! Decoding and measurement of call recordings.
//!
//! A [`Recording`] is fed the bytes of a file in chunks of any size and keeps memory
//! bounded however long the file is: samples are decoded, measured and dropped as they
//! arrive. The container is detected from the first bytes ([`detect`]): RIFF/WAVE is
//! parsed here ([`wav`]), MP3 and FLAC are demuxed and decoded by symphonia
//! ([`compressed`]), and Ogg/Opus pages are parsed here and decoded by `opus-decoder`
//! ([`ogg`]). [`Recording::finish`] returns the format, the speech segments of every
//! channel ([`vad`]), level statistics ([`levels`]), a waveform peaks pyramid ([`peaks`])
//! and findings about the file. G.711 sources, which browsers do not play, are transcoded
//! to PCM16 on the way ([`playback`]); MP3, FLAC and Ogg/Opus are served as uploaded.
//!
//! Two mono files of one call (one per party) are decoded with two recordings and
//! combined with [`parties::combine_parties`]; [`peaks_export`] writes a peaks level in
//! the audiowaveform `.dat` and JSON formats. [`Pcm16Peaks`] builds the peaks pyramid of
//! raw 16-bit PCM alone, without the other measurements.

mod block;
mod compressed;
mod decode;
pub mod detect;
mod g711;
pub mod levels;
pub mod limits;
mod ogg;
pub mod parties;
pub mod peaks;
pub mod peaks_export;
mod pcm16_peaks;
pub mod playback;
mod resample;
pub mod stages;
pub mod vad;
mod wav;

use callscope_api_types::Finding;
use callscope_api_types::audio::{AudioEncoding, AudioFormat, AudioSummary, ChannelActivity};

use self::compressed::CompressedInput;
use self::block::{MAX_BLOCK_FRAMES, SampleBlock};
use self::decode::{FLOAT_CLIP_MAGNITUDE, FrameDecoder};
use self::detect::Container;
use self::levels::LevelMeter;
use self::limits::{MAX_CHANNELS, MAX_DURATION_MS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use self::ogg::OggOpusInput;
use self::peaks::PeaksBuilder;
use self::stages::{Stage, StageClock, StageTimes};
pub use self::pcm16_peaks::Pcm16Peaks;
use self::vad::ChannelVad;
use self::wav::{WavEvent, WavFormat, WavParser};

/// Error from decoding a recording. Each message names the value that failed and what to
/// do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AudioError {
    /// The container or its header is malformed.
    #[error("{0}")]
    InvalidAudio(String),
    /// Well-formed, but an encoding or layout this version does not decode.
    #[error("{0}")]
    Unsupported(String),
    /// The recording exceeds a length or size limit.
    #[error("{0}")]
    TooLarge(String),
    /// A method was called after `finish`.
    #[error("the recording was already finished; create a new recording to decode another file")]
    Finished,
}

/// Finding code for a container sample rate that differs from the rate the call's
/// payload claims ([`Recording::expect_sample_rate`]).
pub const FINDING_SAMPLE_RATE_MISMATCH: &str = "sample-rate-mismatch";

/// Finding code for a container that declares a different number of frames than were
/// decoded (FLAC STREAMINFO, MP3 Xing/VBRI tag).
pub const FINDING_FRAME_COUNT_MISMATCH: &str = "frame-count-mismatch";

/// Finding code for compressed packets that failed to decode and were skipped.
pub const FINDING_PACKETS_SKIPPED: &str = "packets-skipped";

/// A recording decoded chunk by chunk.
pub struct Recording {
    input: Input,
    decoding: Option<Decoding>,
    claimed_sample_rate: Option<u32>,
    state: State,
    /// Whether [`Self::measure_stages`] was called.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    measure_stages: bool,
    /// Time of `push` and `finish` calls while measuring.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    measured_total: std::time::Duration,
    /// The stage times of the finished decoding.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    finished_stages: StageTimes,
}

enum State {
    Open,
    /// An error stopped decoding; every later call returns it again.
    Failed(AudioError),
    Finished,
}

/// The container parser, chosen once the first bytes are known.
enum Input {
    /// Fewer bytes than [`detect::DETECT_BYTES`] have arrived so far.
    Detecting(Vec<u8>),
    Wav(WavInput),
    Compressed(Box<CompressedInput>),
    OggOpus(Box<OggOpusInput>),
}

impl Recording {
    pub fn new() -> Self {
        Self {
            input: Input::Detecting(Vec::new()),
            decoding: None,
            claimed_sample_rate: None,
            state: State::Open,
            measure_stages: false,
            measured_total: std::time::Duration::ZERO,
            finished_stages: StageTimes::default(),
        }
    }

    /// Times each stage of decoding from now on, natively; [`Self::stage_times`]
    /// returns the sums. Call it before the first `push`: the blocks decoded in the
    /// call that reads the format are counted as decoding.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn measure_stages(&mut self) {
        self.measure_stages = true;
    }

    /// Returns the time of each stage so far, if [`Self::measure_stages`] was called.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn stage_times(&self) -> Option<StageTimes> {
        if !self.measure_stages {
            return None;
        }
        let measured = self.decoding.as_ref().map_or(self.finished_stages, |decoding| decoding.clock.times());
        Some(StageTimes { decode: self.measured_total.saturating_sub(measured.measured()), ..measured })
    }

    /// Records the sample rate that the call's payload claims for this recording. The
    /// container's rate is still used; a different claim becomes a
    /// [`FINDING_SAMPLE_RATE_MISMATCH`] finding in the summary.
    pub fn expect_sample_rate(&mut self, sample_rate: u32) {
        self.claimed_sample_rate = Some(sample_rate);
    }

    /// Feeds the next bytes of the file. Returns PCM16 LE playback bytes for this chunk
    /// when the source is not browser-playable (G.711), else an empty Vec.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, AudioError> {
        match &self.state {
            State::Open => {}
            State::Failed(error) => return Err(error.clone()),
            State::Finished => return Err(AudioError::Finished),
        }

        let mut playback = Vec::new();
        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let result = self.consume(chunk, &mut playback);
        #[cfg(not(target_arch = "wasm32"))]
        if self.measure_stages {
            self.measured_total += started.elapsed();
            if let Some(decoding) = &mut self.decoding {
                decoding.clock.enable();
            }
        }
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        result.map(|()| playback)
    }

    /// Ends the input, decodes what the container parsers still buffer and returns what
    /// decoding found.
    pub fn finish(&mut self) -> Result<AudioSummary, AudioError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Open => {}
            State::Failed(error) => return Err(error),
            State::Finished => return Err(AudioError::Finished),
        }

        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let result = self.finish_open();
        #[cfg(not(target_arch = "wasm32"))]
        if self.measure_stages {
            self.measured_total += started.elapsed();
        }
        result
    }

    fn finish_open(&mut self) -> Result<AudioSummary, AudioError> {
        let mut findings = Vec::new();
        match &mut self.input {
            Input::Detecting(head) => return Err(detect::too_short(head)),
            Input::Wav(input) => input.parser.finish()?,
            Input::Compressed(input) => input.finish(&mut self.decoding, &mut findings)?,
            Input::OggOpus(input) => input.finish()?,
        }

        let decoding = self.decoding.take().ok_or_else(|| match &self.input {
            Input::Wav(_) => AudioError::InvalidAudio("the WAV file has no fmt chunk; the file is malformed".into()),
            _ => AudioError::InvalidAudio("the file ended before its audio stream started; the file is truncated".into()),
        })?;

        if let Some(claimed) = self.claimed_sample_rate {
            let actual = decoding.format.sample_rate;
            if claimed != actual {
                findings.push(Finding {
                    code: FINDING_SAMPLE_RATE_MISMATCH.into(),
                    path: String::new(),
                    message: format!(
                        "the call payload claims a sample rate of {claimed} Hz but the recording's container \
                         declares {actual} Hz; times are measured at {actual} Hz"
                    ),
                });
            }
        }
        decoding.finish(findings, &mut self.finished_stages)
    }

    fn consume(&mut self, chunk: &[u8], playback: &mut Vec<u8>) -> Result<(), AudioError> {
        if let Input::Detecting(head) = &mut self.input {
            let missing = detect::DETECT_BYTES - head.len();
            let taken = missing.min(chunk.len());
            head.extend_from_slice(&chunk[..taken]);
            if head.len() < detect::DETECT_BYTES {
                return Ok(());
            }

            let head = std::mem::take(head);
            self.input = match detect::detect(&head)? {
                Container::Wav => Input::Wav(WavInput::new()),
                Container::Mp3 => Input::Compressed(Box::new(CompressedInput::mp3())),
                Container::Flac => Input::Compressed(Box::new(CompressedInput::flac())),
                Container::Ogg => Input::OggOpus(Box::new(OggOpusInput::new())),
            };
            self.consume_detected(&head, playback)?;
            return self.consume_detected(&chunk[taken..], playback);
        }
        self.consume_detected(chunk, playback)
    }

    fn consume_detected(&mut self, chunk: &[u8], playback: &mut Vec<u8>) -> Result<(), AudioError> {
        match &mut self.input {
            Input::Detecting(_) => Ok(()),
            Input::Wav(input) => input.push(chunk, &mut self.decoding, playback),
            Input::Compressed(input) => input.push(chunk, &mut self.decoding),
            Input::OggOpus(input) => input.push(chunk, &mut self.decoding),
        }
    }
}

impl Default for Recording {
    fn default() -> Self {
        Self::new()
    }
}

/// Decodes a whole file fed in chunks of `chunk_size` bytes and returns the summary with
/// the concatenated playback bytes.
pub fn analyse_bytes(bytes: &[u8], chunk_size: usize) -> Result<(AudioSummary, Vec<u8>), AudioError> {
    let mut recording = Recording::new();
    let mut playback = Vec::new();
    for chunk in bytes.chunks(chunk_size.max(1)) {
        playback.extend(recording.push(chunk)?);
    }
    let summary = recording.finish()?;
    Ok((summary, playback))
}

/// A RIFF/WAVE file: the container parser and, once the `fmt ` chunk is read, the
/// sample decoder.
struct WavInput {
    parser: WavParser,
    format: Option<WavFormat>,
    decoder: Option<FrameDecoder>,
}

impl WavInput {
    fn new() -> Self {
        Self { parser: WavParser::new(), format: None, decoder: None }
    }

    fn push(&mut self, chunk: &[u8], decoding: &mut Option<Decoding>, playback: &mut Vec<u8>) -> Result<(), AudioError> {
        let mut input = chunk;
        while let Some(event) = self.parser.next_event(&mut input)? {
            match event {
                WavEvent::Format(format) => {
                    self.format = Some(format);
                    self.decoder = Some(FrameDecoder::new(&format));
                    *decoding = Some(Decoding::new(StreamFormat {
                        encoding: format.encoding,
                        sample_rate: format.sample_rate,
                        channels: format.channels,
                        bits_per_sample: format.bits_per_sample,
                    })?);
                }

                WavEvent::DataStart { declared_bytes } => {
                    if let (Some(decoding), Some(format), Some(bytes)) = (decoding.as_ref(), self.format, declared_bytes) {
                        let frames = u64::from(bytes) / u64::from(format.block_align);
                        decoding.check_declared_frames(frames)?;
                    }
                }

                WavEvent::Data(bytes) => {
                    if let (Some(decoder), Some(decoding)) = (&mut self.decoder, decoding.as_mut()) {
                        decoding.reserve_playback(bytes.len() / usize::from(decoding.format.channels), playback);
                        decoder.decode(bytes, |block| decoding.add_block(block, playback));
                        decoding.check_length()?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Rejects a channel count or sample rate outside what is decoded.
fn check_layout(channels: u16, sample_rate: u32) -> Result<(), AudioError> {
    if channels == 0 {
        return Err(AudioError::InvalidAudio("the audio stream declares 0 channels; the file is malformed".into()));
    }
    if channels > MAX_CHANNELS {
        return Err(AudioError::Unsupported(format!(
            "the audio stream declares {channels} channels; at most {MAX_CHANNELS} are decoded"
        )));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate) {
        return Err(AudioError::InvalidAudio(format!(
            "the audio stream declares a sample rate of {sample_rate} Hz; expected {MIN_SAMPLE_RATE_HZ} to \
             {MAX_SAMPLE_RATE_HZ} Hz"
        )));
    }
    Ok(())
}

/// Returns the error for a stream of `frames` frames beyond the duration limit.
fn too_long(frames: u64, sample_rate: u32, verb: &str) -> AudioError {
    let hours = frames as f64 / f64::from(sample_rate) / 3600.0;
    AudioError::TooLarge(format!(
        "the recording {verb} {frames} frames ({hours:.1} h at {sample_rate} Hz); recordings up to {} h are \
         accepted, split longer ones",
        MAX_DURATION_MS / 3_600_000
    ))
}

/// Returns the most frames a stream at `sample_rate` Hz may have.
fn max_frames(sample_rate: u32) -> u64 {
    MAX_DURATION_MS * u64::from(sample_rate) / 1000
}

/// The layout of the decoded stream, as the container declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamFormat {
    pub encoding: AudioEncoding,
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample in the source (for compressed formats, the decoder's resolution).
    pub bits_per_sample: u16,
}

/// Measurement state of a recording once its format is known. Every container feeds it
/// decoded frames.
pub(crate) struct Decoding {
    format: StreamFormat,
    levels: LevelMeter,
    peaks: PeaksBuilder,
    speech: Vec<ChannelVad>,
    transcode: bool,
    frames: u64,
    max_frames: u64,
    /// Reused for the samples of decoders whose output is interleaved floats.
    interleaved: SampleBlock,
    clock: StageClock,
}

impl Decoding {
    fn new(format: StreamFormat) -> Result<Self, AudioError> {
        check_layout(format.channels, format.sample_rate)?;

        Ok(Self {
            format,
            levels: LevelMeter::new(format.channels),
            peaks: PeaksBuilder::new(format.channels, format.sample_rate),
            speech: (0..format.channels).map(|_| ChannelVad::new(format.sample_rate)).collect(),
            transcode: !format.encoding.browser_playable(),
            frames: 0,
            max_frames: max_frames(format.sample_rate),
            interleaved: SampleBlock::new(format.channels),
            clock: StageClock::default(),
        })
    }

    /// Rejects a stream whose declared length exceeds the duration limit before any of
    /// it is decoded.
    fn check_declared_frames(&self, frames: u64) -> Result<(), AudioError> {
        if frames > self.max_frames {
            return Err(self.too_long(frames, "declares"));
        }
        Ok(())
    }

    fn reserve_playback(&self, frames: usize, playback: &mut Vec<u8>) {
        if self.transcode {
            playback.reserve(frames * usize::from(self.format.channels) * 2);
        }
    }

    /// Measures a block of frames, each measurement one channel at a time.
    fn add_block(&mut self, block: &SampleBlock, playback: &mut Vec<u8>) {
        let clock = &mut self.clock;
        clock.time(Stage::LevelsAndPeaks, || {
            self.levels.add_block(block);
            self.peaks.add_interleaved(block.pcm16());
        });
        for (channel, vad) in self.speech.iter_mut().enumerate() {
            vad.push_timed(block.channel(channel), clock);
        }
        if self.transcode {
            clock.time(Stage::Transcode, || playback::push_pcm16(block.pcm16(), playback));
        }
        self.frames += block.frames() as u64;
    }

    /// Measures interleaved frames from a decoder whose output is float; a sample at or
    /// beyond one 16-bit step below full scale counts as clipped.
    fn add_interleaved(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let channels = usize::from(self.format.channels);
        let mut block = std::mem::take(&mut self.interleaved);
        let mut unused_playback = Vec::new();
        for frames in samples.chunks(MAX_BLOCK_FRAMES * channels) {
            block.fill_interleaved(frames, FLOAT_CLIP_MAGNITUDE);
            self.add_block(&block, &mut unused_playback);
        }
        self.interleaved = block;
        self.check_length()
    }

    fn check_length(&self) -> Result<(), AudioError> {
        if self.frames > self.max_frames {
            return Err(self.too_long(self.frames, "contains at least"));
        }
        Ok(())
    }

    /// Returns the summary and stores the time of each stage in `stage_times`.
    fn finish(mut self, findings: Vec<Finding>, stage_times: &mut StageTimes) -> Result<AudioSummary, AudioError> {
        let format = self.format;
        let duration_ms = (self.frames * 1000 / u64::from(format.sample_rate)) as i64;

        let playback_wav_header = if self.transcode {
            Some(playback::wav_header(format.sample_rate, format.channels, self.frames)?)
        } else {
            None
        };

        let speech = std::mem::take(&mut self.speech);
        let activity = self.clock.time(Stage::Speech, || {
            speech
                .into_iter()
                .enumerate()
                .map(|(channel, vad)| ChannelActivity { channel: channel as u16, speech: vad.finish(duration_ms) })
                .collect()
        });
        let peaks = self.clock.time(Stage::LevelsAndPeaks, || self.peaks.finish());
        *stage_times = self.clock.times();

        Ok(AudioSummary {
            format: AudioFormat {
                encoding: format.encoding,
                sample_rate: format.sample_rate,
                channels: format.channels,
                bits_per_sample: format.bits_per_sample,
                frames: self.frames,
                duration_ms,
            },
            activity,
            levels: self.levels.levels(),
            peaks,
            playback_wav_header,
            findings,
        })
    }

    fn too_long(&self, frames: u64, verb: &str) -> AudioError {
        too_long(frames, self.format.sample_rate, verb)
    }
}
