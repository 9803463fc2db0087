//! Four `f32` lanes: one wasm SIMD register when built with `+simd128`, a plain array
//! elsewhere (which LLVM vectorises on its own). Every operation is the same IEEE
//! operation in each lane, so both forms give the same bits, and the portable form that
//! `tests/upstream.rs` runs natively checks the arithmetic of the SIMD form.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32 as arch;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Lanes = arch::v128;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Lanes = [f32; 4];

#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct F32x4(Lanes);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl F32x4 {
	#[inline(always)]
	pub fn splat(value: f32) -> Self {
		Self(arch::f32x4_splat(value))
	}

	/// Loads `slice[at..at + 4]`.
	#[inline(always)]
	pub fn load(slice: &[f32], at: usize) -> Self {
		assert!(at + 4 <= slice.len(), "four lanes from {at} in {} values", slice.len());
		// SAFETY: checked above; wasm loads need no alignment.
		Self(unsafe { arch::v128_load(slice.as_ptr().add(at).cast()) })
	}

	/// Stores the lanes to `slice[at..at + 4]`.
	#[inline(always)]
	pub fn store(self, slice: &mut [f32], at: usize) {
		assert!(at + 4 <= slice.len(), "four lanes from {at} in {} values", slice.len());
		// SAFETY: checked above; wasm stores need no alignment.
		unsafe { arch::v128_store(slice.as_mut_ptr().add(at).cast(), self.0) }
	}

	#[inline(always)]
	pub fn add(self, other: Self) -> Self {
		Self(arch::f32x4_add(self.0, other.0))
	}

	#[inline(always)]
	pub fn sub(self, other: Self) -> Self {
		Self(arch::f32x4_sub(self.0, other.0))
	}

	#[inline(always)]
	pub fn mul(self, other: Self) -> Self {
		Self(arch::f32x4_mul(self.0, other.0))
	}

	#[inline(always)]
	pub fn neg(self) -> Self {
		Self(arch::f32x4_neg(self.0))
	}

	/// Returns `other` in the lanes where it is greater, else `self`: `if b > a { b }
	/// else { a }` per lane, which is wasm's pseudo-maximum.
	#[inline(always)]
	pub fn max(self, other: Self) -> Self {
		Self(arch::f32x4_pmax(self.0, other.0))
	}

	/// Picks four lanes from `self` (indices 0..4) and `other` (4..8).
	#[inline(always)]
	pub fn shuffle<const A: usize, const B: usize, const C: usize, const D: usize>(self, other: Self) -> Self {
		Self(arch::i32x4_shuffle::<A, B, C, D>(self.0, other.0))
	}

	/// Rounds each lane half away from zero and converts it to `i16`, saturating, as
	/// `round(x).clamp(-32768.0, 32767.0) as i16` does; NaN becomes 0.
	#[inline(always)]
	pub fn round_to_i16(self) -> [i16; 4] {
		let whole = arch::f32x4_trunc(self.0);
		// 1.0 with the sign of the value where its fraction is at least a half, else 0.
		let unit = arch::v128_bitselect(self.0, arch::f32x4_splat(1.0), arch::f32x4_splat(-0.0));
		let fraction = arch::f32x4_abs(arch::f32x4_sub(self.0, whole));
		let away = arch::v128_and(arch::f32x4_ge(fraction, arch::f32x4_splat(0.5)), unit);
		// The sum is a whole number: the conversion is exact up to its saturation, and
		// NaN converts to 0.
		let whole = arch::i32x4_trunc_sat_f32x4(arch::f32x4_add(whole, away));
		let packed = arch::i16x8_narrow_i32x4(whole, whole);
		[
			arch::i16x8_extract_lane::<0>(packed),
			arch::i16x8_extract_lane::<1>(packed),
			arch::i16x8_extract_lane::<2>(packed),
			arch::i16x8_extract_lane::<3>(packed)
		]
	}
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl F32x4 {
	#[inline(always)]
	pub fn splat(value: f32) -> Self {
		Self([value; 4])
	}

	/// Loads `slice[at..at + 4]`.
	#[inline(always)]
	pub fn load(slice: &[f32], at: usize) -> Self {
		Self(slice[at..at + 4].try_into().expect("four lanes"))
	}

	/// Stores the lanes to `slice[at..at + 4]`.
	#[inline(always)]
	pub fn store(self, slice: &mut [f32], at: usize) {
		slice[at..at + 4].copy_from_slice(&self.0);
	}

	// Each lane written out: LLVM vectorises these straight lines, where a closure
	// mapped over the array is not always inlined.
	#[inline(always)]
	pub fn add(self, other: Self) -> Self {
		let ([a, b, c, d], [e, f, g, h]) = (self.0, other.0);
		Self([a + e, b + f, c + g, d + h])
	}

	#[inline(always)]
	pub fn sub(self, other: Self) -> Self {
		let ([a, b, c, d], [e, f, g, h]) = (self.0, other.0);
		Self([a - e, b - f, c - g, d - h])
	}

	#[inline(always)]
	pub fn mul(self, other: Self) -> Self {
		let ([a, b, c, d], [e, f, g, h]) = (self.0, other.0);
		Self([a * e, b * f, c * g, d * h])
	}

	#[inline(always)]
	pub fn neg(self) -> Self {
		let [a, b, c, d] = self.0;
		Self([-a, -b, -c, -d])
	}

	/// Returns `other` in the lanes where it is greater, else `self`.
	#[inline(always)]
	pub fn max(self, other: Self) -> Self {
		let larger = |a: f32, b: f32| if b > a { b } else { a };
		let ([a, b, c, d], [e, f, g, h]) = (self.0, other.0);
		Self([larger(a, e), larger(b, f), larger(c, g), larger(d, h)])
	}

	/// Picks four lanes from `self` (indices 0..4) and `other` (4..8).
	#[inline(always)]
	pub fn shuffle<const A: usize, const B: usize, const C: usize, const D: usize>(self, other: Self) -> Self {
		let pick = |index: usize| if index < 4 { self.0[index] } else { other.0[index - 4] };
		Self([pick(A), pick(B), pick(C), pick(D)])
	}

	/// Rounds each lane half away from zero and converts it to `i16`, saturating, as
	/// `round(x).clamp(-32768.0, 32767.0) as i16` does; NaN becomes 0.
	#[inline(always)]
	pub fn round_to_i16(self) -> [i16; 4] {
		self.0.map(|value| {
			let whole = value.trunc();
			// Exact: `whole` is `value` with its fraction bits cleared.
			let rounded = if (value - whole).abs() >= 0.5 { whole + 1.0f32.copysign(value) } else { whole };
			rounded.clamp(-32768.0, 32767.0) as i16
		})
	}
}

