//! Ogg/Opus decoding, fed in chunks.
//!
//! Ogg pages (RFC 3533) are parsed here, one page buffered at a time (at most 65,307
//! bytes), and their CRC checked. The first logical stream must be Opus (RFC 7845): its
//! `OpusHead` packet gives the channel count and pre-skip, `OpusTags` is skipped, and
//! every later packet is decoded at 48 kHz by the pure-Rust `opus-decoder` crate. The
//! first pre-skip samples are dropped, and the granule position of the last page ends the
//! stream, as RFC 7845 section 4 prescribes. Pages of other logical streams are ignored.

use callscope_api_types::audio::AudioEncoding;
use opus_decoder::OpusDecoder;

use super::{AudioError, Decoding, StreamFormat};

/// Opus always decodes to 48 kHz here, the rate its granule positions count in.
///
/// NOTE: decoding at 48 kHz is the slowest part of the audio path: about 32 times real
/// time natively in release builds on a 2-core x86-64 (8 s file, 250 ms), against 125 times
/// for 44.1 kHz stereo FLAC. Decoding at 16 kHz, which speech detection uses anyway,
/// may be faster but would report a rate the container does not declare.
pub const OPUS_SAMPLE_RATE_HZ: u32 = 48_000;

/// Fixed part of an Ogg page header, before the segment table.
const PAGE_HEADER_BYTES: usize = 27;

/// Largest Opus packet accepted: 120 ms of 2.5 ms frames (48) of at most 1,275 bytes
/// each, rounded up. A longer packet means a corrupt segment table.
const MAX_PACKET_BYTES: usize = 64 * 1024;

