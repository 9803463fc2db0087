//! Conversion of `data` chunk bytes to sample frames, carrying a partial frame across
//! input slices.

use callscope_api_types::audio::AudioEncoding;

use super::g711::{ALAW_CLIP_MAGNITUDE, ALAW_TO_LINEAR, MULAW_CLIP_MAGNITUDE, MULAW_TO_LINEAR};
use super::limits::MAX_CHANNELS;
use super::wav::WavFormat;

/// Largest block align: eight channels of 32-bit samples.
const MAX_BLOCK_ALIGN: usize = MAX_CHANNELS as usize * 4;

/// Float samples at or beyond this magnitude count as clipped: full scale less one
/// 16-bit step, the resolution the peaks and playback use.
pub const FLOAT_CLIP_MAGNITUDE: f32 = 1.0 - 1.0 / 32768.0;

/// One sample frame: a sample per channel, scaled so that 16-bit full scale is 1.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Frame {
    pub samples: [f32; MAX_CHANNELS as usize],
    /// Whether each channel's sample is at or within one step of full scale.
    pub clipped: [bool; MAX_CHANNELS as usize],
}

#[derive(Debug)]
pub struct FrameDecoder {
    encoding: AudioEncoding,
    channels: usize,
    block_align: usize,
    carry: [u8; MAX_BLOCK_ALIGN],
    carry_len: usize,
}

impl FrameDecoder {
    pub fn new(format: &WavFormat) -> Self {
        Self {
            encoding: format.encoding,
            channels: usize::from(format.channels),
            block_align: usize::from(format.block_align),
            carry: [0; MAX_BLOCK_ALIGN],
            carry_len: 0,
        }
    }

    /// Decodes every complete frame of `carry + bytes` and keeps the incomplete rest.
    pub fn decode(&mut self, mut bytes: &[u8], mut on_frame: impl FnMut(&Frame)) {
        let mut frame = Frame::default();

        if self.carry_len > 0 {
            let missing = self.block_align - self.carry_len;
            let taken = missing.min(bytes.len());
            self.carry[self.carry_len..self.carry_len + taken].copy_from_slice(&bytes[..taken]);
            self.carry_len += taken;
            bytes = &bytes[taken..];

            if self.carry_len < self.block_align {
                return;
            }
            let block = self.carry;
            self.decode_frame(&block[..self.block_align], &mut frame);
            on_frame(&frame);
            self.carry_len = 0;
        }

        let mut blocks = bytes.chunks_exact(self.block_align);
        for block in &mut blocks {
            self.decode_frame(block, &mut frame);
            on_frame(&frame);
        }

        let rest = blocks.remainder();
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    fn decode_frame(&self, block: &[u8], frame: &mut Frame) {
        let width = self.block_align / self.channels;
        for (channel, bytes) in block.chunks_exact(width).enumerate() {
            let (sample, clipped) = decode_sample(self.encoding, bytes);
            frame.samples[channel] = sample;
            frame.clipped[channel] = clipped;
        }
    }
}

/// Decodes one sample to the 16-bit full-scale range and returns whether it is clipped.
fn decode_sample(encoding: AudioEncoding, bytes: &[u8]) -> (f32, bool) {
    match encoding {
        AudioEncoding::Pcm8 => {
            // 8-bit WAV samples are unsigned with 128 as zero.
            let value = i32::from(bytes[0]) - 128;
            (value as f32 / 128.0, !(-126..=125).contains(&value))
        }
        AudioEncoding::Pcm16 => {
            let value = i16::from_le_bytes([bytes[0], bytes[1]]);
            (f32::from(value) / 32768.0, !(-32766..=32765).contains(&value))
        }
        AudioEncoding::Pcm24 => {
            let value = i32::from_le_bytes([0, bytes[0], bytes[1], bytes[2]]) >> 8;
            let limit = 1 << 23;
            (value as f32 / limit as f32, !(-limit + 2..=limit - 3).contains(&value))
        }
        AudioEncoding::Pcm32 => {
            let value = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let clipped = !(i32::MIN + 2..=i32::MAX - 2).contains(&value);
            ((f64::from(value) / 2_147_483_648.0) as f32, clipped)
        }
        AudioEncoding::Float32 => {
            let value = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            // NaN and infinity carry no level information; they decode as silence.
            let value = if value.is_finite() { value } else { 0.0 };
            (value, value.abs() >= FLOAT_CLIP_MAGNITUDE)
        }
        AudioEncoding::Mulaw => {
            let value = MULAW_TO_LINEAR[usize::from(bytes[0])];
            (f32::from(value) / 32768.0, value.unsigned_abs() >= MULAW_CLIP_MAGNITUDE as u16)
        }
        AudioEncoding::Alaw => {
            let value = ALAW_TO_LINEAR[usize::from(bytes[0])];
            (f32::from(value) / 32768.0, value.unsigned_abs() >= ALAW_CLIP_MAGNITUDE as u16)
        }
        // The WAV parser never yields compressed encodings; their decoders produce
        // samples directly.
        AudioEncoding::Mp3 | AudioEncoding::Flac | AudioEncoding::Opus => (0.0, false),
    }
}

/// Converts a decoded sample to a signed 16-bit value, saturating beyond full scale.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}
