//! Decoding and measurement of call recordings.
//!
//! A [`Recording`] is fed the bytes of a WAV file in chunks of any size and keeps memory
//! bounded however long the file is: samples are decoded, measured and dropped as they
//! arrive. [`Recording::finish`] returns the format, the speech segments of every channel
//! ([`vad`]), level statistics ([`levels`]) and a waveform peaks pyramid ([`peaks`]).
//! G.711 sources, which browsers do not play, are transcoded to PCM16 on the way
//! ([`playback`]).

mod decode;
mod g711;
pub mod levels;
pub mod limits;
pub mod peaks;
pub mod playback;
mod resample;
pub mod vad;
mod wav;

use callscope_api_types::audio::{AudioFormat, AudioSummary, ChannelActivity};

use self::decode::FrameDecoder;
use self::levels::LevelMeter;
use self::limits::MAX_DURATION_MS;
use self::peaks::PeaksBuilder;
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

/// A recording decoded chunk by chunk.
pub struct Recording {
    parser: WavParser,
    decoding: Option<Decoding>,
    state: State,
}

enum State {
    Open,
    /// An error stopped decoding; every later call returns it again.
    Failed(AudioError),
    Finished,
}

impl Recording {
    pub fn new() -> Self {
        Self { parser: WavParser::new(), decoding: None, state: State::Open }
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
        let result = self.consume(chunk, &mut playback);
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        result.map(|()| playback)
    }

    /// Ends the input and returns what decoding found.
    pub fn finish(&mut self) -> Result<AudioSummary, AudioError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Open => {}
            State::Failed(error) => return Err(error),
            State::Finished => return Err(AudioError::Finished),
        }

        self.parser.finish()?;
        let decoding = self.decoding.take().ok_or_else(|| {
            AudioError::InvalidAudio("the WAV file has no fmt chunk; the file is malformed".into())
        })?;
        decoding.finish()
    }

    fn consume(&mut self, chunk: &[u8], playback: &mut Vec<u8>) -> Result<(), AudioError> {
        let mut input = chunk;
        while let Some(event) = self.parser.next_event(&mut input)? {
            match event {
                WavEvent::Format(format) => self.decoding = Some(Decoding::new(format)),

                WavEvent::DataStart { declared_bytes } => {
                    if let (Some(decoding), Some(bytes)) = (&self.decoding, declared_bytes) {
                        decoding.check_declared_length(bytes)?;
                    }
                }

                WavEvent::Data(bytes) => {
                    if let Some(decoding) = &mut self.decoding {
                        decoding.decode(bytes, playback)?;
                    }
                }
            }
        }
        Ok(())
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

/// State of a recording once its format is known.
struct Decoding {
    format: WavFormat,
    decoder: FrameDecoder,
    levels: LevelMeter,
    peaks: PeaksBuilder,
    speech: Vec<ChannelVad>,
    transcode: bool,
    frames: u64,
    max_frames: u64,
}

impl Decoding {
    fn new(format: WavFormat) -> Self {
        Self {
            format,
            decoder: FrameDecoder::new(&format),
            levels: LevelMeter::new(format.channels),
            peaks: PeaksBuilder::new(format.channels, format.sample_rate),
            speech: (0..format.channels).map(|_| ChannelVad::new(format.sample_rate)).collect(),
            transcode: !format.encoding.browser_playable(),
            frames: 0,
            max_frames: MAX_DURATION_MS * u64::from(format.sample_rate) / 1000,
        }
    }

    /// Rejects a data chunk whose declared length exceeds the duration limit before any
    /// of it is decoded.
    fn check_declared_length(&self, bytes: u32) -> Result<(), AudioError> {
        let frames = u64::from(bytes) / u64::from(self.format.block_align);
        if frames > self.max_frames {
            return Err(self.too_long(frames, "declares"));
        }
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], playback: &mut Vec<u8>) -> Result<(), AudioError> {
        let channels = usize::from(self.format.channels);
        if self.transcode {
            playback.reserve(bytes.len() / usize::from(self.format.block_align) * channels * 2);
        }

        let Self { decoder, levels, peaks, speech, transcode, frames, .. } = self;
        decoder.decode(bytes, |frame| {
            let samples = &frame.samples[..channels];
            levels.add_frame(samples, &frame.clipped[..channels]);
            peaks.add_frame(samples);
            for (vad, &sample) in speech.iter_mut().zip(samples) {
                vad.push(sample);
            }
            if *transcode {
                playback::push_pcm16_frame(samples, playback);
            }
            *frames += 1;
        });

        if self.frames > self.max_frames {
            return Err(self.too_long(self.frames, "contains at least"));
        }
        Ok(())
    }

    fn finish(self) -> Result<AudioSummary, AudioError> {
        let format = self.format;
        let duration_ms = (self.frames * 1000 / u64::from(format.sample_rate)) as i64;

        let playback_wav_header = if self.transcode {
            Some(playback::wav_header(format.sample_rate, format.channels, self.frames)?)
        } else {
            None
        };

        let activity = self
            .speech
            .into_iter()
            .enumerate()
            .map(|(channel, vad)| ChannelActivity { channel: channel as u16, speech: vad.finish(duration_ms) })
            .collect();

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
            peaks: self.peaks.finish(),
            playback_wav_header,
        })
    }

    fn too_long(&self, frames: u64, verb: &str) -> AudioError {
        let hours = frames as f64 / f64::from(self.format.sample_rate) / 3600.0;
        AudioError::TooLarge(format!(
            "the recording {verb} {frames} frames ({hours:.1} h at {} Hz); recordings up to {} h are \
             accepted, split longer ones",
            self.format.sample_rate,
            MAX_DURATION_MS / 3_600_000
        ))
    }
}
