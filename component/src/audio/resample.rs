//! Streaming sample-rate conversion to the 16 kHz rate the speech detector needs.
//!
//! A windowed-sinc interpolator: each output sample is the dot product of the input
//! around its position with a Blackman-windowed sinc low-pass kernel. Kernels are
//! precomputed for [`PHASES`] fractional positions; rounding a position to the nearest
//! phase shifts it by at most 1/512 of an input sample, far below anything the detector
//! resolves. The kernel is centred on the output position, so the output has no delay.
//!
//! Input arrives in blocks. With the rate ratio in lowest terms, `input_step` input
//! samples per `period` output samples, output `period * m + r` sits `input_step * m`
//! inputs after output `r` with the same phase. So the outputs of one residue `r` are
//! an ordinary FIR filter with one kernel, and [`LANES`] of them are computed together.
//! Each output still sums its taps in kernel order from 0.0, so the result does not
//! depend on the block sizes.

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

/// Outputs of one residue computed together: eight independent sums fill two 128-bit
/// SIMD registers, and without SIMD they still overlap in the pipeline.
const LANES: usize = 8;

/// Values in one row of [`Resampler::pair_weights`].
const PAIR_ROW: usize = 8;

#[derive(Debug)]
pub struct Resampler {
    input_rate: u64,
    /// Input samples per `period` output samples: the rate ratio in lowest terms.
    input_step: usize,
    period: usize,
    half_taps: usize,
    /// `PHASES` kernels of `2 * half_taps` taps each.
    kernels: Vec<f32>,
    /// For each residue `r` in `0..period`: the input offset of output `r`'s first tap
    /// from output 0's, and its kernel phase.
    residues: Vec<(usize, usize)>,
    /// For exactly twice the input rate: the weights of outputs `2m` and `2m + 1` for
    /// each tap, each repeated in four lanes (`[even; 4]` then `[odd; 4]`), as
    /// [`filter_pairs`] multiplies them. Empty for other rates.
    pair_weights: Vec<[f32; PAIR_ROW]>,
    /// Input from absolute index `buffer_start` on; starts with `half_taps` zeros so the
    /// first outputs' taps before the input read silence.
    buffer: Vec<f32>,
    buffer_start: i64,
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

        let divisor = gcd(input_rate_u64, u64::from(OUTPUT_RATE_HZ));
        let input_step = (input_rate_u64 / divisor) as usize;
        let period = (u64::from(OUTPUT_RATE_HZ) / divisor) as usize;

