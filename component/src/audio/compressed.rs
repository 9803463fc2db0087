//! MP3 and FLAC decoding with symphonia, fed in chunks.
//!
//! symphonia's demuxers pull bytes through a blocking `MediaSource`, while a
//! [`Recording`](super::Recording) is pushed chunks. The bridge is a byte queue that the
//! `MediaSource` reads from: packets are only demuxed while the queue holds at least
//! [`LOOKAHEAD_BYTES`] (or the input has ended), so the demuxer never reaches the end of
//! what has arrived in the middle of a frame. Guest memory per recording is therefore the
//! queue (at most [`QUEUE_MAX_BYTES`]), symphonia's 64 KiB read buffer and one decoded
//! packet, whatever the file length. The cost is a limit: a single frame, or a run of
//! junk between frames, longer than [`LOOKAHEAD_BYTES`] is rejected.
//!
//! Metadata before the audio is skipped here without buffering, because symphonia would
//! read it whole: ID3v2 tags (which may embed cover art) before an MP3 stream, and every
//! FLAC metadata block except STREAMINFO. The stream is reported as not seekable, so the
//! demuxers never seek to estimate a duration.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, MutexGuard};

use callscope_api_types::Finding;
use callscope_api_types::audio::AudioEncoding;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::default::codecs::{FlacDecoder, MpaDecoder};
use symphonia::default::formats::{FlacReader, MpaReader};

use super::{AudioError, Decoding, FINDING_FRAME_COUNT_MISMATCH, FINDING_PACKETS_SKIPPED, StreamFormat};

/// Bytes that must be queued before the next packet is demuxed. The largest MP3 frame is
/// 2,881 bytes (free format aside) and a FLAC frame of 4,608 samples of 8 channels of
/// 24 bits stays under 128 KiB; 1 MiB leaves room for junk between frames.
pub const LOOKAHEAD_BYTES: usize = 1 << 20;

/// Most bytes queued at once: the lookahead plus one host chunk's worth of room, so a
/// large chunk is taken in steps instead of being copied whole.
pub const QUEUE_MAX_BYTES: usize = 2 * LOOKAHEAD_BYTES;

/// Size of a FLAC STREAMINFO metadata block body.
const FLAC_STREAMINFO_BYTES: usize = 34;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mp3,
    Flac,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mp3 => "MP3",
            Kind::Flac => "FLAC",
        }
    }
}

/// Bytes shared between the recording, which appends them, and the demuxer, which reads
/// them through [`FeedSource`].
#[derive(Default)]
struct Feed {
    bytes: VecDeque<u8>,
    /// The host called `finish`: an empty queue is the end of the file.
    ended: bool,
    /// The demuxer read from an empty queue before the input ended.
    starved: bool,
}

/// The `MediaSource` end of the queue.
struct FeedSource(Arc<Mutex<Feed>>);

fn lock(feed: &Mutex<Feed>) -> MutexGuard<'_, Feed> {
    // A panic while holding the lock cannot leave the queue inconsistent, and the
    // component aborts on panic anyway.
    feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Read for FeedSource {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let mut feed = lock(&self.0);
        if feed.bytes.is_empty() {
            if !feed.ended {
                feed.starved = true;
            }
            return Ok(0);
        }

        let (front, _) = feed.bytes.as_slices();
        let count = front.len().min(buffer.len());
        buffer[..count].copy_from_slice(&front[..count]);
        feed.bytes.drain(..count);
        Ok(count)
    }
}

impl Seek for FeedSource {
    fn seek(&mut self, _position: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "a pushed recording cannot seek"))
    }
}

impl MediaSource for FeedSource {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        None
    }
}

/// What comes before the audio frames.
enum Prelude {
    /// MP3: reading a 10-byte ID3v2 header, or the first frame header in its place.
    Id3Header,
    /// Skipping the body of a tag or metadata block.
    Skip { remaining: u64, then: Box<Prelude> },
    /// FLAC: reading the `fLaC` marker.
    FlacMarker,
    /// FLAC: reading a 4-byte metadata block header.
    FlacBlockHeader,
    /// FLAC: reading the STREAMINFO body.
    FlacStreamInfo { last: bool },
    /// Audio frames follow; everything is queued for the demuxer.
    Done,
}

