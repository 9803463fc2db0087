//! Export of one peaks level in the data formats of BBC's audiowaveform, so existing
//! waveform tools (peaks.js, waveform-data.js) read it.
//!
//! Both formats are version 2, described in audiowaveform's `doc/DataFormat.md`:
//!
//! - `.dat`: a 24-byte little-endian header (`i32` version = 2, `u32` flags with bit 0
//!   set for 8-bit data, `i32` sample rate, `i32` samples per pixel, `u32` length in
//!   pixels, `i32` channels), then per pixel and per channel a minimum and a maximum as
//!   `i8` or little-endian `i16`.
//! - JSON: one object with the keys `version`, `channels`, `sample_rate`,
//!   `samples_per_pixel`, `bits`, `length` and `data`, the values in the same order as
//!   the `.dat` body.
//!
//! 8-bit values are the 16-bit values divided by 256 and truncated toward zero, as
//! audiowaveform converts them.

use callscope_api_types::audio::PeaksLevel;
use serde::Serialize;

use super::AudioError;

/// Size of the version 2 `.dat` header.
pub const DAT_HEADER_BYTES: usize = 24;

/// The audiowaveform data format version written.
pub const FORMAT_VERSION: i32 = 2;

/// `.dat` flag bit for 8-bit data.
pub const FLAG_8_BIT: u32 = 1;

/// An audiowaveform data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeaksFormat {
    /// Binary `.dat`.
    Dat,
    Json,
}

/// Resolution of the exported values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeaksBits {
    Eight,
    Sixteen,
}

impl PeaksBits {
    /// Returns the resolution for a bit count, or an error for anything but 8 and 16.
    pub fn from_count(bits: u8) -> Result<Self, AudioError> {
        match bits {
            8 => Ok(Self::Eight),
            16 => Ok(Self::Sixteen),
            _ => Err(AudioError::Unsupported(format!(
                "peaks cannot be exported with {bits} bits; audiowaveform formats have 8 or 16"
            ))),
        }
    }

    fn count(self) -> u8 {
        match self {
            Self::Eight => 8,
            Self::Sixteen => 16,
        }
    }
}

#[derive(Serialize)]
struct JsonWaveform<'a> {
    version: i32,
    channels: u16,
    sample_rate: u32,
    samples_per_pixel: u32,
    bits: u8,
    length: usize,
    data: &'a [i16],
}

/// Encodes one peaks level of a recording with `sample_rate` in an audiowaveform format.
pub fn encode_peaks(
    level: &PeaksLevel,
    sample_rate: u32,
    format: PeaksFormat,
    bits: PeaksBits,
) -> Result<Vec<u8>, AudioError> {
    check_level(level, sample_rate)?;
    let length = level.pixels();

    match format {
        PeaksFormat::Dat => {
            let value_bytes = if bits == PeaksBits::Eight { 1 } else { 2 };
            let mut output = Vec::with_capacity(DAT_HEADER_BYTES + level.data.len() * value_bytes);
            output.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            let flags = if bits == PeaksBits::Eight { FLAG_8_BIT } else { 0 };
            output.extend_from_slice(&flags.to_le_bytes());
            output.extend_from_slice(&sample_rate.to_le_bytes());
            output.extend_from_slice(&level.samples_per_pixel.to_le_bytes());
            output.extend_from_slice(&(length as u32).to_le_bytes());
            output.extend_from_slice(&i32::from(level.channels).to_le_bytes());

            for &value in &level.data[..length * usize::from(level.channels) * 2] {
                match bits {
                    PeaksBits::Eight => output.push(to_8_bit(value) as u8),
                    PeaksBits::Sixteen => output.extend_from_slice(&value.to_le_bytes()),
                }
            }
            Ok(output)
        }

        PeaksFormat::Json => {
            let values: Vec<i16> = match bits {
                PeaksBits::Eight => level.data.iter().map(|&value| i16::from(to_8_bit(value))).collect(),
                PeaksBits::Sixteen => level.data.clone(),
            };
            let waveform = JsonWaveform {
                version: FORMAT_VERSION,
                channels: level.channels,
                sample_rate,
                samples_per_pixel: level.samples_per_pixel,
                bits: bits.count(),
                length,
                data: &values[..length * usize::from(level.channels) * 2],
            };
            serde_json::to_vec(&waveform)
                .map_err(|error| AudioError::InvalidAudio(format!("the peaks could not be written as JSON: {error}")))
        }
    }
}

/// Rejects levels that the formats cannot represent: the header fields are signed
/// 32-bit, and a `.dat` file needs at least one channel to be read back.
fn check_level(level: &PeaksLevel, sample_rate: u32) -> Result<(), AudioError> {
    if level.channels == 0 {
        return Err(AudioError::InvalidAudio("the peaks level has 0 channels; nothing can be exported".into()));
    }
    if sample_rate == 0 || i32::try_from(sample_rate).is_err() {
        return Err(AudioError::InvalidAudio(format!(
            "the sample rate {sample_rate} Hz cannot be written to an audiowaveform header; pass the \
             recording's sample rate"
        )));
    }
    if level.samples_per_pixel == 0 || i32::try_from(level.samples_per_pixel).is_err() {
        return Err(AudioError::InvalidAudio(format!(
            "the peaks level has {} samples per pixel, which an audiowaveform header cannot hold",
            level.samples_per_pixel
        )));
    }
    if u32::try_from(level.pixels()).is_err() {
        return Err(AudioError::TooLarge(format!(
            "the peaks level has {} pixels, more than an audiowaveform header can count; export a coarser \
             level",
            level.pixels()
        )));
    }
    Ok(())
}

fn to_8_bit(value: i16) -> i8 {
    // Integer division truncates toward zero, so the result lies in -128..=127.
    (value / 256) as i8
}