        let mut resampler = Self {
            input_rate: input_rate_u64,
            input_step,
            period,
            half_taps,
            kernels,
            residues: Vec::with_capacity(period),
            pair_weights: Vec::new(),
            buffer: vec![0.0; half_taps],
            buffer_start: -(half_taps as i64),
            inputs: 0,
            next_output: 0,
        };
        resampler.residues = (0..period as u64).map(|r| resampler.position(r)).map(|(p, phase)| (p as usize, phase)).collect();
        if resampler.is_doubling() {
            let [even, odd] = [resampler.residues[0].1, resampler.residues[1].1].map(|phase| &resampler.kernels[phase * taps..(phase + 1) * taps]);
            resampler.pair_weights = even.iter().zip(odd).map(|(&even, &odd)| [even, even, even, even, odd, odd, odd, odd]).collect();
        }
        resampler
    }

    /// Adds input samples and appends every output sample that became computable.
    pub fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        if self.input_rate == u64::from(OUTPUT_RATE_HZ) {
            output.extend_from_slice(input);
            return;
        }

        self.buffer.extend_from_slice(input);
        self.inputs += input.len() as u64;
        let end = self.computable_outputs();
        self.emit(end, output);
        self.compact();
    }

    /// Appends the outputs that lie before the end of the input, treating samples past
    /// the end as silence.
    pub fn finish(&mut self, output: &mut Vec<f32>) {
        if self.input_rate == u64::from(OUTPUT_RATE_HZ) {
            return;
        }

        let total_outputs = (self.inputs * u64::from(OUTPUT_RATE_HZ)).div_ceil(self.input_rate);
        if total_outputs <= self.next_output {
            return;
        }
        let (last_position, _) = self.position(total_outputs - 1);
        let needed = (last_position + self.half_taps as u64 + 1) as i64 - self.buffer_start;
        if needed > self.buffer.len() as i64 {
            self.buffer.resize(needed as usize, 0.0);
        }
        self.emit(total_outputs, output);
    }

    /// Returns the input index at or before output `index` and its kernel phase.
    fn position(&self, index: u64) -> (u64, usize) {
        let output_rate = u64::from(OUTPUT_RATE_HZ);
        let numerator = index * self.input_rate;
        let mut position = numerator / output_rate;
        let remainder = numerator % output_rate;
        let mut phase = ((remainder * PHASES as u64 + output_rate / 2) / output_rate) as usize;
        if phase == PHASES {
            position += 1;
            phase = 0;
        }
        (position, phase)
    }

    /// Returns the index after the last output whose taps all lie in the input so far.
    fn computable_outputs(&self) -> u64 {
        let ready = |index: u64| self.position(index).0 + (self.half_taps as u64) < self.inputs;
        let estimate = self.inputs.saturating_sub(self.half_taps as u64) * u64::from(OUTPUT_RATE_HZ) / self.input_rate;
        let mut end = estimate.max(self.next_output);
        while ready(end) {
            end += 1;
        }
        while end > self.next_output && !ready(end - 1) {
            end -= 1;
        }
        end
    }

    /// Computes outputs `next_output..end` into `output`, residue by residue.
    fn emit(&mut self, end: u64, output: &mut Vec<f32>) {
        let first = self.next_output;
        if end <= first {
            return;
        }
        let base = output.len();
        output.resize(base + (end - first) as usize, 0.0);
        let output = &mut output[base..];

        let taps = 2 * self.half_taps;
        let period = self.period as u64;
        if end - first < period {
            // Fewer outputs than residues (a rate like 8001 Hz has 16000): one at a time.
            for index in first..end {
                let (position, phase) = self.position(index);
                let start = (position as i64 + 1 - self.half_taps as i64 - self.buffer_start) as usize;
                let kernel = &self.kernels[phase * taps..(phase + 1) * taps];
                output[(index - first) as usize] = dot(&self.buffer[start..start + taps], kernel);
            }
            self.next_output = end;
            return;
        }

        if self.is_doubling() {
            self.emit_doubled(first, end, output);
            self.next_output = end;
            return;
        }

        for (residue, &(offset, phase)) in self.residues.iter().enumerate() {
            let residue = residue as u64;
            // Outputs `period * m + residue` for m in `first_m..end_m`.
            let first_m = (first + period - 1 - residue) / period;
            let end_m = (end + period - 1 - residue) / period;
            let kernel = &self.kernels[phase * taps..(phase + 1) * taps];

            let mut m = first_m;
            while m < end_m {
                let lanes = if end_m - m >= LANES as u64 { LANES } else { 1 };
                // Absolute index of the first tap of output `period * m + residue`.
                let first_tap = (self.input_step as u64 * m + offset as u64) as i64 + 1 - self.half_taps as i64;
                let start = (first_tap - self.buffer_start) as usize;
                let span = self.input_step * (lanes - 1) + taps;
                let window = &self.buffer[start..start + span];

                let sums = if lanes == 1 {
                    let mut sums = [0.0; LANES];
                    sums[0] = dot(window, kernel);
                    sums
                } else if self.input_step == 1 {
                    filter_contiguous(window, kernel)
                } else {
                    filter_strided(window, kernel, self.input_step)
                };

                for (lane, &sum) in sums[..lanes].iter().enumerate() {
                    let index = period * (m + lane as u64) + residue - first;
                    output[index as usize] = sum;
                }
                m += lanes as u64;
            }
        }
        self.next_output = end;
    }

    /// Returns whether the output rate is exactly twice the input rate, with outputs
    /// `2m` and `2m + 1` reading the same input window.
    fn is_doubling(&self) -> bool {
        self.input_step == 1 && self.period == 2 && self.residues[0].0 == self.residues[1].0
    }

    /// Computes outputs `first..end` for a rate of exactly 8 kHz (twice as many outputs
    /// as inputs): outputs `2m` and `2m + 1` read the same input window with two
    /// kernels, so [`filter_pairs`] loads each input once for both.
    fn emit_doubled(&self, first: u64, end: u64, output: &mut [f32]) {
        let taps = 2 * self.half_taps;
        let (offset, _) = self.residues[0];
        let kernels = [self.residues[0].1, self.residues[1].1].map(|phase| &self.kernels[phase * taps..(phase + 1) * taps]);
        let start_of = |m: u64| ((m + offset as u64) as i64 + 1 - self.half_taps as i64 - self.buffer_start) as usize;
        let single = |index: u64| {
            let m = index / 2;
            dot(&self.buffer[start_of(m)..start_of(m) + taps], kernels[(index % 2) as usize])
        };

        // An odd first output and an odd end are computed on their own.
        let mut index = first;
        if index % 2 == 1 && index < end {
            output[0] = single(index);
            index += 1;
        }
        while index + 2 * LANES as u64 <= end {
            let m = index / 2;
            let window = &self.buffer[start_of(m)..start_of(m) + LANES - 1 + taps];
            let pairs = filter_pairs(window, &self.pair_weights);
            let at = (index - first) as usize;
            output[at..at + 2 * LANES].copy_from_slice(&pairs);
            index += 2 * LANES as u64;
        }
        while index < end {
            output[(index - first) as usize] = single(index);
            index += 1;
        }
    }

    /// Drops the input that no later output reads.
    fn compact(&mut self) {
        let (position, _) = self.position(self.next_output);
        let needed_from = (position + 1) as i64 - self.half_taps as i64;
        let removable = (needed_from - self.buffer_start).max(0) as usize;
        if removable > 0 {
            self.buffer.drain(..removable.min(self.buffer.len()));
            self.buffer_start += removable as i64;
        }
    }
}

