//! The default network: three small convolutions over the mel features of the last
//! three frames, two recurrent minGRU layers in 16-bit fixed point, and a sigmoid.
//!
//! Rearranged from upstream for vectorisation: every floating-point sum still adds
//! the same products in the same order, so the scores are bit-identical (see
//! `tests/upstream.rs`).

use crate::util::libm;

const _WEIGHTS_LEN: usize = include_bytes!("weights.bin").len();
static WEIGHTS: &[u8; _WEIGHTS_LEN] = {
	#[repr(C, align(4))]
	struct AlignedData<T: ?Sized>(T);

	const __DATA: &'static AlignedData<[u8; _WEIGHTS_LEN]> = &AlignedData(*include_bytes!("weights.bin"));
	&__DATA.0
};

const fn weight<'a, const SIZE: usize>(offset: usize) -> &'a [f32; SIZE] {
	unsafe { &*(WEIGHTS.as_ptr().cast::<f32>().add(offset) as *const [_; SIZE]) }
}

const fn quantized_weight<'a, const SIZE: usize>(offset: usize) -> &'a [i16; SIZE] {
	unsafe { &*(WEIGHTS.as_ptr().cast::<i16>().add(offset * 2) as *const [_; SIZE]) }
}

/// Returns the 16×16 pointwise weights at float `offset`, stored `[output][input]`, as
/// `[input][output]`: one input channel then updates all 16 output sums at once.
const fn transposed_pointwise(offset: usize) -> [f32; 256] {
	let bytes = include_bytes!("weights.bin");
	let mut transposed = [0.0f32; 256];
	let mut output = 0;
	while output < 16 {
		let mut input = 0;
		while input < 16 {
			let at = (offset + output * 16 + input) * 4;
			transposed[input * 16 + output] = f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
			input += 1;
		}
		output += 1;
	}
	transposed
}

static NORM_WEIGHT: &[f32; 40] = weight(0);
static LAYER1_KERNEL: &[f32; 9] = weight(40);
static LAYER1_WEIGHT: &[f32; 16] = weight(49);
static LAYER1_BIAS: &[f32; 16] = weight(65);
static LAYER2_KERNEL: &[f32; 48] = weight(81);
static LAYER2_WEIGHT_T: [f32; 256] = transposed_pointwise(129);
static LAYER2_BIAS: &[f32; 16] = weight(385);
static LAYER3_KERNEL: &[f32; 48] = weight(401);
static LAYER3_WEIGHT_T: [f32; 256] = transposed_pointwise(449);
static RNN1_WEIGHT: &[i16; 10240] = quantized_weight(705);
static RNN2_WEIGHT: &[i16; 8192] = quantized_weight(5825);
static OUTPUT_WEIGHT: &[i16; 128] = quantized_weight(9921);

const CHANNELS: usize = 16;

pub struct DefaultPredictor {
	state: [i16; 128]
}

impl DefaultPredictor {
	pub const fn new() -> Self {
		Self { state: [0; 128] }
	}
}

impl Default for DefaultPredictor {
	fn default() -> Self {
		Self::new()
	}
}

impl crate::Predictor for DefaultPredictor {
	fn reset(&mut self) {
		self.state.fill(0);
	}

	fn normalize(&self, features: &mut [f32]) {
		let i_rms = libm::rsqrtf(features.iter().map(|x| x * x).sum::<f32>() / features.len() as f32);
		for (i, v) in features.iter_mut().enumerate() {
			*v = NORM_WEIGHT[i] * *v * i_rms;
		}
	}

	fn predict(&mut self, features: &[f32], _buffer: &mut [f32]) -> f32 {
		let features: &[f32; 120] = features.try_into().expect("three frames of 40 features");
		let mut layer1 = [0.0f32; 288];
		input_layer1(features, &mut layer1);
		let mut layer2 = [0.0f32; 144];
		input_layer2(&layer1, &mut layer2);
		let mut layer3 = [0i16; 80];
		input_layer3(&layer2, &mut layer3);

		let (state1, state2) = self.state.split_at_mut(64);
		let mut temp = [0i32; 128];
		mingru::<80>(&layer3, state1, RNN1_WEIGHT, &mut temp);
		mingru::<64>(state1, state2, RNN2_WEIGHT, &mut temp);

		output(&self.state)
	}
}