impl F32x4 {
	pub const ZERO: Self = Self::splat_const(0.0);

	/// [`Self::splat`] for constants.
	pub const fn splat_const(value: f32) -> Self {
		#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
		return Self(arch::f32x4(value, value, value, value));
		#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
		return Self([value; 4]);
	}

	/// Returns lane `L` in every lane.
	#[inline(always)]
	pub fn lane<const L: usize>(self) -> Self {
		self.shuffle::<L, L, L, L>(self)
	}

	/// Reverses the order of the lanes.
	#[inline(always)]
	pub fn reverse(self) -> Self {
		self.shuffle::<3, 2, 1, 0>(self)
	}
}

/// Transposes four vectors: lane `j` of output `i` is lane `i` of input `j`.
#[inline(always)]
pub(crate) fn transpose([a, b, c, d]: [F32x4; 4]) -> [F32x4; 4] {
	let ab_low = a.shuffle::<0, 4, 1, 5>(b);
	let ab_high = a.shuffle::<2, 6, 3, 7>(b);
	let cd_low = c.shuffle::<0, 4, 1, 5>(d);
	let cd_high = c.shuffle::<2, 6, 3, 7>(d);
	[
		ab_low.shuffle::<0, 1, 4, 5>(cd_low),
		ab_low.shuffle::<2, 3, 6, 7>(cd_low),
		ab_high.shuffle::<0, 1, 4, 5>(cd_high),
		ab_high.shuffle::<2, 3, 6, 7>(cd_high)
	]
}