const HEADER_TYPE_CONTINUED: u8 = 0x01;
const HEADER_TYPE_FIRST: u8 = 0x02;
const HEADER_TYPE_LAST: u8 = 0x04;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageState {
    Header,
    Segments { count: usize },
    Body { length: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Expecting the `OpusHead` packet.
    Head,
    /// Expecting the `OpusTags` packet.
    Tags,
    Audio,
    /// The last page of the stream was read; later bytes are ignored.
    Ended,
}

/// An Ogg/Opus file being decoded.
pub struct OggOpusInput {
    page_state: PageState,
    /// The page being collected: header, segment table and body.
    page: Vec<u8>,
    serial: Option<u32>,
    stage: Stage,
    /// The packet being assembled across segments and pages.
    packet: Vec<u8>,
    decoder: Option<OpusDecoder>,
    channels: usize,
    /// Samples per channel still to drop from the start of the decoded output.
    pre_skip_left: u64,
    /// Output gain from `OpusHead` as a linear factor.
    gain: f32,
    /// Samples per channel decoded so far, before the pre-skip was dropped.
    decoded: u64,
    /// Granule position of the last page: samples per channel in the stream, counting the
    /// pre-skip. `None` until the last page is read.
    end_granule: Option<u64>,
    pcm: Vec<i16>,
    samples: Vec<f32>,
    pages: u64,
}

impl OggOpusInput {
    pub fn new() -> Self {
        Self {
            page_state: PageState::Header,
            page: Vec::with_capacity(PAGE_HEADER_BYTES),
            serial: None,
            stage: Stage::Head,
            packet: Vec::new(),
            decoder: None,
            channels: 0,
            pre_skip_left: 0,
            gain: 1.0,
            decoded: 0,
            end_granule: None,
            pcm: Vec::new(),
            samples: Vec::new(),
            pages: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8], decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        let mut input = chunk;
        while !input.is_empty() {
            if self.stage == Stage::Ended {
                return Ok(());
            }
            let needed = match self.page_state {
                PageState::Header => PAGE_HEADER_BYTES,
                PageState::Segments { count } => PAGE_HEADER_BYTES + count,
                PageState::Body { length } => length,
            };
            let taken = (needed - self.page.len()).min(input.len());
            self.page.extend_from_slice(&input[..taken]);
            input = &input[taken..];
            if self.page.len() < needed {
                return Ok(());
            }

            match self.page_state {
                PageState::Header => {
                    if &self.page[..4] != b"OggS" || self.page[4] != 0 {
                        return Err(AudioError::InvalidAudio(format!(
                            "Ogg page {} starts with {:02x?}, expected \"OggS\" and version 0; the file is \
                             malformed or truncated",
                            self.pages,
                            &self.page[..5]
                        )));
                    }
                    let count = usize::from(self.page[26]);
                    self.page_state = PageState::Segments { count };
                }
                PageState::Segments { count } => {
                    let body: usize = self.page[PAGE_HEADER_BYTES..].iter().map(|&lacing| usize::from(lacing)).sum();
                    self.page_state = PageState::Body { length: PAGE_HEADER_BYTES + count + body };
                }
                PageState::Body { .. } => {
                    let page = std::mem::replace(&mut self.page, Vec::with_capacity(PAGE_HEADER_BYTES));
                    self.page_state = PageState::Header;
                    self.read_page(&page, decoding)?;
                }
            }
        }
        Ok(())
    }

    /// Checks that the headers were complete. A partial page at the end of a truncated
    /// upload is dropped, and what was complete is kept.
    pub fn finish(&self) -> Result<(), AudioError> {
        if self.stage == Stage::Head || self.stage == Stage::Tags {
            return Err(AudioError::InvalidAudio(format!(
                "the Ogg file ended after {} pages, before its Opus headers were complete; the upload is \
                 truncated or not Ogg/Opus",
                self.pages
            )));
        }
        Ok(())
    }

    fn read_page(&mut self, page: &[u8], decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        self.pages += 1;
        let header_type = page[5];
        let granule = u64::from_le_bytes(page[6..14].try_into().expect("8-byte slice"));
        let serial = u32::from_le_bytes(page[14..18].try_into().expect("4-byte slice"));
        let stored_crc = u32::from_le_bytes(page[22..26].try_into().expect("4-byte slice"));
        let segments = usize::from(page[26]);

        // Fuzzing builds skip the check, so that mutated pages reach the Opus decoder.
        if !cfg!(fuzzing) && ogg_crc(page) != stored_crc {
            return Err(AudioError::InvalidAudio(format!(
                "Ogg page {} fails its CRC check (stored {stored_crc:#010x}); the file is corrupt",
                self.pages - 1
            )));
        }

        match self.serial {
            None if header_type & HEADER_TYPE_FIRST != 0 => self.serial = Some(serial),
            None => {
                return Err(AudioError::InvalidAudio(
                    "the first Ogg page does not start a logical stream; the file is truncated at the front".into(),
                ));
            }
            Some(expected) if expected != serial => return Ok(()),
            Some(_) => {}
        }

        if header_type & HEADER_TYPE_CONTINUED == 0 {
            self.packet.clear();
        }
        // The granule position of -1 marks a page on which no packet ends.
        if header_type & HEADER_TYPE_LAST != 0 && granule != u64::MAX {
            self.end_granule = Some(granule);
        }

        let lacing = &page[PAGE_HEADER_BYTES..PAGE_HEADER_BYTES + segments];
        let mut offset = PAGE_HEADER_BYTES + segments;
        for &length in lacing {
            let length = usize::from(length);
            self.packet.extend_from_slice(&page[offset..offset + length]);
            offset += length;
            if self.packet.len() > MAX_PACKET_BYTES {
                return Err(AudioError::InvalidAudio(format!(
                    "an Ogg packet is longer than {MAX_PACKET_BYTES} bytes, more than any Opus packet; the \
                     file is malformed"
                )));
            }
            if length < 255 {
                let packet = std::mem::take(&mut self.packet);
                self.read_packet(&packet, decoding)?;
                if self.stage == Stage::Ended {
                    return Ok(());
                }
            }
        }

        if header_type & HEADER_TYPE_LAST != 0 {
            self.stage = Stage::Ended;
        }
        Ok(())
    }

    fn read_packet(&mut self, packet: &[u8], decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        match self.stage {
            Stage::Head => {
                *decoding = Some(self.read_head(packet)?);
                self.stage = Stage::Tags;
                Ok(())
            }
            Stage::Tags => {
                if !packet.starts_with(b"OpusTags") {
                    return Err(AudioError::InvalidAudio(
                        "the second Ogg/Opus packet is not OpusTags; the file is malformed".into(),
                    ));
                }
                self.stage = Stage::Audio;
                Ok(())
            }
            Stage::Audio => self.decode_packet(packet, decoding),
            Stage::Ended => Ok(()),
        }
    }

    /// Parses `OpusHead` (RFC 7845 section 5.1) and creates the decoder.
    fn read_head(&mut self, packet: &[u8]) -> Result<Decoding, AudioError> {
        if !packet.starts_with(b"OpusHead") {
            let codec = String::from_utf8_lossy(&packet[..packet.len().min(8)]).into_owned();
            return Err(AudioError::Unsupported(format!(
                "the Ogg file carries {codec:?}, not Opus; only Ogg/Opus is decoded, convert the file to Opus \
                 or WAV"
            )));
        }
        if packet.len() < 19 {
            return Err(AudioError::InvalidAudio(format!(
                "the OpusHead packet is {} bytes long; it needs at least 19",
                packet.len()
            )));
        }

        let version = packet[8];
        let channels = packet[9];
        let pre_skip = u16::from_le_bytes([packet[10], packet[11]]);
        let gain_q8 = i16::from_le_bytes([packet[16], packet[17]]);
        let mapping_family = packet[18];
        if version >> 4 != 0 {
            return Err(AudioError::Unsupported(format!("OpusHead version {version} is not decoded; only version 0.x is")));
        }
        if channels == 0 {
            return Err(AudioError::InvalidAudio("the OpusHead packet declares 0 channels; the file is malformed".into()));
        }
        if channels > 2 || mapping_family != 0 {
            return Err(AudioError::Unsupported(format!(
                "Opus with {channels} channels in channel mapping family {mapping_family} is not decoded; only \
                 mono and stereo (family 0) are"
            )));
        }

        let decoder = OpusDecoder::new(OPUS_SAMPLE_RATE_HZ, usize::from(channels)).map_err(|error| {
            AudioError::Unsupported(format!("the Opus decoder rejected {channels} channels: {error}"))
        })?;
        self.pcm = vec![0; OpusDecoder::MAX_FRAME_SIZE_48K * usize::from(channels)];
        self.decoder = Some(decoder);
        self.channels = usize::from(channels);
        self.pre_skip_left = u64::from(pre_skip);
        self.gain = 10f32.powf(f32::from(gain_q8) / 256.0 / 20.0);

        Decoding::new(StreamFormat {
            encoding: AudioEncoding::Opus,
            sample_rate: OPUS_SAMPLE_RATE_HZ,
            channels: u16::from(channels),
            bits_per_sample: 0,
        })
    }

    fn decode_packet(&mut self, packet: &[u8], decoding: &mut Option<Decoding>) -> Result<(), AudioError> {
        let (Some(decoder), Some(decoding)) = (self.decoder.as_mut(), decoding.as_mut()) else {
            return Ok(());
        };
        if packet.is_empty() {
            // An empty packet carries no audio, and decoding it would run loss concealment.
            return Ok(());
        }

        let frames = decoder.decode(packet, &mut self.pcm, false).map_err(|error| {
            AudioError::InvalidAudio(format!(
                "the Opus packet at sample {} could not be decoded: {error}; the file is corrupt",
                self.decoded
            ))
        })?;
        let start = self.decoded;
        self.decoded += frames as u64;

        // Keep only samples after the pre-skip and before the end the last page declares.
        let mut first = 0u64;
        if self.pre_skip_left > 0 {
            first = self.pre_skip_left.min(frames as u64);
            self.pre_skip_left -= first;
        }
        let mut last = frames as u64;
        if let Some(end) = self.end_granule {
            last = last.min(end.saturating_sub(start));
        }
        if first >= last {
            return Ok(());
        }

        let channels = self.channels;
        self.samples.clear();
        self.samples.extend(
            self.pcm[first as usize * channels..last as usize * channels]
                .iter()
                .map(|&sample| f32::from(sample) / 32768.0 * self.gain),
        );
        decoding.add_interleaved(&self.samples)
    }
}

/// Computes the Ogg page CRC: CRC-32 with polynomial 0x04C11DB7, no reflection, initial
/// value and final XOR 0, over the page with its CRC field taken as zero.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for (index, &byte) in page.iter().enumerate() {
        let byte = if (22..26).contains(&index) { 0 } else { byte };
        crc = (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)];
    }
    crc
}

/// [`ogg_crc`] lookup table: the CRC of each byte value shifted into the top byte.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = (index as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};