/// An MP3 or FLAC file being decoded.
pub struct CompressedInput {
    kind: Kind,
    prelude: Prelude,
    /// Header bytes collected across chunks while in the prelude.
    pending: Vec<u8>,
    /// The FLAC STREAMINFO body, kept to hand to the demuxer.
    stream_info: Option<Vec<u8>>,
    feed: Arc<Mutex<Feed>>,
    /// `None` until enough bytes are queued to read the first frame.
    reader: Option<Box<dyn FormatReader>>,
    decoder: Option<Box<dyn AudioDecoder>>,
    /// Frames the container declares (FLAC STREAMINFO, MP3 Xing/VBRI tag).
    declared_frames: Option<u64>,
    /// The demuxer reported the end of the stream; later bytes are ignored.
    stream_ended: bool,
    skipped_packets: u64,
    first_skip_error: Option<String>,
    samples: Vec<f32>,
}

impl CompressedInput {
    pub fn mp3() -> Self {
        Self::new(Kind::Mp3, Prelude::Id3Header)
    }

    pub fn flac() -> Self {
        Self::new(Kind::Flac, Prelude::FlacMarker)
    }

    fn new(kind: Kind, prelude: Prelude) -> Self {
        Self {
            kind,
            prelude,
            pending: Vec::new(),
            stream_info: None,
            feed: Arc::new(Mutex::new(Feed::default())),
            reader: None,
            decoder: None,
            declared_frames: None,
            stream_ended: false,
            skipped_packets: 0,
            first_skip_error: None,
            samples: Vec::new(),
        }
    }

    pub fn push(&mut self, chunk: &[u8], decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        let mut input = chunk;
        while !input.is_empty() && !matches!(self.prelude, Prelude::Done) {
            self.read_prelude(&mut input)?;
        }

        while !input.is_empty() {
            if self.stream_ended {
                return Ok(());
            }
            let room = QUEUE_MAX_BYTES - lock(&self.feed).bytes.len();
            let (taken, rest) = input.split_at(room.min(input.len()));
            lock(&self.feed).bytes.extend(taken);
            input = rest;
            self.pump(decoding)?;
        }
        Ok(())
    }

    /// Decodes everything still queued and adds findings about the stream.
    pub fn finish(&mut self, decoding: &mut Option<Decoding>, findings: &mut Vec<Finding>) -> Result<(), AudioError> {
        match &self.prelude {
            Prelude::Done => {}
            // A file that is only an MP3 header's worth of bytes: let the demuxer judge it.
            Prelude::Id3Header if self.kind == Kind::Mp3 => {
                let pending = std::mem::take(&mut self.pending);
                lock(&self.feed).bytes.extend(pending);
            }
            _ => {
                return Err(AudioError::InvalidAudio(format!(
                    "the {} file ended inside its metadata, before any audio frame; the upload is truncated",
                    self.kind.name()
                )));
            }
        }

        lock(&self.feed).ended = true;
        self.pump(decoding)?;

        let Some(decoding) = decoding.as_ref() else {
            return Ok(());
        };
        if self.skipped_packets > 0 {
            findings.push(Finding {
                code: FINDING_PACKETS_SKIPPED.into(),
                path: String::new(),
                message: format!(
                    "{} {} packets could not be decoded and were skipped (first error: {}); the \
                     recording has gaps there",
                    self.skipped_packets,
                    self.kind.name(),
                    self.first_skip_error.as_deref().unwrap_or("unknown")
                ),
            });
        }
        if let Some(declared) = self.declared_frames {
            if declared != decoding.frames {
                findings.push(Finding {
                    code: FINDING_FRAME_COUNT_MISMATCH.into(),
                    path: String::new(),
                    message: format!(
                        "the {} header declares {declared} frames but {} were decoded; the duration is \
                         taken from the decoded frames",
                        self.kind.name(),
                        decoding.frames
                    ),
                });
            }
        }
        Ok(())
    }

