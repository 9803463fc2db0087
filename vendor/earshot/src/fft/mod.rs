//! The power spectrum of a 1024-sample real frame.
//!
//! The arithmetic is that of upstream earshot's FFT, itself from microfft
//! (<https://gitlab.com/teskje/microfft-rs>, Copyright (c) 2020-2024 Jan Teske, MIT
//! license): the real frame is packed into 512 complex values, transformed by a radix-2
//! decimation-in-time FFT, and split into the spectrum of the real input. Upstream runs
//! the stages recursively on interleaved complex values; here they run stage by stage on
//! separate real and imaginary arrays, so that four butterflies share each SIMD
//! instruction. Every butterfly multiplies and adds the same values in the same order,
//! except that upstream skips the multiplications by the twiddles `1` and `-i`. Those
//! give the same values here up to the sign of a zero, which the power spectrum squares
//! away.

mod tables;

use crate::simd::{F32x4, transpose};

/// Complex points of the packed transform.
const POINTS: usize = 512;

/// Vector width of the butterfly loops.
const LANES: usize = 4;

/// Twiddle factors of every stage with half-size `m` (1, 2, 4, ..., 256) at offsets
/// `m - 1 .. 2m - 1`: `(re, im)` of `e^(-2πik / 2m)` for `k` in `0..m`, read from the
/// same sine table as upstream.
static TWIDDLES: ([f32; POINTS - 1], [f32; POINTS - 1]) = stage_twiddles();

/// The twiddles of the stages that run on columns (half-size 1 to 64), at the same
/// offsets as in [`TWIDDLES`], each in all four lanes.
static COLUMN_TWIDDLES: ([F32x4; COLUMNS - 1], [F32x4; COLUMNS - 1]) = {
	let mut re = [F32x4::ZERO; COLUMNS - 1];
	let mut im = [F32x4::ZERO; COLUMNS - 1];
	let mut index = 0;
	while index < COLUMNS - 1 {
		re[index] = F32x4::splat_const(TWIDDLES.0[index]);
		im[index] = F32x4::splat_const(TWIDDLES.1[index]);
		index += 1;
	}
	(re, im)
};

/// Twiddles of the final split of the packed transform into the real spectrum.
static SPLIT_TWIDDLES: ([f32; POINTS / 2], [f32; POINTS / 2]) = split_twiddles();

const fn stage_twiddles() -> ([f32; POINTS - 1], [f32; POINTS - 1]) {
	let table = tables::SINE;
	let table_len = table.len();
	let mut re = [0.0f32; POINTS - 1];
	let mut im = [0.0f32; POINTS - 1];
	let mut m = 1;
	while m < POINTS {
		let n = 2 * m;
		let u = m / 2;
		let stride = (table_len + 1) * 4 / n;
		let mut k = 0;
		while k < m {
			let (twiddle_re, twiddle_im) = if k == 0 {
				(1.0, 0.0)
			} else if k < u {
				let s = k * stride;
				(-table[table_len - s], table[s - 1])
			} else if k == u {
				(0.0, -1.0)
			} else {
				let s = (k - u) * stride;
				(table[s - 1], table[table_len - s])
			};
			re[m - 1 + k] = twiddle_re;
			im[m - 1 + k] = twiddle_im;
			k += 1;
		}
		m *= 2;
	}
	(re, im)
}

const fn split_twiddles() -> ([f32; POINTS / 2], [f32; POINTS / 2]) {
	let table = tables::SINE;
	let table_len = table.len();
	let stride = (table_len + 1) * 4 / (2 * POINTS);
	let mut re = [0.0f32; POINTS / 2];
	let mut im = [0.0f32; POINTS / 2];
	let mut k = 1;
	while k < POINTS / 2 {
		let s = k * stride;
		re[k] = -table[table_len - s];
		im[k] = table[s - 1];
		k += 1;
	}
	(re, im)
}

/// Writes `|X[k]|² · scale` for the 513 bins of the real FFT of `input`.
pub fn power_spectrum(input: &[f32; 2 * POINTS], scale: f32, power: &mut [f32; POINTS + 1]) {
	let mut columns_re = [F32x4::ZERO; COLUMNS];
	let mut columns_im = [F32x4::ZERO; COLUMNS];
	load_columns(input, &mut columns_re, &mut columns_im);
	column_stages(&mut columns_re, &mut columns_im);

	let mut re = [0.0f32; POINTS];
	let mut im = [0.0f32; POINTS];
	last_stages(&columns_re, &columns_im, &mut re, &mut im);
	split_real(&mut re, &mut im);
	power_bins(&re, &im, scale, power);
}