/// Returns one output: the taps summed in kernel order from 0.0.
fn dot(window: &[f32], kernel: &[f32]) -> f32 {
    let mut sum = 0.0f32;
    for (sample, weight) in window.iter().zip(kernel) {
        sum += sample * weight;
    }
    sum
}

/// Returns `LANES` consecutive outputs of one kernel over contiguous input. A window
/// of all zeros, as in digital silence, gives zeros without the multiplications.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn filter_contiguous(window: &[f32], kernel: &[f32]) -> [f32; LANES] {
    let mut sums = [0.0f32; LANES];
    if window.iter().fold(0u32, |bits, sample| bits | (sample.to_bits() << 1)) == 0 {
        return sums;
    }
    for (tap, &weight) in kernel.iter().enumerate() {
        let column: &[f32; LANES] = window[tap..tap + LANES].try_into().expect("the window spans every lane");
        for lane in 0..LANES {
            sums[lane] += column[lane] * weight;
        }
    }
    sums
}

/// [`filter_contiguous`] in wasm SIMD: LLVM does not vectorise the portable loop there.
/// Each lane multiplies and adds in the same order, so the sums are the same.
///
/// Not inlined, and the taps unrolled by four: every loop iteration in wasmtime checks
/// the epoch deadline, which may call into the runtime, so Cranelift keeps values that
/// live across iterations in memory; unrolling moves them once per four taps.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn filter_contiguous(window: &[f32], kernel: &[f32]) -> [f32; LANES] {
    use core::arch::wasm32::{
        f32x4_add, f32x4_mul, f32x4_splat, i32x4_shl, u32x4_splat, v128, v128_any_true, v128_load, v128_or,
        v128_store,
    };

    const { assert!(LANES == 8, "two vectors of four lanes") };
    assert!(window.len() >= kernel.len() + LANES - 1, "the window spans every lane");
    let load = |at: usize| -> v128 {
        debug_assert!(at + 4 <= window.len());
        // SAFETY: every caller passes `at + 4 <= window.len()`, checked by the assert
        // above for the taps; wasm loads need no alignment.
        unsafe { v128_load(window.as_ptr().add(at).cast::<v128>()) }
    };

    let mut sums = [0.0f32; LANES];
    let mut bits = u32x4_splat(0);
    let mut at = 0;
    while at + 4 <= window.len() {
        bits = v128_or(bits, load(at));
        at += 4;
    }
    let rest = window[at..].iter().fold(0u32, |bits, sample| bits | sample.to_bits());
    // Shifting out the sign bits counts -0.0 as zero.
    if !v128_any_true(i32x4_shl(bits, 1)) && rest << 1 == 0 {
        return sums;
    }

    let mut low = f32x4_splat(0.0);
    let mut high = f32x4_splat(0.0);
    let mut step = |tap: usize, weight: f32| {
        let weight = f32x4_splat(weight);
        low = f32x4_add(low, f32x4_mul(load(tap), weight));
        high = f32x4_add(high, f32x4_mul(load(tap + 4), weight));
    };
    let mut quads = kernel.chunks_exact(4);
    let mut tap = 0;
    for quad in &mut quads {
        step(tap, quad[0]);
        step(tap + 1, quad[1]);
        step(tap + 2, quad[2]);
        step(tap + 3, quad[3]);
        tap += 4;
    }
    for &weight in quads.remainder() {
        step(tap, weight);
        tap += 1;
    }
    // SAFETY: `sums` holds two v128 values; wasm stores need no alignment.
    unsafe {
        v128_store(sums.as_mut_ptr().cast::<v128>(), low);
        v128_store(sums.as_mut_ptr().add(4).cast::<v128>(), high);
    }
    sums
}

