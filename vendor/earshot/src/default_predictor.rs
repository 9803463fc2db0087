//! The default network: three small convolutions over the mel features of the last
//! three frames, two recurrent minGRU layers in 16-bit fixed point, and a sigmoid.
//!
//! Rearranged from upstream for vectorisation: every floating-point sum still adds
//! the same products in the same order, so the scores are bit-identical (see
//! `tests/upstream.rs`).

use crate::simd::F32x4;
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
static LAYER2_WEIGHT_T: [f32; 256] = transposed_pointwise(129);
static LAYER2_BIAS: &[f32; 16] = weight(385);
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
		let mut layer1 = [[F32x4::ZERO; CHANNEL_VECTORS]; LAYER1_COLUMNS];
		input_layer1(features, &mut layer1);
		let mut layer2 = [[F32x4::ZERO; CHANNEL_VECTORS]; LAYER2_COLUMNS];
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

/// Channels in one [`F32x4`].
const LANES: usize = 4;

/// Vectors that hold one value per channel.
const CHANNEL_VECTORS: usize = CHANNELS / LANES;

/// One value per channel, in channel order.
type ChannelValues = [F32x4; CHANNEL_VECTORS];

/// Returns `[vector(0), vector(1), vector(2), vector(3)]`, written out: `array::map`
/// is not always inlined.
#[inline(always)]
fn each_vector(vector: impl Fn(usize) -> F32x4) -> ChannelValues {
	[vector(0), vector(1), vector(2), vector(3)]
}

/// Loads 16 per-channel values.
#[inline(always)]
fn channel_values(values: &[f32; CHANNELS]) -> ChannelValues {
	each_vector(|vector| F32x4::load(values, vector * LANES))
}

/// Returns the depthwise kernel of a stride-2 layer at float `offset`, stored
/// `[channel][tap]`, as `[tap][channel]`: each tap then multiplies all channels at once.
const fn transposed_depthwise(offset: usize) -> [f32; 48] {
	let bytes = include_bytes!("weights.bin");
	let mut transposed = [0.0f32; 48];
	let mut channel = 0;
	while channel < CHANNELS {
		let mut tap = 0;
		while tap < 3 {
			let at = (offset + channel * 3 + tap) * 4;
			transposed[tap * CHANNELS + channel] = f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
			tap += 1;
		}
		channel += 1;
	}
	transposed
}

static LAYER2_KERNEL_T: [f32; 48] = transposed_depthwise(81);
static LAYER3_KERNEL_T: [f32; 48] = transposed_depthwise(401);

/// Columns of the first layer's output, which the second layer reads.
const LAYER1_COLUMNS: usize = 18;

/// Columns of the second layer's output.
const LAYER2_COLUMNS: usize = 9;

/// The first layer: a depthwise 3×3 convolution over the three frames, a pointwise
/// scale and bias per channel, and a max pool (which is also the ReLU). Writes column
/// `q` of every channel to `output[q]`.
#[inline(never)]
fn input_layer1(features: &[f32; 120], output: &mut [ChannelValues; LAYER1_COLUMNS]) {
	const NUM_FEATURES: usize = 40;
	const KERNEL_SIZE: usize = 3;
	const DEPTHWISE_NUM_FEATURES: usize = NUM_FEATURES - KERNEL_SIZE + 1;
	const POOL_STRIDE: usize = 2;

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

	// Pointwise convolution of each column for all channels at once, then the max
	// pool over columns `2q`, `2q + 1` and `2q + 2`, starting from 0.0.
	let weight = channel_values(LAYER1_WEIGHT);
	let bias = channel_values(LAYER1_BIAS);
	let pointwise = |column: usize| -> ChannelValues {
		let value = F32x4::splat(row[column]);
		each_vector(|vector| value.mul(weight[vector]).add(bias[vector]))
	};
	for (q, pooled) in output.iter_mut().enumerate() {
		let columns = [pointwise(q * POOL_STRIDE), pointwise(q * POOL_STRIDE + 1), pointwise(q * POOL_STRIDE + 2)];
		*pooled = each_vector(|vector| {
			columns.iter().fold(F32x4::ZERO, |pooled, column| pooled.max(column[vector]))
		});
	}
}

/// Depthwise convolution with kernel 3 and stride 2 for output column `ox`, all
/// channels at once; columns outside the input are left out of the sum.
#[inline(always)]
fn depthwise(columns: &[ChannelValues], kernel: &[f32; 48], ox: usize) -> ChannelValues {
	const HORIZONTAL_KERNEL_SIZE: usize = 3;
	const STRIDE: usize = 2;

	let mut dw = [F32x4::ZERO; CHANNEL_VECTORS];
	for kw in 0..HORIZONTAL_KERNEL_SIZE {
		let ix = (ox * STRIDE + kw) as isize - 1;
		if ix < 0 || ix >= columns.len() as isize {
			continue;
		}
		let column = &columns[ix as usize];
		for (vector, sum) in dw.iter_mut().enumerate() {
			*sum = sum.add(column[vector].mul(F32x4::load(kernel, kw * CHANNELS + vector * LANES)));
		}
	}
	dw
}

