//! Decoded samples passed between the decoders and the measurements a block at a time,
//! so each measurement runs a tight loop over one channel instead of a call per frame.

use super::decode::to_i16;
use super::limits::MAX_CHANNELS;

/// Maximum frames in one block. Decoders split longer input, so the buffers of a block
/// stay at about 48 KiB for stereo whatever chunk size the host pushes.
pub const MAX_BLOCK_FRAMES: usize = 4096;

/// Frames of `channels` samples, both as floats scaled so that 16-bit full scale is 1.0
/// (one buffer per channel) and as interleaved 16-bit values, as the playback
/// transcode and the peaks use them.
#[derive(Debug, Default)]
pub struct SampleBlock {
    channels: usize,
    frames: usize,
    samples: Vec<Vec<f32>>,
    pcm16: Vec<i16>,
    /// Samples per channel at or within one 16-bit step of full scale.
    clipped: [u64; MAX_CHANNELS as usize],
}

impl SampleBlock {
    pub fn new(channels: u16) -> Self {
        let channels = usize::from(channels);
        Self {
            channels,
            frames: 0,
            samples: vec![Vec::with_capacity(MAX_BLOCK_FRAMES); channels],
            pcm16: Vec::with_capacity(MAX_BLOCK_FRAMES * channels),
            clipped: [0; MAX_CHANNELS as usize],
        }
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Returns the samples of one channel.
    pub fn channel(&self, channel: usize) -> &[f32] {
        &self.samples[channel][..self.frames]
    }

    /// Returns every sample as a 16-bit value, frames interleaved.
    pub fn pcm16(&self) -> &[i16] {
        &self.pcm16[..self.frames * self.channels]
    }

    pub fn clipped(&self, channel: usize) -> u64 {
        self.clipped[channel]
    }

    /// Empties the block and sizes it for `frames` frames, which the caller then writes
    /// with [`Self::buffers_mut`].
    pub fn reset(&mut self, frames: usize) {
        debug_assert!(frames <= MAX_BLOCK_FRAMES, "{frames} frames exceed a block");
        self.frames = frames;
        for buffer in &mut self.samples {
            buffer.resize(frames, 0.0);
        }
        self.pcm16.resize(frames * self.channels, 0);
        self.clipped = [0; MAX_CHANNELS as usize];
    }

    /// Returns the per-channel float buffers, the interleaved 16-bit buffer and the
    /// clipped counts for a decoder to fill after [`Self::reset`].
    pub fn buffers_mut(&mut self) -> (&mut [Vec<f32>], &mut [i16], &mut [u64]) {
        (&mut self.samples, &mut self.pcm16[..], &mut self.clipped[..self.channels])
    }

    /// Fills the block with interleaved float frames from a decoder whose output is
    /// float; a sample at or beyond `clip_magnitude` counts as clipped.
    pub fn fill_interleaved(&mut self, interleaved: &[f32], clip_magnitude: f32) {
        let channels = self.channels;
        self.reset(interleaved.len() / channels);
        for (channel, buffer) in self.samples.iter_mut().enumerate() {
            let mut clipped = 0;
            for (slot, frame) in buffer.iter_mut().zip(interleaved.chunks_exact(channels)) {
                let sample = frame[channel];
                *slot = sample;
                clipped += u64::from(sample.abs() >= clip_magnitude);
            }
            self.clipped[channel] = clipped;
        }
        for (value, &sample) in self.pcm16.iter_mut().zip(interleaved) {
            *value = to_i16(sample);
        }
    }
}
