//! Incremental RIFF/WAVE container parser.
//!
//! The parser is a state machine fed arbitrary slices of the file. It buffers only the
//! 12-byte RIFF header, 8-byte chunk headers and the `fmt ` chunk body (capped at
//! [`MAX_FMT_CHUNK_BYTES`]); every other chunk is skipped without buffering, and the bytes
//! of the `data` chunk are handed out as borrowed slices of the input.

use callscope_api_types::audio::AudioEncoding;

use super::AudioError;
use super::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};

/// Largest `fmt ` chunk accepted. WAVE_FORMAT_EXTENSIBLE needs 40 bytes; some writers
/// append a few codec-specific bytes, but nothing legitimate comes close to 1 KiB.
const MAX_FMT_CHUNK_BYTES: u32 = 1024;

const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Bytes 2..16 of every `KSDATAFORMAT_SUBTYPE_*` GUID that maps a classic format tag:
/// `{0000xxxx-0000-0010-8000-00aa00389b71}` as stored little-endian in the file.
const SUBFORMAT_GUID_TAIL: [u8; 14] =
    [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

/// Data chunk sizes that streaming writers emit when the length was not known yet.
const DATA_SIZE_UNKNOWN: [u32; 2] = [0, u32::MAX];

/// The decodable layout described by the `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub encoding: AudioEncoding,
    pub sample_rate: u32,
    pub channels: u16,
    /// Container bits per sample (8, 16, 24 or 32).
    pub bits_per_sample: u16,
    /// Bytes per sample frame: `channels * bits_per_sample / 8`.
    pub block_align: u16,
}

/// Item the parser found in the next part of the input.
#[derive(Debug, PartialEq, Eq)]
pub enum WavEvent<'a> {
    /// The `fmt ` chunk was read and validated. Emitted once, before any data.
    Format(WavFormat),
    /// The `data` chunk starts, with its declared length in bytes (`None`: read to end).
    DataStart { declared_bytes: Option<u32> },
    /// The next bytes of the `data` chunk.
    Data(&'a [u8]),
}

#[derive(Debug)]
enum State {
    RiffHeader,
    ChunkHeader,
    FmtBody { size: u32 },
    Skip { remaining: u64 },
    Data { remaining: Option<u64>, padded: bool },
    /// The data chunk was read completely; later chunks are skipped.
    Trailer,
}

#[derive(Debug)]
pub struct WavParser {
    state: State,
    /// Header bytes collected across input slices.
    pending: Vec<u8>,
    format: Option<WavFormat>,
    data_declared: Option<u32>,
    data_received: u64,
    data_seen: bool,
    bytes_in: u64,
}

impl WavParser {
    pub fn new() -> Self {
        Self {
            state: State::RiffHeader,
            pending: Vec::with_capacity(16),
            format: None,
            data_declared: None,
            data_received: 0,
            data_seen: false,
            bytes_in: 0,
        }
    }