/// Returns the larger value, and `a` when `b` is NaN, as `f32::max` does. On wasm
/// `f32::max` is a call to `fmaxf`; this is a compare and select. For two zeros of
/// different sign either may come back, which no later step can tell apart.
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
	if b > a { b } else { a }
}

/// Rounds half away from zero, as `f32::round` does, from truncation: `round` is a
/// library call on wasm.
#[inline(always)]
fn round(value: f32) -> f32 {
	let whole = value.trunc();
	// Exact: `whole` is `value` with its fraction bits cleared.
	if (value - whole).abs() >= 0.5 { whole + 1.0f32.copysign(value) } else { whole }
}

#[inline(never)]
fn input_layer1(features: &[f32; 120], output: &mut [f32; 288]) {
	const NUM_FEATURES: usize = 40;
	const KERNEL_SIZE: usize = 3;
	const DEPTHWISE_NUM_FEATURES: usize = NUM_FEATURES - KERNEL_SIZE + 1;
	const POOL_KERNEL_SIZE: usize = 3;
	const POOL_STRIDE: usize = 2;
	const POOLED_COLS: usize = (DEPTHWISE_NUM_FEATURES - POOL_KERNEL_SIZE) / POOL_STRIDE + 1;

	// Depthwise 3×3 convolution over the three frames; every column sums its nine taps
	// in (row, column) order, all columns at once.
	let mut row = [0.0f32; DEPTHWISE_NUM_FEATURES];
	for kh in 0..KERNEL_SIZE {
		for kw in 0..KERNEL_SIZE {
			let kernel = LAYER1_KERNEL[(kh * KERNEL_SIZE) + kw];
			let input = &features[kh * NUM_FEATURES + kw..][..DEPTHWISE_NUM_FEATURES];
			for (sum, &feature) in row.iter_mut().zip(input) {
				*sum += feature * kernel;
			}
		}
	}

	for c in 0..CHANNELS {
		// Pointwise convolution.
		let mut new_row = [0.0f32; DEPTHWISE_NUM_FEATURES];
		for (value, &sum) in new_row.iter_mut().zip(&row) {
			*value = (sum * LAYER1_WEIGHT[c]) + LAYER1_BIAS[c];
		}

		// Max pool over the row, starting from 0.0, which is also the ReLU.
		for q in 0..POOLED_COLS {
			let mut pooled = 0.0f32;
			for x in 0..POOL_KERNEL_SIZE {
				pooled = max(pooled, new_row[(q * POOL_STRIDE) + x]);
			}
			output[POOLED_COLS * c + q] = pooled;
		}
	}
}

/// Depthwise convolution with kernel 3 and stride 2 over each channel's `IN_FEATURES`
/// values, for output column `ox`; columns outside the input are left out of the sum.
#[inline(always)]
fn depthwise<const IN_FEATURES: usize>(features: &[f32], kernel: &[f32; 48], ox: usize) -> [f32; CHANNELS] {
	const HORIZONTAL_KERNEL_SIZE: usize = 3;
	const STRIDE: usize = 2;

	let mut dw = [0.0f32; CHANNELS];
	for (c, sum) in dw.iter_mut().enumerate() {
		for kw in 0..HORIZONTAL_KERNEL_SIZE {
			let ix = (ox * STRIDE + kw) as isize - 1;
			if ix < 0 || ix >= IN_FEATURES as isize {
				continue;
			}
			*sum += features[(c * IN_FEATURES) + ix as usize] * kernel[(c * HORIZONTAL_KERNEL_SIZE) + kw];
		}
	}
	dw
}

/// Pointwise convolution: every output channel sums `dw[c] * weight` over the input
/// channels in order, all 16 outputs at once.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn pointwise(dw: &[f32; CHANNELS], transposed: &[f32; 256]) -> [f32; CHANNELS] {
	let mut sums = [0.0f32; CHANNELS];
	for (c, &value) in dw.iter().enumerate() {
		let weights: &[f32; CHANNELS] = transposed[c * CHANNELS..][..CHANNELS].try_into().expect("16 weights");
		for (sum, &weight) in sums.iter_mut().zip(weights) {
			*sum += value * weight;
		}
	}
	sums
}