/// Returns `LANES` consecutive outputs of each of two kernels over the same contiguous
/// input, interleaved: `even[0], odd[0], even[1], ...`. The kernels are the lanes of
/// `weights` (see [`Resampler::pair_weights`]). Each output sums its taps in kernel
/// order from 0.0, as [`dot`] does.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn filter_pairs(window: &[f32], weights: &[[f32; PAIR_ROW]]) -> [f32; 2 * LANES] {
    let mut pairs = [0.0f32; 2 * LANES];
    if window.iter().fold(0u32, |bits, sample| bits | (sample.to_bits() << 1)) == 0 {
        return pairs;
    }
    let mut sums = [[0.0f32; LANES]; 2];
    for (tap, row) in weights.iter().enumerate() {
        let (weight_even, weight_odd) = (row[0], row[4]);
        let column: &[f32; LANES] = window[tap..tap + LANES].try_into().expect("the window spans every lane");
        for lane in 0..LANES {
            sums[0][lane] += column[lane] * weight_even;
            sums[1][lane] += column[lane] * weight_odd;
        }
    }
    for lane in 0..LANES {
        pairs[2 * lane] = sums[0][lane];
        pairs[2 * lane + 1] = sums[1][lane];
    }
    pairs
}

/// [`filter_pairs`] in wasm SIMD, not inlined for the same reasons as
/// [`filter_contiguous`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn filter_pairs(window: &[f32], weights: &[[f32; PAIR_ROW]]) -> [f32; 2 * LANES] {
    use core::arch::wasm32::{
        f32x4_add, f32x4_mul, f32x4_splat, i32x4_shl, i32x4_shuffle, u32x4_splat, v128, v128_any_true, v128_load,
        v128_or, v128_store,
    };

    const { assert!(LANES == 8, "two vectors of four lanes") };
    assert!(window.len() >= weights.len() + LANES - 1, "the window spans every lane");
    let load = |at: usize| -> v128 {
        debug_assert!(at + 4 <= window.len());
        // SAFETY: every caller passes `at + 4 <= window.len()`, checked by the assert
        // above for the taps; wasm loads need no alignment.
        unsafe { v128_load(window.as_ptr().add(at).cast::<v128>()) }
    };

    let mut pairs = [0.0f32; 2 * LANES];
    let mut bits = u32x4_splat(0);
    let mut at = 0;
    while at + 4 <= window.len() {
        bits = v128_or(bits, load(at));
        at += 4;
    }
    let rest = window[at..].iter().fold(0u32, |bits, sample| bits | sample.to_bits());
    // Shifting out the sign bits counts -0.0 as zero.
    if !v128_any_true(i32x4_shl(bits, 1)) && rest << 1 == 0 {
        return pairs;
    }

    let zero = f32x4_splat(0.0);
    let (mut even_low, mut even_high, mut odd_low, mut odd_high) = (zero, zero, zero, zero);
    let mut step = |tap: usize, row: &[f32; PAIR_ROW]| {
        let (low, high) = (load(tap), load(tap + 4));
        // SAFETY: a row is two v128 values; wasm loads need no alignment.
        let (weight_even, weight_odd) =
            unsafe { (v128_load(row.as_ptr().cast::<v128>()), v128_load(row.as_ptr().add(4).cast::<v128>())) };
        even_low = f32x4_add(even_low, f32x4_mul(low, weight_even));
        even_high = f32x4_add(even_high, f32x4_mul(high, weight_even));
        odd_low = f32x4_add(odd_low, f32x4_mul(low, weight_odd));
        odd_high = f32x4_add(odd_high, f32x4_mul(high, weight_odd));
    };
    // Unrolled by four: Cranelift keeps the sums in memory across each loop iteration,
    // whose epoch check may call into the runtime.
    let mut rows = weights.chunks_exact(4);
    let mut tap = 0;
    for quad in &mut rows {
        step(tap, &quad[0]);
        step(tap + 1, &quad[1]);
        step(tap + 2, &quad[2]);
        step(tap + 3, &quad[3]);
        tap += 4;
    }
    for row in rows.remainder() {
        step(tap, row);
        tap += 1;
    }
    let interleaved = [
        i32x4_shuffle::<0, 4, 1, 5>(even_low, odd_low),
        i32x4_shuffle::<2, 6, 3, 7>(even_low, odd_low),
        i32x4_shuffle::<0, 4, 1, 5>(even_high, odd_high),
        i32x4_shuffle::<2, 6, 3, 7>(even_high, odd_high),
    ];
    for (quarter, vector) in interleaved.into_iter().enumerate() {
        // SAFETY: `pairs` holds four v128 values; wasm stores need no alignment.
        unsafe { v128_store(pairs.as_mut_ptr().add(4 * quarter).cast::<v128>(), vector) };
    }
    pairs
}