// The butterflies run on two layouts of the 512 points in bit-reversed order.
//
// - Columns: vector `c` holds points `c`, `128 + c`, `256 + c` and `384 + c`, one per
//   lane. A stage of half-size `m` up to 64 pairs point `p` with `p + m` inside one
//   lane, so it pairs whole vectors `c` and `c + m`, and all lanes share the twiddle of
//   `c`.
// - Natural: value `p` is point `p`. The stages of half-size 128 and 256 pair points of
//   different lanes; they run after a 4×4 transpose of every four columns, which
//   gives natural order.

/// Columns per lane.
const COLUMNS: usize = POINTS / LANES;

type Columns = [F32x4; COLUMNS];

/// The bit-reversed index of each column's first point, over 7 bits.
static COLUMN_SOURCES: [u8; COLUMNS] = {
	let mut table = [0u8; COLUMNS];
	let mut column = 0;
	while column < COLUMNS {
		table[column] = ((column as u32).reverse_bits() >> (u32::BITS - COLUMNS.trailing_zeros())) as u8;
		column += 1;
	}
	table
};

/// Packs the real input as complex values `(x[2n], x[2n + 1])` in bit-reversed order,
/// in columns. Point `l · 128 + c` is complex value `4 · r7(c) + r2(l)`, where `rN`
/// reverses `N` bits, so column `c` takes the four complex values from `8 · r7(c)` in
/// the lane order 0, 2, 1, 3.
#[inline(never)]
fn load_columns(input: &[f32; 2 * POINTS], re: &mut Columns, im: &mut Columns) {
	for ((re, im), &source) in re.iter_mut().zip(im.iter_mut()).zip(&COLUMN_SOURCES) {
		let at = 8 * usize::from(source);
		let (first, second) = (F32x4::load(input, at), F32x4::load(input, at + 4));
		*re = first.shuffle::<0, 4, 2, 6>(second);
		*im = first.shuffle::<1, 5, 3, 7>(second);
	}
}

/// Runs the stages of half-size 1 to 64 on the columns, two stages per pass over the
/// data where it can.
#[inline(never)]
fn column_stages(re: &mut Columns, im: &mut Columns) {
	first_two_stages(re, im);
	two_stages(re, im, 4);
	two_stages(re, im, 16);
	one_stage(re, im, 64);
}

/// Half-sizes 1 (no twiddle) and 2, on four columns at a time.
fn first_two_stages(re: &mut Columns, im: &mut Columns) {
	let twiddle = |k: usize| (COLUMN_TWIDDLES.0[1 + k], COLUMN_TWIDDLES.1[1 + k]);
	let (twiddle0, twiddle1) = (twiddle(0), twiddle(1));
	for (re, im) in re.chunks_exact_mut(4).zip(im.chunks_exact_mut(4)) {
		let [re0, re1, re2, re3] = [re[0], re[1], re[2], re[3]];
		let [im0, im1, im2, im3] = [im[0], im[1], im[2], im[3]];
		let (re0, re1, im0, im1) = (re0.add(re1), re0.sub(re1), im0.add(im1), im0.sub(im1));
		let (re2, re3, im2, im3) = (re2.add(re3), re2.sub(re3), im2.add(im3), im2.sub(im3));

		let [re0, im0, re2, im2] = butterfly(re0, im0, re2, im2, twiddle0);
		let [re1, im1, re3, im3] = butterfly(re1, im1, re3, im3, twiddle1);
		(re[0], re[1], re[2], re[3]) = (re0, re1, re2, re3);
		(im[0], im[1], im[2], im[3]) = (im0, im1, im2, im3);
	}
}