    /// Consumes prelude bytes from the front of `input`.
    fn read_prelude(&mut self, input: &mut &[u8]) -> Result<(), AudioError> {
        match &mut self.prelude {
            Prelude::Done => {}

            Prelude::Skip { remaining, then } => {
                let taken = (*remaining).min(input.len() as u64);
                *input = &input[taken as usize..];
                *remaining -= taken;
                if *remaining == 0 {
                    let next = std::mem::replace(then.as_mut(), Prelude::Done);
                    self.prelude = next;
                }
            }

            Prelude::Id3Header => {
                let Some(header) = collect(&mut self.pending, input, 10) else { return Ok(()) };
                if header.starts_with(b"ID3") {
                    let size = syncsafe(&header[6..10]);
                    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
                    self.prelude = skip_then(size + footer, Prelude::Id3Header);
                } else {
                    lock(&self.feed).bytes.extend(&header);
                    self.prelude = Prelude::Done;
                }
            }

            Prelude::FlacMarker => {
                let Some(marker) = collect(&mut self.pending, input, 4) else { return Ok(()) };
                if marker != b"fLaC" {
                    return Err(AudioError::InvalidAudio(format!(
                        "not a FLAC file: the first bytes are {marker:02x?}, expected \"fLaC\""
                    )));
                }
                self.prelude = Prelude::FlacBlockHeader;
            }

            Prelude::FlacBlockHeader => {
                let Some(header) = collect(&mut self.pending, input, 4) else { return Ok(()) };
                let last = header[0] & 0x80 != 0;
                let block_type = header[0] & 0x7F;
                let length = u32::from_be_bytes([0, header[1], header[2], header[3]]);

                if block_type == 0 {
                    if self.stream_info.is_some() || length as usize != FLAC_STREAMINFO_BYTES {
                        return Err(AudioError::InvalidAudio(format!(
                            "the FLAC file has a second or {length}-byte STREAMINFO block; it must have one \
                             of {FLAC_STREAMINFO_BYTES} bytes"
                        )));
                    }
                    self.prelude = Prelude::FlacStreamInfo { last };
                } else if block_type == 127 {
                    return Err(AudioError::InvalidAudio(
                        "the FLAC file has a metadata block of the invalid type 127; the file is malformed".into(),
                    ));
                } else {
                    let next = if last { Prelude::Done } else { Prelude::FlacBlockHeader };
                    self.prelude = skip_then(u64::from(length), next);
                    if last {
                        self.queue_flac_header()?;
                    }
                }
            }

            Prelude::FlacStreamInfo { last } => {
                let last = *last;
                let Some(body) = collect(&mut self.pending, input, FLAC_STREAMINFO_BYTES) else { return Ok(()) };
                self.stream_info = Some(body);
                if last {
                    self.prelude = Prelude::Done;
                    self.queue_flac_header()?;
                } else {
                    self.prelude = Prelude::FlacBlockHeader;
                }
            }
        }
        Ok(())
    }

    /// Queues `fLaC` and the STREAMINFO block as the only (last) metadata block.
    fn queue_flac_header(&mut self) -> Result<(), AudioError> {
        let stream_info = self.stream_info.as_ref().ok_or_else(|| {
            AudioError::InvalidAudio("the FLAC file has no STREAMINFO block; the file is malformed".into())
        })?;
        let mut feed = lock(&self.feed);
        feed.bytes.extend(b"fLaC");
        feed.bytes.extend([0x80, 0, 0, FLAC_STREAMINFO_BYTES as u8]);
        feed.bytes.extend(stream_info.iter());
        Ok(())
    }

    /// Demuxes and decodes packets while enough bytes are queued, or all of them once the
    /// input has ended.
    fn pump(&mut self, decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        loop {
            if self.stream_ended {
                return Ok(());
            }
            let (queued, ended) = {
                let feed = lock(&self.feed);
                (feed.bytes.len(), feed.ended)
            };
            if !ended && queued < LOOKAHEAD_BYTES {
                return Ok(());
            }

            if self.reader.is_none() {
                self.open(decoding)?;
                continue;
            }

            let packet = self.reader.as_mut().map(|reader| reader.next_packet()).unwrap_or(Ok(None));
            self.check_starved()?;
            let packet = match packet {
                Ok(Some(packet)) => packet,
                Ok(None) => {
                    self.stream_ended = true;
                    return Ok(());
                }
                Err(SymphoniaError::IoError(error)) if ended && error.kind() == io::ErrorKind::UnexpectedEof => {
                    // The last frame is cut off: a truncated upload keeps what was complete.
                    self.stream_ended = true;
                    return Ok(());
                }
                Err(error) => return Err(self.stream_error(&error)),
            };

            let (Some(decoder), Some(decoding)) = (self.decoder.as_mut(), decoding.as_mut()) else {
                return Ok(());
            };
            match decoder.decode(&packet) {
                Ok(buffer) => {
                    let spec = buffer.spec();
                    if spec.rate() != decoding.format.sample_rate
                        || spec.channels().count() != usize::from(decoding.format.channels)
                    {
                        return Err(AudioError::Unsupported(format!(
                            "the {} stream changes from {} Hz with {} channels to {} Hz with {} channels \
                             mid-stream; split the file where the format changes",
                            self.kind.name(),
                            decoding.format.sample_rate,
                            decoding.format.channels,
                            spec.rate(),
                            spec.channels().count()
                        )));
                    }
                    buffer.copy_to_vec_interleaved(&mut self.samples);
                    decoding.add_interleaved(&self.samples)?;
                }
                Err(SymphoniaError::DecodeError(message)) => {
                    // A corrupt frame is skipped, as players do, and reported once.
                    self.skipped_packets += 1;
                    self.first_skip_error.get_or_insert_with(|| message.to_string());
                }
                Err(error) => return Err(self.stream_error(&error)),
            }
        }
    }