    /// Parses from the front of `input`, advancing it past what was consumed, and returns
    /// the next event, or `None` once `input` is exhausted.
    pub fn next_event<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<WavEvent<'a>>, AudioError> {
        loop {
            if input.is_empty() {
                return Ok(None);
            }

            match self.state {
                State::RiffHeader => {
                    if let Some(header) = self.collect(input, 12) {
                        check_riff_header(&header)?;
                        self.state = State::ChunkHeader;
                    }
                }

                State::ChunkHeader => {
                    if let Some(header) = self.collect(input, 8) {
                        if let Some(event) = self.start_chunk(&header)? {
                            return Ok(Some(event));
                        }
                    }
                }

                State::FmtBody { size } => {
                    if let Some(body) = self.collect(input, size as usize) {
                        let format = parse_fmt(&body)?;
                        self.format = Some(format);
                        self.state = skip_state(u64::from(size & 1));
                        return Ok(Some(WavEvent::Format(format)));
                    }
                }

                State::Skip { remaining } => {
                    let taken = remaining.min(input.len() as u64);
                    self.advance(input, taken as usize);
                    let remaining = remaining - taken;
                    if remaining == 0 {
                        self.state = if self.data_seen { State::Trailer } else { State::ChunkHeader };
                    } else {
                        self.state = State::Skip { remaining };
                    }
                }

                State::Data { remaining, padded } => {
                    let available = input.len() as u64;
                    let taken = remaining.map_or(available, |r| r.min(available)) as usize;
                    let (data, rest) = input.split_at(taken);
                    self.bytes_in += taken as u64;
                    self.data_received += taken as u64;
                    *input = rest;

                    let remaining = remaining.map(|r| r - taken as u64);
                    if remaining == Some(0) {
                        self.state = if padded { State::Skip { remaining: 1 } } else { State::Trailer };
                    } else {
                        self.state = State::Data { remaining, padded };
                    }
                    if !data.is_empty() {
                        return Ok(Some(WavEvent::Data(data)));
                    }
                }

                State::Trailer => {
                    // Chunks after the data (LIST, id3, padding from editors) carry no
                    // samples, and a truncated one at the end of the file is harmless.
                    let len = input.len();
                    self.advance(input, len);
                }
            }
        }
    }

    /// Checks that the input ended at a place where a complete recording was read.
    pub fn finish(&self) -> Result<(), AudioError> {
        if self.bytes_in == 0 {
            return Err(AudioError::InvalidAudio(
                "the recording is empty (0 bytes received); upload a WAV file".into(),
            ));
        }

        if !self.data_seen {
            let place = if self.format.is_none() { "before the fmt chunk" } else { "before the data chunk" };
            return Err(AudioError::InvalidAudio(format!(
                "the WAV file ended after {} bytes, {place}; the file is truncated or not a WAV file",
                self.bytes_in
            )));
        }

        if let (State::Data { remaining: Some(_), .. }, Some(declared)) = (&self.state, self.data_declared) {
            return Err(AudioError::InvalidAudio(format!(
                "the WAV data chunk declares {declared} bytes but the file ended after {} of them; \
                 the upload is truncated, upload the complete file",
                self.data_received
            )));
        }

        Ok(())
    }

    /// Appends bytes from `input` to `pending` until it holds `needed` bytes, then
    /// returns them and clears `pending`.
    fn collect(&mut self, input: &mut &[u8], needed: usize) -> Option<Vec<u8>> {
        let missing = needed - self.pending.len();
        let taken = missing.min(input.len());
        self.pending.extend_from_slice(&input[..taken]);
        self.advance(input, taken);

        if self.pending.len() == needed {
            Some(std::mem::take(&mut self.pending))
        } else {
            None
        }
    }

    fn advance(&mut self, input: &mut &[u8], count: usize) {
        *input = &input[count..];
        self.bytes_in += count as u64;
    }

    fn start_chunk<'a>(&mut self, header: &[u8]) -> Result<Option<WavEvent<'a>>, AudioError> {
        let id = &header[0..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let pad = u64::from(size & 1);

        match id {
            b"fmt " => {
                if self.format.is_some() {
                    return Err(AudioError::InvalidAudio(
                        "the WAV file has two fmt chunks; the file is malformed".into(),
                    ));
                }
                if !(16..=MAX_FMT_CHUNK_BYTES).contains(&size) {
                    return Err(AudioError::InvalidAudio(format!(
                        "the WAV fmt chunk is {size} bytes; expected 16 to {MAX_FMT_CHUNK_BYTES}, \
                         the file is malformed"
                    )));
                }
                self.state = State::FmtBody { size };
                Ok(None)
            }

            b"data" => {
                if self.format.is_none() {
                    return Err(AudioError::InvalidAudio(
                        "the WAV data chunk comes before the fmt chunk, so its samples cannot be decoded; \
                         the file is malformed"
                            .into(),
                    ));
                }
                self.data_seen = true;
                let declared = (!DATA_SIZE_UNKNOWN.contains(&size)).then_some(size);
                self.data_declared = declared;
                self.state = State::Data { remaining: declared.map(u64::from), padded: pad == 1 };
                Ok(Some(WavEvent::DataStart { declared_bytes: declared }))
            }

            _ => {
                self.state = skip_state(u64::from(size) + pad);
                Ok(None)
            }
        }
    }
}

impl Default for WavParser {
    fn default() -> Self {
        Self::new()
    }
}

fn skip_state(bytes: u64) -> State {
    if bytes == 0 { State::ChunkHeader } else { State::Skip { remaining: bytes } }
}

fn check_riff_header(header: &[u8]) -> Result<(), AudioError> {
    let form = &header[0..4];
    let kind = &header[8..12];

    if form == b"RIFF" && kind == b"WAVE" {
        return Ok(());
    }
    if form == b"RIFX" || form == b"RF64" || form == b"BW64" {
        return Err(AudioError::Unsupported(format!(
            "{} WAV files are not decoded yet; convert the file to a RIFF WAV",
            String::from_utf8_lossy(form)
        )));
    }
    Err(AudioError::InvalidAudio(format!(
        "not a WAV file: the first bytes are {:02x?}, expected \"RIFF\" and \"WAVE\"",
        &header[..12]
    )))
}

