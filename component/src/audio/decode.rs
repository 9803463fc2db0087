//! Conversion of `data` chunk bytes to blocks of sample frames, carrying a partial frame
//! across input slices.

use callscope_api_types::audio::AudioEncoding;

use super::g711::{ALAW_CLIP_MAGNITUDE, ALAW_TO_LINEAR, MULAW_CLIP_MAGNITUDE, MULAW_TO_LINEAR};
use super::limits::MAX_CHANNELS;
use super::block::{MAX_BLOCK_FRAMES, SampleBlock};
use super::wav::WavFormat;

/// Largest block align: eight channels of 32-bit samples.
const MAX_BLOCK_ALIGN: usize = MAX_CHANNELS as usize * 4;

/// Float samples at or beyond this magnitude count as clipped: full scale less one
/// 16-bit step, the resolution the peaks and playback use.
pub const FLOAT_CLIP_MAGNITUDE: f32 = 1.0 - 1.0 / 32768.0;

#[derive(Debug)]
pub struct FrameDecoder {
    encoding: AudioEncoding,
    channels: usize,
    block_align: usize,
    carry: [u8; MAX_BLOCK_ALIGN],
    carry_len: usize,
    block: SampleBlock,
    /// The decoded sample of every byte value, for the one-byte encodings (PCM8,
    /// mu-law, A-law): a lookup per sample instead of the arithmetic.
    byte_samples: Option<Box<[Sample; 256]>>,
}

/// One decoded sample: the float value (16-bit full scale = 1.0), the 16-bit value and
/// whether it is clipped.
type Sample = (f32, i16, bool);

impl FrameDecoder {
    pub fn new(format: &WavFormat) -> Self {
        let byte_samples = match format.encoding {
            AudioEncoding::Pcm8 | AudioEncoding::Mulaw | AudioEncoding::Alaw => {
                let mut table = Box::new([(0.0, 0, false); 256]);
                for (byte, sample) in table.iter_mut().enumerate() {
                    *sample = decode_byte(format.encoding, byte as u8);
                }
                Some(table)
            }
            _ => None,
        };
        Self {
            encoding: format.encoding,
            channels: usize::from(format.channels),
            block_align: usize::from(format.block_align),
            carry: [0; MAX_BLOCK_ALIGN],
            carry_len: 0,
            block: SampleBlock::new(format.channels),
            byte_samples,
        }
    }