    /// Creates the demuxer and decoder from the first frame and starts the measurement.
    fn open(&mut self, decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        let source = MediaSourceStream::new(Box::new(FeedSource(self.feed.clone())), MediaSourceStreamOptions::default());
        let reader: Result<Box<dyn FormatReader>, SymphoniaError> = match self.kind {
            Kind::Mp3 => MpaReader::try_new(source, FormatOptions::default()).map(|r| Box::new(r) as Box<dyn FormatReader>),
            Kind::Flac => FlacReader::try_new(source, FormatOptions::default()).map(|r| Box::new(r) as Box<dyn FormatReader>),
        };
        self.check_starved()?;
        let reader = reader.map_err(|error| self.stream_error(&error))?;

        let track = reader.tracks().first().ok_or_else(|| {
            AudioError::InvalidAudio(format!("the {} file has no audio track", self.kind.name()))
        })?;
        let params = track.codec_params.as_ref().and_then(|params| params.audio()).ok_or_else(|| {
            AudioError::InvalidAudio(format!("the {} file's first track is not audio", self.kind.name()))
        })?;
        let sample_rate = params.sample_rate.unwrap_or(0);
        let channels = params.channels.as_ref().map_or(0, |channels| channels.count());
        let (encoding, bits_per_sample) = match self.kind {
            Kind::Mp3 => (AudioEncoding::Mp3, 0),
            Kind::Flac => (AudioEncoding::Flac, params.bits_per_sample.unwrap_or(0) as u16),
        };
        let format = StreamFormat {
            encoding,
            sample_rate,
            channels: u16::try_from(channels).unwrap_or(u16::MAX),
            bits_per_sample,
        };
        let started = Decoding::new(format)?;

        // FLAC STREAMINFO stores 0 when the encoder did not know the length.
        self.declared_frames = track.num_frames.filter(|frames| *frames > 0);
        if let Some(frames) = self.declared_frames {
            started.check_declared_frames(frames)?;
        }

        let options = AudioDecoderOptions::default();
        let decoder: Result<Box<dyn AudioDecoder>, SymphoniaError> = match self.kind {
            Kind::Mp3 => MpaDecoder::try_new(params, &options).map(|d| Box::new(d) as Box<dyn AudioDecoder>),
            Kind::Flac => FlacDecoder::try_new(params, &options).map(|d| Box::new(d) as Box<dyn AudioDecoder>),
        };
        self.decoder = Some(decoder.map_err(|error| self.stream_error(&error))?);
        self.reader = Some(reader);
        *decoding = Some(started);
        Ok(())
    }

    fn check_starved(&self) -> Result<(), AudioError> {
        if lock(&self.feed).starved {
            return Err(AudioError::TooLarge(format!(
                "the {} stream has a frame or a run of non-audio bytes longer than {} KiB; such files are \
                 not decoded in chunks, re-encode the file",
                self.kind.name(),
                LOOKAHEAD_BYTES / 1024
            )));
        }
        Ok(())
    }

    fn stream_error(&self, error: &SymphoniaError) -> AudioError {
        let message = format!("the {} stream could not be decoded: {error}", self.kind.name());
        match error {
            SymphoniaError::Unsupported(_) => AudioError::Unsupported(format!("{message}; convert the file to WAV")),
            SymphoniaError::LimitError(_) => AudioError::TooLarge(message),
            _ => AudioError::InvalidAudio(format!("{message}; the file is malformed or truncated")),
        }
    }
}

/// Appends bytes from `input` to `pending` until it holds `needed` bytes, then returns
/// them and clears `pending`.
fn collect(pending: &mut Vec<u8>, input: &mut &[u8], needed: usize) -> Option<Vec<u8>> {
    let taken = (needed - pending.len()).min(input.len());
    pending.extend_from_slice(&input[..taken]);
    *input = &input[taken..];
    (pending.len() == needed).then(|| std::mem::take(pending))
}

fn skip_then(bytes: u64, then: Prelude) -> Prelude {
    if bytes == 0 { then } else { Prelude::Skip { remaining: bytes, then: Box::new(then) } }
}

/// Decodes an ID3v2 size: four bytes of seven bits each, most significant first.
fn syncsafe(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |size, byte| (size << 7) | u64::from(byte & 0x7F))
}