/// Parses and validates a `fmt ` chunk body.
fn parse_fmt(body: &[u8]) -> Result<WavFormat, AudioError> {
    let u16_at = |offset: usize| u16::from_le_bytes([body[offset], body[offset + 1]]);
    let u32_at = |offset: usize| {
        u32::from_le_bytes([body[offset], body[offset + 1], body[offset + 2], body[offset + 3]])
    };

    let mut format_tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32_at(4);
    let block_align = u16_at(12);
    let bits_per_sample = u16_at(14);

    if format_tag == WAVE_FORMAT_EXTENSIBLE {
        format_tag = extensible_subformat(body)?;
    }

    if channels == 0 {
        return Err(AudioError::InvalidAudio("the WAV header declares 0 channels; the file is malformed".into()));
    }
    if channels > MAX_CHANNELS {
        return Err(AudioError::Unsupported(format!(
            "the WAV header declares {channels} channels; at most {MAX_CHANNELS} are decoded"
        )));
    }
    if sample_rate == 0 {
        return Err(AudioError::InvalidAudio("the WAV header declares a sample rate of 0 Hz; the file is malformed".into()));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate) {
        return Err(AudioError::InvalidAudio(format!(
            "the WAV header declares a sample rate of {sample_rate} Hz; expected \
             {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz"
        )));
    }

    let encoding = encoding_for(format_tag, bits_per_sample)?;

    let expected_align = u32::from(channels) * u32::from(bits_per_sample / 8);
    if u32::from(block_align) != expected_align {
        return Err(AudioError::InvalidAudio(format!(
            "the WAV header declares a block align of {block_align} bytes, but {channels} channels of \
             {bits_per_sample}-bit samples need {expected_align}; the file is malformed"
        )));
    }

    Ok(WavFormat { encoding, sample_rate, channels, bits_per_sample, block_align })
}

/// Returns the classic format tag that a WAVE_FORMAT_EXTENSIBLE sub-format GUID names.
fn extensible_subformat(body: &[u8]) -> Result<u16, AudioError> {
    if body.len() < 40 {
        return Err(AudioError::InvalidAudio(format!(
            "the WAV fmt chunk is WAVE_FORMAT_EXTENSIBLE but only {} bytes long; it needs 40",
            body.len()
        )));
    }

    let guid = &body[24..40];
    if guid[2..16] != SUBFORMAT_GUID_TAIL {
        return Err(AudioError::Unsupported(format!(
            "the WAV sub-format GUID {guid:02x?} is not a PCM, float or G.711 format; convert the \
             file to PCM WAV"
        )));
    }
    Ok(u16::from_le_bytes([guid[0], guid[1]]))
}

fn encoding_for(format_tag: u16, bits: u16) -> Result<AudioEncoding, AudioError> {
    let encoding = match (format_tag, bits) {
        (WAVE_FORMAT_PCM, 8) => AudioEncoding::Pcm8,
        (WAVE_FORMAT_PCM, 16) => AudioEncoding::Pcm16,
        (WAVE_FORMAT_PCM, 24) => AudioEncoding::Pcm24,
        (WAVE_FORMAT_PCM, 32) => AudioEncoding::Pcm32,
        (WAVE_FORMAT_IEEE_FLOAT, 32) => AudioEncoding::Float32,
        (WAVE_FORMAT_MULAW, 8) => AudioEncoding::Mulaw,
        (WAVE_FORMAT_ALAW, 8) => AudioEncoding::Alaw,

        (WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT | WAVE_FORMAT_MULAW | WAVE_FORMAT_ALAW, _) => {
            return Err(AudioError::Unsupported(format!(
                "{bits}-bit samples of WAV format tag {format_tag:#06x} are not decoded; convert the \
                 file to 16-bit PCM"
            )));
        }

        _ => {
            return Err(AudioError::Unsupported(format!(
                "WAV format tag {format_tag:#06x} is not decoded; supported are PCM (0x0001), IEEE \
                 float (0x0003), A-law (0x0006) and mu-law (0x0007)"
            )));
        }
    };
    Ok(encoding)
}