/// Half-sizes `m` and `2m` in one pass: columns `c`, `c + m`, `c + 2m` and `c + 3m`
/// pair only among themselves in those two stages.
#[inline(always)]
fn two_stages(re: &mut Columns, im: &mut Columns, m: usize) {
	let twiddle = |m: usize, k: usize| (COLUMN_TWIDDLES.0[m - 1 + k], COLUMN_TWIDDLES.1[m - 1 + k]);
	for (re, im) in re.chunks_exact_mut(4 * m).zip(im.chunks_exact_mut(4 * m)) {
		let (re01, re23) = re.split_at_mut(2 * m);
		let (re0, re1) = re01.split_at_mut(m);
		let (re2, re3) = re23.split_at_mut(m);
		let (im01, im23) = im.split_at_mut(2 * m);
		let (im0, im1) = im01.split_at_mut(m);
		let (im2, im3) = im23.split_at_mut(m);
		for k in 0..m {
			let first = twiddle(m, k);
			let [a_re, a_im, b_re, b_im] = butterfly(re0[k], im0[k], re1[k], im1[k], first);
			let [c_re, c_im, d_re, d_im] = butterfly(re2[k], im2[k], re3[k], im3[k], first);
			let [a_re, a_im, c_re, c_im] = butterfly(a_re, a_im, c_re, c_im, twiddle(2 * m, k));
			let [b_re, b_im, d_re, d_im] = butterfly(b_re, b_im, d_re, d_im, twiddle(2 * m, k + m));
			(re0[k], im0[k], re1[k], im1[k]) = (a_re, a_im, b_re, b_im);
			(re2[k], im2[k], re3[k], im3[k]) = (c_re, c_im, d_re, d_im);
		}
	}
}

/// Half-size `m` alone.
fn one_stage(re: &mut Columns, im: &mut Columns, m: usize) {
	for (re, im) in re.chunks_exact_mut(2 * m).zip(im.chunks_exact_mut(2 * m)) {
		let (re_a, re_b) = re.split_at_mut(m);
		let (im_a, im_b) = im.split_at_mut(m);
		for k in 0..m {
			let twiddle = (COLUMN_TWIDDLES.0[m - 1 + k], COLUMN_TWIDDLES.1[m - 1 + k]);
			[re_a[k], im_a[k], re_b[k], im_b[k]] = butterfly(re_a[k], im_a[k], re_b[k], im_b[k], twiddle);
		}
	}
}

/// One butterfly: `y = w · x[b]` (with `w · x` as upstream multiplies them), then
/// `x[a] + y` and `x[a] - y`.
#[inline(always)]
fn butterfly(re_a: F32x4, im_a: F32x4, re_b: F32x4, im_b: F32x4, (twiddle_re, twiddle_im): (F32x4, F32x4)) -> [F32x4; 4] {
	let y_re = twiddle_re.mul(re_b).sub(twiddle_im.mul(im_b));
	let y_im = twiddle_re.mul(im_b).add(twiddle_im.mul(re_b));
	[re_a.add(y_re), im_a.add(y_im), re_a.sub(y_re), im_a.sub(y_im)]
}

/// Turns four columns at a time into natural order and runs the stages of half-size
/// 128 and 256 on them: the sixteen points of columns `c..c + 4` pair only among
/// themselves in those stages.
#[inline(never)]
fn last_stages(columns_re: &Columns, columns_im: &Columns, re: &mut [f32; POINTS], im: &mut [f32; POINTS]) {
	let twiddle = |m: usize, k: usize| (F32x4::load(&TWIDDLES.0, m - 1 + k), F32x4::load(&TWIDDLES.1, m - 1 + k));
	let groups = columns_re.chunks_exact(LANES).zip(columns_im.chunks_exact(LANES));
	for (first, (group_re, group_im)) in (0..COLUMNS).step_by(LANES).zip(groups) {
		// Row `l` holds points `l · 128 + first ..` in natural order.
		let [re0, re1, re2, re3] = transpose([group_re[0], group_re[1], group_re[2], group_re[3]]);
		let [im0, im1, im2, im3] = transpose([group_im[0], group_im[1], group_im[2], group_im[3]]);

		let [re0, im0, re1, im1] = butterfly(re0, im0, re1, im1, twiddle(128, first));
		let [re2, im2, re3, im3] = butterfly(re2, im2, re3, im3, twiddle(128, first));
		let [re0, im0, re2, im2] = butterfly(re0, im0, re2, im2, twiddle(256, first));
		let [re1, im1, re3, im3] = butterfly(re1, im1, re3, im3, twiddle(256, COLUMNS + first));

		for (row, (value_re, value_im)) in [(re0, im0), (re1, im1), (re2, im2), (re3, im3)].into_iter().enumerate() {
			value_re.store(re, row * COLUMNS + first);
			value_im.store(im, row * COLUMNS + first);
		}
	}
}