/// [`pointwise`] in wasm SIMD: the 16 sums are four vectors.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn pointwise(dw: &[f32; CHANNELS], transposed: &[f32; 256]) -> [f32; CHANNELS] {
	use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};

	let load = |at: usize| {
		// SAFETY: callers pass `at + 4 <= 256`; wasm loads need no alignment.
		unsafe { v128_load(transposed.as_ptr().add(at).cast::<v128>()) }
	};
	let mut sums = [f32x4_splat(0.0); 4];
	let mut step = |c: usize| {
		let value = f32x4_splat(dw[c]);
		for (quarter, sum) in sums.iter_mut().enumerate() {
			*sum = f32x4_add(*sum, f32x4_mul(value, load(c * CHANNELS + quarter * 4)));
		}
	};
	// Unrolled by four: wasmtime checks its epoch deadline in every loop iteration, so
	// Cranelift keeps sums that live across iterations in memory.
	for c in (0..CHANNELS).step_by(4) {
		step(c);
		step(c + 1);
		step(c + 2);
		step(c + 3);
	}
	let mut output = [0.0f32; CHANNELS];
	for (quarter, sum) in sums.into_iter().enumerate() {
		// SAFETY: `output` holds four v128 values; wasm stores need no alignment.
		unsafe { v128_store(output.as_mut_ptr().add(quarter * 4).cast::<v128>(), sum) };
	}
	output
}

#[inline(never)]
fn input_layer2(features: &[f32; 288], output: &mut [f32; 144]) {
	const IN_FEATURES: usize = 18;
	const OUT_FEATURES: usize = 9;

	for ox in 0..OUT_FEATURES {
		let dw = depthwise::<IN_FEATURES>(features, LAYER2_KERNEL, ox);
		let sums = pointwise(&dw, &LAYER2_WEIGHT_T);
		for (oc, &sum) in sums.iter().enumerate() {
			output[(oc * OUT_FEATURES) + ox] = max(0.0, sum + LAYER2_BIAS[oc]);
		}
	}
}

#[inline(never)]
fn input_layer3(features: &[f32; 144], output: &mut [i16; 80]) {
	const IN_FEATURES: usize = 9;
	const OUT_FEATURES: usize = 5;

	for ox in 0..OUT_FEATURES {
		let dw = depthwise::<IN_FEATURES>(features, LAYER3_KERNEL, ox);
		let sums = pointwise(&dw, &LAYER3_WEIGHT_T);
		for (oc, &sum) in sums.iter().enumerate() {
			// note: transposed, no ReLU or bias
			output[(ox * CHANNELS) + oc] = round(sum * 32768.0).clamp(-32768.0, 32767.0) as i16;
		}
	}
}

/// Returns the dot product of two 16-bit vectors, accumulated in 32 bits with
/// wrap-around. Integer sums do not depend on their order.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
	a.iter().zip(b).fold(0i32, |sum, (&x, &y)| sum.wrapping_add(i32::from(x) * i32::from(y)))
}

/// [`dot_i16`] with wasm's `i32x4.dot_i16x8_s`, which multiplies eight pairs and adds
/// neighbouring products into four 32-bit lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
	use core::arch::wasm32::{i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_splat, v128, v128_load};

	assert_eq!(a.len(), b.len(), "vectors of equal length");
	let groups = a.len() / 8;
	let mut sums = i32x4_splat(0);
	for group in 0..groups {
		// SAFETY: `group * 8 + 8 <= len` for both slices; wasm loads need no alignment.
		let (x, y) = unsafe {
			(v128_load(a.as_ptr().add(group * 8).cast::<v128>()), v128_load(b.as_ptr().add(group * 8).cast::<v128>()))
		};
		sums = i32x4_add(sums, i32x4_dot_i16x8(x, y));
	}
	let mut sum = i32x4_extract_lane::<0>(sums)
		.wrapping_add(i32x4_extract_lane::<1>(sums))
		.wrapping_add(i32x4_extract_lane::<2>(sums))
		.wrapping_add(i32x4_extract_lane::<3>(sums));
	for (&x, &y) in a[groups * 8..].iter().zip(&b[groups * 8..]) {
		sum = sum.wrapping_add(i32::from(x) * i32::from(y));
	}
	sum
}

