//! Streaming sample-rate conversion to the 16 kHz rate the speech detector needs.
//!
//! A windowed-sinc interpolator: each output sample is the dot product of the input
//! around its position with a Blackman-windowed sinc low-pass kernel. Kernels are
//! precomputed for [`PHASES`] fractional positions; rounding a position to the nearest
//! phase shifts it by at most 1/512 of an input sample, far below anything the detector
//! resolves. The kernel is centred on the output position, so the output has no delay.

use std::f64::consts::PI;

/// Output rate in Hz.
pub const OUTPUT_RATE_HZ: u32 = 16_000;

/// Fractional input positions with a precomputed kernel.
const PHASES: usize = 256;

/// Kernel half-width in input samples when upsampling; downsampling widens it by the
/// rate ratio so the transition band stays the same relative to the output rate.
const BASE_HALF_TAPS: usize = 12;

/// Pass band edge as a fraction of the lower Nyquist frequency.
const CUTOFF_FRACTION: f64 = 0.9;

/// Input samples consumed before the buffer is compacted.
const COMPACT_AFTER: usize = 4096;

#[derive(Debug)]
pub struct Resampler {
    input_rate: u64,
    half_taps: usize,
    /// `PHASES` kernels of `2 * half_taps` taps each.
    kernels: Vec<f32>,
    buffer: Vec<f32>,
    /// Absolute input index of `buffer[0]`.
    buffer_start: u64,
    inputs: u64,
    next_output: u64,
}

impl Resampler {
    pub fn new(input_rate: u32) -> Self {
        let input_rate_u64 = u64::from(input_rate);
        let scale = (f64::from(OUTPUT_RATE_HZ) / f64::from(input_rate)).min(1.0);
        let half_taps = (BASE_HALF_TAPS as f64 / scale).ceil() as usize;
        let taps = 2 * half_taps;

        // Cutoff in cycles per input sample.
        let cutoff = 0.5 * scale * CUTOFF_FRACTION;
        let mut kernels = Vec::with_capacity(PHASES * taps);
        for phase in 0..PHASES {
            let fraction = phase as f64 / PHASES as f64;
            let start = kernels.len();
            for tap in 0..taps {
                let x = tap as f64 - (half_taps as f64 - 1.0) - fraction;
                kernels.push(windowed_sinc(x, cutoff, half_taps as f64) as f32);
            }
            // Normalise each phase to unit gain at 0 Hz.
            let sum: f32 = kernels[start..].iter().sum();
            for value in &mut kernels[start..] {
                *value /= sum;
            }
        }

        Self {
            input_rate: input_rate_u64,
            half_taps,
            kernels,
            buffer: Vec::with_capacity(COMPACT_AFTER + taps),
            buffer_start: 0,
            inputs: 0,
            next_output: 0,
        }
    }

    /// Adds one input sample and emits every output sample that became computable.
    pub fn push(&mut self, sample: f32, mut emit: impl FnMut(f32)) {
        if self.input_rate == u64::from(OUTPUT_RATE_HZ) {
            emit(sample);
            return;
        }

        self.buffer.push(sample);
        self.inputs += 1;

        while let Some((position, phase)) = self.position(self.next_output) {
            if position + self.half_taps as u64 >= self.inputs {
                break;
            }
            emit(self.interpolate(position, phase));
            self.next_output += 1;
        }

        self.compact();
    }

    /// Emits the outputs that lie before the end of the input, treating samples past the
    /// end as silence.
    pub fn finish(&mut self, mut emit: impl FnMut(f32)) {
        if self.input_rate == u64::from(OUTPUT_RATE_HZ) {
            return;
        }

        let total_outputs = (self.inputs * u64::from(OUTPUT_RATE_HZ)).div_ceil(self.input_rate);
        while self.next_output < total_outputs {
            let Some((position, phase)) = self.position(self.next_output) else { break };
            emit(self.interpolate(position, phase));
            self.next_output += 1;
        }
    }

    /// Returns the input index at or before output `index` and its kernel phase.
    fn position(&self, index: u64) -> Option<(u64, usize)> {
        let numerator = index.checked_mul(self.input_rate)?;
        let output_rate = u64::from(OUTPUT_RATE_HZ);
        let mut position = numerator / output_rate;
        let remainder = numerator % output_rate;
        let mut phase = ((remainder * PHASES as u64 + output_rate / 2) / output_rate) as usize;
        if phase == PHASES {
            position += 1;
            phase = 0;
        }
        Some((position, phase))
    }

    fn interpolate(&self, position: u64, phase: usize) -> f32 {
        let taps = 2 * self.half_taps;
        let kernel = &self.kernels[phase * taps..(phase + 1) * taps];
        let first = position as i64 - self.half_taps as i64 + 1;

        let mut sum = 0.0f32;
        for (tap, weight) in kernel.iter().enumerate() {
            let index = first + tap as i64 - self.buffer_start as i64;
            if index >= 0 {
                if let Some(sample) = self.buffer.get(index as usize) {
                    sum += sample * weight;
                }
            }
        }
        sum
    }

    fn compact(&mut self) {
        let Some((position, _)) = self.position(self.next_output) else { return };
        let needed_from = (position + 1).saturating_sub(self.half_taps as u64);
        let removable = needed_from.saturating_sub(self.buffer_start) as usize;
        if removable >= COMPACT_AFTER {
            self.buffer.drain(..removable);
            self.buffer_start += removable as u64;
        }
    }
}

/// Blackman-windowed sinc low-pass with `cutoff` in cycles per sample.
fn windowed_sinc(x: f64, cutoff: f64, half_width: f64) -> f64 {
    if x.abs() >= half_width {
        return 0.0;
    }
    let sinc = if x == 0.0 { 2.0 * cutoff } else { (2.0 * PI * cutoff * x).sin() / (PI * x) };
    let u = x / half_width;
    let window = 0.42 + 0.5 * (PI * u).cos() + 0.08 * (2.0 * PI * u).cos();
    sinc * window
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample(input_rate: u32, input: &[f32]) -> Vec<f32> {
        let mut resampler = Resampler::new(input_rate);
        let mut output = Vec::new();
        for &sample in input {
            resampler.push(sample, |value| output.push(value));
        }
        resampler.finish(|value| output.push(value));
        output
    }

    #[test]
    fn output_length_matches_duration() {
        for rate in [8_000, 11_025, 22_050, 44_100, 48_000] {
            let input = vec![0.0; rate as usize];
            assert_eq!(resample(rate, &input).len(), 16_000, "one second at {rate} Hz");
        }
    }

    #[test]
    fn tone_keeps_amplitude_and_phase() {
        // A 440 Hz sine at 8 kHz must come out as the same sine at 16 kHz.
        let input: Vec<f32> = (0..8_000).map(|n| (2.0 * std::f32::consts::PI * 440.0 * n as f32 / 8_000.0).sin() * 0.5).collect();
        let output = resample(8_000, &input);
        for n in 1_000..15_000 {
            let expected = (2.0 * std::f32::consts::PI * 440.0 * n as f32 / 16_000.0).sin() * 0.5;
            assert!((output[n] - expected).abs() < 0.01, "sample {n}: {} vs {expected}", output[n]);
        }
    }
}