/// Pointwise convolution: every output channel sums `dw[c] * weight` over the input
/// channels in order, all 16 outputs at once.
#[inline(always)]
fn pointwise(dw: &ChannelValues, transposed: &[f32; 256]) -> ChannelValues {
	let mut sums = [F32x4::ZERO; CHANNEL_VECTORS];
	let mut step = |c: usize, value: F32x4| {
		for (quarter, sum) in sums.iter_mut().enumerate() {
			*sum = sum.add(value.mul(F32x4::load(transposed, c * CHANNELS + quarter * LANES)));
		}
	};
	for (vector, values) in dw.iter().enumerate() {
		step(vector * LANES, values.lane::<0>());
		step(vector * LANES + 1, values.lane::<1>());
		step(vector * LANES + 2, values.lane::<2>());
		step(vector * LANES + 3, values.lane::<3>());
	}
	sums
}

#[inline(never)]
fn input_layer2(columns: &[ChannelValues; LAYER1_COLUMNS], output: &mut [ChannelValues; LAYER2_COLUMNS]) {
	let bias = channel_values(LAYER2_BIAS);
	for (ox, column) in output.iter_mut().enumerate() {
		let dw = depthwise(columns, &LAYER2_KERNEL_T, ox);
		let sums = pointwise(&dw, &LAYER2_WEIGHT_T);
		*column = each_vector(|vector| F32x4::ZERO.max(sums[vector].add(bias[vector])));
	}
}

#[inline(never)]
fn input_layer3(columns: &[ChannelValues; LAYER2_COLUMNS], output: &mut [i16; 80]) {
	const OUT_FEATURES: usize = 5;

	for ox in 0..OUT_FEATURES {
		let dw = depthwise(columns, &LAYER3_KERNEL_T, ox);
		let sums = pointwise(&dw, &LAYER3_WEIGHT_T);
		// note: transposed, no ReLU or bias
		let scale = F32x4::splat(32768.0);
		for (vector, sum) in sums.iter().enumerate() {
			let at = ox * CHANNELS + vector * LANES;
			output[at..at + LANES].copy_from_slice(&sum.mul(scale).round_to_i16());
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

	update_state(h, temp);
}

/// Blends each state value with its candidate by its gate: `temp[..64]` holds the
/// candidates and `temp[64..]` the gates.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn update_state(h: &mut [i16], temp: &[i32; 128]) {
	for i in 0..64 {
		// gate is multiplied by 4 then clamped within [0, 1] in Q24
		let g = (temp[64 + i] << 2).clamp(0, 16777215) as i64;
		let y = (16777215 - g) * ((h[i] as i64) << 9) as i64 + g * temp[i] as i64; // Q24 * Q24 = Q48
		h[i] = (y >> 33).clamp(-32768, 32767) as i16; // back down to Q15
	}
}

/// [`update_state`] in wasm SIMD, eight values at a time. `y` is below 2^56 in
/// magnitude (2^24 · 2^24 plus 2^24 · 2^31), so `y >> 33` fits in 32 bits, and the
/// saturating narrowing to 16 bits is the clamp.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn update_state(h: &mut [i16], temp: &[i32; 128]) {
	use core::arch::wasm32::{
		i16x8_narrow_i32x4, i32x4_extend_high_i16x8, i32x4_extend_low_i16x8, i32x4_max, i32x4_min, i32x4_shl,
		i32x4_shuffle, i32x4_splat, i64x2_add, i64x2_extend_high_i32x4, i64x2_extend_low_i32x4, i64x2_mul, i64x2_shl,
		i64x2_shr, i64x2_splat, i64x2_sub, v128, v128_load, v128_store
	};

	assert!(h.len() >= 64, "64 state values");
	let load = |at: usize| {
		// SAFETY: callers pass `at + 4 <= 128`; wasm loads need no alignment.
		unsafe { v128_load(temp.as_ptr().add(at).cast::<v128>()) }
	};
	// `y >> 33` of two lanes, in 64 bits.
	let blend = |gate: v128, state: v128, candidate: v128| {
		let kept = i64x2_mul(i64x2_sub(i64x2_splat(16777215), gate), i64x2_shl(state, 9));
		i64x2_shr(i64x2_add(kept, i64x2_mul(gate, candidate)), 33)
	};
	for i in (0..64).step_by(8) {
		// SAFETY: `i + 8 <= 64 <= h.len()`; wasm loads need no alignment.
		let state = unsafe { v128_load(h.as_ptr().add(i).cast::<v128>()) };
		let states = [i32x4_extend_low_i16x8(state), i32x4_extend_high_i16x8(state)];
		let mut blended = [i32x4_splat(0); 2];
		for (half, value) in blended.iter_mut().enumerate() {
			let gate = i32x4_min(i32x4_max(i32x4_shl(load(64 + i + 4 * half), 2), i32x4_splat(0)), i32x4_splat(16777215));
			let candidate = load(i + 4 * half);
			let low = blend(i64x2_extend_low_i32x4(gate), i64x2_extend_low_i32x4(states[half]), i64x2_extend_low_i32x4(candidate));
			let high =
				blend(i64x2_extend_high_i32x4(gate), i64x2_extend_high_i32x4(states[half]), i64x2_extend_high_i32x4(candidate));
			// The low 32 bits of each 64-bit lane.
			*value = i32x4_shuffle::<0, 2, 4, 6>(low, high);
		}
		// SAFETY: as for the load above.
		unsafe { v128_store(h.as_mut_ptr().add(i).cast::<v128>(), i16x8_narrow_i32x4(blended[0], blended[1])) };
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