#[inline(never)]
fn mingru<const IN_DIM: usize>(features: &[i16], h: &mut [i16], weight: &[i16], temp: &mut [i32; 128]) {
	candidates_and_gates::<IN_DIM>(&features[..IN_DIM], weight, temp); // Q15 * Q9 = Q24

	for i in 0..64 {
		// gate is multiplied by 4 then clamped within [0, 1] in Q24
		let g = (temp[64 + i] << 2).clamp(0, 16777215) as i64;
		let y = (16777215 - g) * ((h[i] as i64) << 9) as i64 + g * temp[i] as i64; // Q24 * Q24 = Q48
		h[i] = (y >> 33).clamp(-32768, 32767) as i16; // back down to Q15
	}
}

/// Writes the dot product of `features` with each of the 128 weight rows.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn candidates_and_gates<const IN_DIM: usize>(features: &[i16], weight: &[i16], temp: &mut [i32; 128]) {
	for (d, value) in temp.iter_mut().enumerate() {
		*value = dot_i16(features, &weight[d * IN_DIM..(d + 1) * IN_DIM]);
	}
}

/// [`candidates_and_gates`] in wasm SIMD, four rows at a time: each group of eight
/// features is loaded once for the four rows, and the four sums are reduced together.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn candidates_and_gates<const IN_DIM: usize>(features: &[i16], weight: &[i16], temp: &mut [i32; 128]) {
	use core::arch::wasm32::{i32x4_add, i32x4_dot_i16x8, i32x4_shuffle, i32x4_splat, v128, v128_load, v128_store};

	assert!(features.len() == IN_DIM && weight.len() >= 128 * IN_DIM, "128 rows of IN_DIM weights");
	let load = |values: &[i16], at: usize| {
		// SAFETY: callers pass `at + 8 <= values.len()`, as the assert above ensures for
		// every group of every row; wasm loads need no alignment.
		unsafe { v128_load(values.as_ptr().add(at).cast::<v128>()) }
	};

	const { assert!(IN_DIM % 16 == 0, "whole pairs of groups of eight features") };
	for row in (0..128).step_by(4) {
		let mut sums = [i32x4_splat(0); 4];
		let mut step = |group: usize| {
			let feature = load(features, group);
			for (lane, sum) in sums.iter_mut().enumerate() {
				*sum = i32x4_add(*sum, i32x4_dot_i16x8(feature, load(weight, (row + lane) * IN_DIM + group)));
			}
		};
		// Two groups per iteration: wasmtime checks its epoch deadline in every loop
		// iteration, so Cranelift keeps sums that live across iterations in memory.
		for group in (0..IN_DIM).step_by(16) {
			step(group);
			step(group + 8);
		}
		// Add the four lanes of each row's sum: transpose pairwise, then add.
		let low = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(sums[0], sums[1]), i32x4_shuffle::<2, 6, 3, 7>(sums[0], sums[1]));
		let high = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(sums[2], sums[3]), i32x4_shuffle::<2, 6, 3, 7>(sums[2], sums[3]));
		let rows = i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(low, high), i32x4_shuffle::<2, 3, 6, 7>(low, high));
		// SAFETY: `row + 4 <= 128`; wasm stores need no alignment.
		unsafe { v128_store(temp.as_mut_ptr().add(row).cast::<v128>(), rows) };
	}
}

#[inline]
fn sigmoid(x: f32) -> f32 {
	1. / (1. + libm::expf(-x))
}

fn output(state: &[i16; 128]) -> f32 {
	let out = dot_i16(state, OUTPUT_WEIGHT); // Q15 * Q9 = Q24
	sigmoid(out as f32 / const { 16777216 as f32 })
}