    /// Decodes every complete frame of `carry + bytes` in blocks of at most
    /// [`MAX_BLOCK_FRAMES`] and keeps the incomplete rest.
    pub fn decode(&mut self, mut bytes: &[u8], mut on_block: impl FnMut(&SampleBlock)) {
        if self.carry_len > 0 {
            let missing = self.block_align - self.carry_len;
            let taken = missing.min(bytes.len());
            self.carry[self.carry_len..self.carry_len + taken].copy_from_slice(&bytes[..taken]);
            self.carry_len += taken;
            bytes = &bytes[taken..];

            if self.carry_len < self.block_align {
                return;
            }
            let carry = self.carry;
            self.decode_frames(&carry[..self.block_align]);
            on_block(&self.block);
            self.carry_len = 0;
        }

        let whole = bytes.len() - bytes.len() % self.block_align;
        for frames in bytes[..whole].chunks(MAX_BLOCK_FRAMES * self.block_align) {
            self.decode_frames(frames);
            on_block(&self.block);
        }

        let rest = &bytes[whole..];
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    /// Decodes whole frames into the block.
    fn decode_frames(&mut self, bytes: &[u8]) {
        let layout = Layout { channels: self.channels, block_align: self.block_align };
        self.block.reset(bytes.len() / self.block_align);
        let block = &mut self.block;
        if let Some(table) = &self.byte_samples {
            match self.channels {
                1 => fill_bytes::<1>(bytes, table, block),
                2 => fill_bytes::<2>(bytes, table, block),
                _ => layout.fill(bytes, block, |bytes| table[usize::from(bytes[0])]),
            }
            return;
        }
        match self.encoding {
            AudioEncoding::Pcm16 => layout.fill(bytes, block, |bytes| {
                let value = i16::from_le_bytes([bytes[0], bytes[1]]);
                (f32::from(value) / 32768.0, value, !(-32766..=32765).contains(&value))
            }),
            AudioEncoding::Pcm24 => layout.fill(bytes, block, |bytes| {
                let value = i32::from_le_bytes([0, bytes[0], bytes[1], bytes[2]]) >> 8;
                let limit = 1 << 23;
                let sample = value as f32 / limit as f32;
                (sample, to_i16(sample), !(-limit + 2..=limit - 3).contains(&value))
            }),
            AudioEncoding::Pcm32 => layout.fill(bytes, block, |bytes| {
                let value = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                let sample = (f64::from(value) / 2_147_483_648.0) as f32;
                (sample, to_i16(sample), !(i32::MIN + 2..=i32::MAX - 2).contains(&value))
            }),
            AudioEncoding::Float32 => layout.fill(bytes, block, |bytes| {
                let value = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                // NaN and infinity carry no level information; they decode as silence.
                let value = if value.is_finite() { value } else { 0.0 };
                (value, to_i16(value), value.abs() >= FLOAT_CLIP_MAGNITUDE)
            }),
            // The one-byte encodings are decoded through `byte_samples`.
            AudioEncoding::Pcm8 | AudioEncoding::Mulaw | AudioEncoding::Alaw => {}
            // The WAV parser never yields compressed encodings; their decoders produce
            // samples directly.
            AudioEncoding::Mp3 | AudioEncoding::Flac | AudioEncoding::Opus => layout.fill(bytes, block, |_| (0.0, 0, false)),
        }
    }
}

/// Decodes one sample of a one-byte encoding.
fn decode_byte(encoding: AudioEncoding, byte: u8) -> Sample {
    match encoding {
        AudioEncoding::Pcm8 => {
            // 8-bit WAV samples are unsigned with 128 as zero.
            let value = i32::from(byte) - 128;
            (value as f32 / 128.0, (value << 8) as i16, !(-126..=125).contains(&value))
        }
        AudioEncoding::Mulaw => {
            let value = MULAW_TO_LINEAR[usize::from(byte)];
            (f32::from(value) / 32768.0, value, value.unsigned_abs() >= MULAW_CLIP_MAGNITUDE as u16)
        }
        AudioEncoding::Alaw => {
            let value = ALAW_TO_LINEAR[usize::from(byte)];
            (f32::from(value) / 32768.0, value, value.unsigned_abs() >= ALAW_CLIP_MAGNITUDE as u16)
        }
        _ => (0.0, 0, false),
    }
}

/// Decodes frames of `CHANNELS` one-byte samples through `table`: first each byte to
/// its 16-bit value in the interleaved buffer, then each channel's floats from those
/// values, which for every one-byte encoding equal `value / 32768` (see
/// [`decode_byte`]). The channel count is a constant, so the frame indexing needs no
/// checks, and the float conversion is a plain loop that vectorises.
fn fill_bytes<const CHANNELS: usize>(bytes: &[u8], table: &[Sample; 256], block: &mut SampleBlock) {
    let (samples, pcm16, clipped) = block.buffers_mut();
    let mut counts = [0u64; CHANNELS];
    for (frame, values) in bytes.chunks_exact(CHANNELS).zip(pcm16.chunks_exact_mut(CHANNELS)) {
        for channel in 0..CHANNELS {
            let (_, value, is_clipped) = table[usize::from(frame[channel])];
            values[channel] = value;
            counts[channel] += u64::from(is_clipped);
        }
    }
    clipped[..CHANNELS].copy_from_slice(&counts);

    for (channel, buffer) in samples.iter_mut().enumerate() {
        for (slot, values) in buffer.iter_mut().zip(pcm16.chunks_exact(CHANNELS)) {
            *slot = f32::from(values[channel]) / 32768.0;
        }
    }
}

/// The byte layout of a frame: `channels` samples of equal width.
#[derive(Clone, Copy)]
struct Layout {
    channels: usize,
    block_align: usize,
}

impl Layout {
    /// Decodes each sample of `bytes` with `decode`, which returns the float value, the
    /// 16-bit value and whether the sample is clipped. One loop per channel, so `decode`
    /// is inlined into a loop that does nothing else.
    #[inline(always)]
    fn fill(self, bytes: &[u8], block: &mut SampleBlock, decode: impl Fn(&[u8]) -> Sample) {
        let width = self.block_align / self.channels;
        let (samples, pcm16, clipped) = block.buffers_mut();
        for (channel, buffer) in samples.iter_mut().enumerate() {
            let offset = channel * width;
            let mut count = 0;
            let frames = bytes.chunks_exact(self.block_align);
            let values = pcm16.iter_mut().skip(channel).step_by(self.channels);
            for ((slot, value), frame) in buffer.iter_mut().zip(values).zip(frames) {
                let (sample, sample16, is_clipped) = decode(&frame[offset..offset + width]);
                *slot = sample;
                *value = sample16;
                count += u64::from(is_clipped);
            }
            clipped[channel] = count;
        }
    }
}

/// Converts a decoded sample to a signed 16-bit value, saturating beyond full scale.
///
/// Equal to `(sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16`, rounding halves
/// away from zero, but built from truncation: `f32::round` is a library call on wasm32,
/// while truncation, comparison and selection are single (vector) instructions there.
#[inline]
pub fn to_i16(sample: f32) -> i16 {
    let scaled = sample * 32768.0;
    let whole = scaled.trunc();
    // `scaled - whole` is exact: `whole` is `scaled` with its fraction bits cleared.
    let away = if (scaled - whole).abs() >= 0.5 { 1.0f32.copysign(scaled) } else { 0.0 };
    // NaN passes `clamp` unchanged and converts to 0, as in the `round` form.
    (whole + away).clamp(-32768.0, 32767.0) as i16
}

/// Converts samples with [`to_i16`], eight at a time in wasm SIMD, where LLVM turns
/// the saturating `as` conversion of the portable loop into one lane at a time.
pub fn to_i16_slice(samples: &[f32], output: &mut [i16]) {
    assert_eq!(samples.len(), output.len(), "one output per sample");

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = {
        use core::arch::wasm32::{
            f32x4_abs, f32x4_add, f32x4_eq, f32x4_ge, f32x4_mul, f32x4_pmax, f32x4_pmin, f32x4_splat, f32x4_sub,
            f32x4_trunc, i16x8_narrow_i32x4, i32x4_sub, v128, v128_and, v128_bitselect, v128_load, v128_store,
        };

        // 1.5 · 2^23: adding it to an integer below 2^22 in magnitude leaves the integer
        // in the low bits of the sum, so subtracting its bits converts to i32 exactly.
        const MAGIC: f32 = 12_582_912.0;
        let convert = |at: usize| {
            // SAFETY: the loop below passes `at + 4 <= samples.len()`; wasm loads need
            // no alignment.
            let samples = unsafe { v128_load(samples.as_ptr().add(at).cast::<v128>()) };
            let scaled = f32x4_mul(samples, f32x4_splat(32768.0));
            let whole = f32x4_trunc(scaled);
            // 1.0 with the sign of `scaled` where the fraction is at least a half, else 0.
            let unit = v128_bitselect(scaled, f32x4_splat(1.0), f32x4_splat(-0.0));
            let away = v128_and(f32x4_ge(f32x4_abs(f32x4_sub(scaled, whole)), f32x4_splat(0.5)), unit);
            let rounded = f32x4_add(whole, away);
            // NaN lanes become 0, as in `to_i16`. The pseudo-minimum and -maximum are
            // single instructions, unlike wasm's NaN-propagating `min` and `max`.
            let finite = v128_and(rounded, f32x4_eq(rounded, rounded));
            let clamped = f32x4_pmin(f32x4_pmax(finite, f32x4_splat(-32768.0)), f32x4_splat(32767.0));
            i32x4_sub(f32x4_add(clamped, f32x4_splat(MAGIC)), f32x4_splat(MAGIC))
        };

        let mut at = 0;
        while at + 8 <= samples.len() {
            let packed = i16x8_narrow_i32x4(convert(at), convert(at + 4));
            // SAFETY: `at + 8 <= output.len()`, as the lengths are equal; wasm stores
            // need no alignment.
            unsafe { v128_store(output.as_mut_ptr().add(at).cast::<v128>(), packed) };
            at += 8;
        }
        at
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;

    for (value, &sample) in output[done..].iter_mut().zip(&samples[done..]) {
        *value = to_i16(sample);
    }
}

#[cfg(test)]
mod tests {
    use callscope_api_types::audio::AudioEncoding;

    use super::{decode_byte, to_i16, to_i16_slice};

    fn reference(sample: f32) -> i16 {
        (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
    }

    #[test]
    fn byte_samples_are_16_bit_values_over_32768() {
        for encoding in [AudioEncoding::Pcm8, AudioEncoding::Mulaw, AudioEncoding::Alaw] {
            for byte in 0..=u8::MAX {
                let (sample, value, _) = decode_byte(encoding, byte);
                assert_eq!(sample.to_bits(), (f32::from(value) / 32768.0).to_bits(), "{encoding:?} byte {byte}");
            }
        }
    }

    #[test]
    fn to_i16_matches_round_half_away() {
        let mut cases = vec![0.0, -0.0, 1.0, -1.0, 2.0, -2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE];
        for step in -70_000i32..70_000 {
            // Every half step of the 16-bit grid, and its neighbours one float apart.
            let half = step as f32 / 65536.0;
            cases.extend([half, f32::from_bits(half.to_bits() + 1), f32::from_bits(half.to_bits().saturating_sub(1))]);
        }
        for &sample in &cases {
            assert_eq!(to_i16(sample), reference(sample), "sample {sample:e}");
        }

        let mut converted = vec![0; cases.len()];
        to_i16_slice(&cases, &mut converted);
        for (&sample, &value) in cases.iter().zip(&converted) {
            assert_eq!(value, reference(sample), "sample {sample:e} in a slice");
        }
    }
}