/// Returns `LANES` outputs of one kernel whose inputs lie `step` samples apart.
#[inline(always)]
fn filter_strided(window: &[f32], kernel: &[f32], step: usize) -> [f32; LANES] {
    let mut sums = [0.0f32; LANES];
    for (tap, &weight) in kernel.iter().enumerate() {
        let column = &window[tap..];
        for lane in 0..LANES {
            sums[lane] += column[lane * step] * weight;
        }
    }
    sums
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
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

    fn resample_in_blocks(input_rate: u32, input: &[f32], block: usize) -> Vec<f32> {
        let mut resampler = Resampler::new(input_rate);
        let mut output = Vec::new();
        for chunk in input.chunks(block) {
            resampler.process(chunk, &mut output);
        }
        resampler.finish(&mut output);
        output
    }

    fn resample(input_rate: u32, input: &[f32]) -> Vec<f32> {
        resample_in_blocks(input_rate, input, 4096)
    }

    /// Output `index` computed on its own, as one dot product over the whole input.
    fn reference_output(resampler: &Resampler, input: &[f32], index: u64) -> f32 {
        let taps = 2 * resampler.half_taps;
        let (position, phase) = resampler.position(index);
        let kernel = &resampler.kernels[phase * taps..(phase + 1) * taps];
        let first = position as i64 - resampler.half_taps as i64 + 1;
        let mut sum = 0.0f32;
        for (tap, weight) in kernel.iter().enumerate() {
            let sample = usize::try_from(first + tap as i64).ok().and_then(|at| input.get(at)).copied().unwrap_or(0.0);
            sum += sample * weight;
        }
        sum
    }

    fn noise(length: usize) -> Vec<f32> {
        let mut state = 12345u32;
        (0..length)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect()
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

    #[test]
    fn blocks_match_single_dot_products() {
        for rate in [8_000, 11_025, 12_000, 22_050, 32_000, 44_100, 48_000, 8_001] {
            let mut input = noise(rate as usize / 2);
            // A stretch of digital silence, which the contiguous path skips.
            input[1000..2500].fill(0.0);
            let reference = Resampler::new(rate);
            for block in [1, 7, 4096] {
                let output = resample_in_blocks(rate, &input, block);
                for (index, &value) in output.iter().enumerate() {
                    let expected = reference_output(&reference, &input, index as u64);
                    assert_eq!(value.to_bits(), expected.to_bits(), "{rate} Hz, blocks of {block}, output {index}");
                }
            }
        }
    }
}