/// Turns the transform of the packed complex values into bins `0..512` of the real
/// input's spectrum; bin 0 holds the DC value in its real part and the Nyquist value
/// (bin 512) in its imaginary part, as upstream's `recombine` leaves them.
#[inline(never)]
fn split_real(re: &mut [f32; POINTS], im: &mut [f32; POINTS]) {
	let (dc_re, dc_im) = (re[0], im[0]);
	re[0] = dc_re + dc_im;
	im[0] = dc_re - dc_im;

	// Bins `k` and `512 - k` are computed together, four `k` at a time while the four
	// mirrors lie in one vector, reversed.
	let half = POINTS / 2;
	let vector_end = 1 + (half - 1) / LANES * LANES;
	let half_vector = F32x4::splat(0.5);
	for k in (1..vector_end).step_by(LANES) {
		let mirror = POINTS - k - (LANES - 1);
		let twiddle_re = F32x4::load(&SPLIT_TWIDDLES.0, k);
		let twiddle_im = F32x4::load(&SPLIT_TWIDDLES.1, k);
		let (re_k, im_k) = (F32x4::load(re, k), F32x4::load(im, k));
		let (re_n, im_n) = (F32x4::load(re, mirror).reverse(), F32x4::load(im, mirror).reverse());
		let (sum_re, sum_im) = (re_k.add(re_n).mul(half_vector), im_k.add(im_n).mul(half_vector));
		let (diff_re, diff_im) = (re_k.sub(re_n).mul(half_vector), im_k.sub(im_n).mul(half_vector));

		re_k_out(sum_re, sum_im, diff_re, twiddle_re, twiddle_im).store(re, k);
		diff_im.add(twiddle_im.mul(sum_im)).sub(twiddle_re.mul(diff_re)).store(im, k);
		sum_re.sub(twiddle_re.mul(sum_im)).sub(twiddle_im.mul(diff_re)).reverse().store(re, mirror);
		diff_im.neg().add(twiddle_im.mul(sum_im)).sub(twiddle_re.mul(diff_re)).reverse().store(im, mirror);
	}

	for k in vector_end..half {
		let (twiddle_re, twiddle_im) = (SPLIT_TWIDDLES.0[k], SPLIT_TWIDDLES.1[k]);
		let mirror = POINTS - k;
		let (re_k, im_k, re_n, im_n) = (re[k], im[k], re[mirror], im[mirror]);
		let (sum_re, sum_im) = ((re_k + re_n) * 0.5, (im_k + im_n) * 0.5);
		let (diff_re, diff_im) = ((re_k - re_n) * 0.5, (im_k - im_n) * 0.5);

		re[k] = sum_re + twiddle_re * sum_im + twiddle_im * diff_re;
		im[k] = diff_im + twiddle_im * sum_im - twiddle_re * diff_re;
		re[mirror] = sum_re - twiddle_re * sum_im - twiddle_im * diff_re;
		im[mirror] = -diff_im + twiddle_im * sum_im - twiddle_re * diff_re;
	}

	im[half] = -im[half];
}

/// `sum_re + twiddle_re · sum_im + twiddle_im · diff_re`, added left to right.
#[inline(always)]
fn re_k_out(sum_re: F32x4, sum_im: F32x4, diff_re: F32x4, twiddle_re: F32x4, twiddle_im: F32x4) -> F32x4 {
	sum_re.add(twiddle_re.mul(sum_im)).add(twiddle_im.mul(diff_re))
}

/// Writes the scaled power of every bin; bins 0 and 512 are real.
#[inline(never)]
fn power_bins(re: &[f32; POINTS], im: &[f32; POINTS], scale: f32, power: &mut [f32; POINTS + 1]) {
	let scale_vector = F32x4::splat(scale);
	for k in (0..POINTS).step_by(LANES) {
		let (re_k, im_k) = (F32x4::load(re, k), F32x4::load(im, k));
		re_k.mul(re_k).add(im_k.mul(im_k)).mul(scale_vector).store(power, k);
	}
	power[0] = (re[0] * re[0] + 0.0 * 0.0) * scale;
	power[POINTS] = (im[0] * im[0] + 0.0 * 0.0) * scale;
}
