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

/// Complex points of the packed transform.
const POINTS: usize = 512;

/// Vector width of the butterfly loops.
const LANES: usize = 4;

/// Twiddle factors of every stage with half-size `m` (1, 2, 4, ..., 256) at offsets
/// `m - 1 .. 2m - 1`: `(re, im)` of `e^(-2πik / 2m)` for `k` in `0..m`, read from the
/// same sine table as upstream.
static TWIDDLES: ([f32; POINTS - 1], [f32; POINTS - 1]) = stage_twiddles();

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
	let mut re = [0.0f32; POINTS];
	let mut im = [0.0f32; POINTS];
	load_bit_reversed(input, &mut re, &mut im);
	butterflies(&mut re, &mut im);
	split_real(&mut re, &mut im);
	power_bins(&re, &im, scale, power);
}

/// The bit-reversed index of every point: a table, because wasm has no instruction
/// that reverses bits.
static BIT_REVERSED: [u16; POINTS] = {
	let bits = POINTS.trailing_zeros();
	let mut table = [0u16; POINTS];
	let mut index = 0;
	while index < POINTS {
		table[index] = ((index as u32).reverse_bits() >> (u32::BITS - bits)) as u16;
		index += 1;
	}
	table
};

/// Packs the real input as complex values `(x[2n], x[2n + 1])` in bit-reversed order.
#[inline(never)]
fn load_bit_reversed(input: &[f32; 2 * POINTS], re: &mut [f32; POINTS], im: &mut [f32; POINTS]) {
	for ((re, im), &source) in re.iter_mut().zip(im.iter_mut()).zip(&BIT_REVERSED) {
		let source = usize::from(source) % POINTS;
		*re = input[2 * source];
		*im = input[2 * source + 1];
	}
}

/// Runs the butterfly stages of half-size 1, 2, 4, ..., 256 in place.
#[inline(never)]
fn butterflies(re: &mut [f32; POINTS], im: &mut [f32; POINTS]) {
	// Half-size 1: no twiddle.
	for pair in 0..POINTS / 2 {
		let (a, b) = (2 * pair, 2 * pair + 1);
		let (re_a, im_a, re_b, im_b) = (re[a], im[a], re[b], im[b]);
		re[a] = re_a + re_b;
		im[a] = im_a + im_b;
		re[b] = re_a - re_b;
		im[b] = im_a - im_b;
	}

	// Half-size 2 has fewer butterflies per block than a vector holds.
	stage_scalar(re, im, 2);

	let mut m = 4;
	while m < POINTS {
		stage(re, im, m);
		m *= 2;
	}
}

/// One butterfly: `y = w · x[b]` (with `w · x` as upstream multiplies them), then
/// `x[a] + y` and `x[a] - y`.
#[inline(always)]
fn butterfly(re_a: f32, im_a: f32, re_b: f32, im_b: f32, twiddle_re: f32, twiddle_im: f32) -> [f32; 4] {
	let y_re = twiddle_re * re_b - twiddle_im * im_b;
	let y_im = twiddle_re * im_b + twiddle_im * re_b;
	[re_a + y_re, im_a + y_im, re_a - y_re, im_a - y_im]
}

fn stage_scalar(re: &mut [f32; POINTS], im: &mut [f32; POINTS], m: usize) {
	let (twiddles_re, twiddles_im) = (&TWIDDLES.0[m - 1..2 * m - 1], &TWIDDLES.1[m - 1..2 * m - 1]);
	for block in (0..POINTS).step_by(2 * m) {
		for k in 0..m {
			let (a, b) = (block + k, block + k + m);
			let [ra, ia, rb, ib] = butterfly(re[a], im[a], re[b], im[b], twiddles_re[k], twiddles_im[k]);
			(re[a], im[a], re[b], im[b]) = (ra, ia, rb, ib);
		}
	}
}

/// One stage of half-size `m` (at least [`LANES`]), [`LANES`] butterflies at a time.
#[inline(always)]
fn stage(re: &mut [f32; POINTS], im: &mut [f32; POINTS], m: usize) {
	let (twiddles_re, twiddles_im) = (&TWIDDLES.0[m - 1..2 * m - 1], &TWIDDLES.1[m - 1..2 * m - 1]);
	for block in (0..POINTS).step_by(2 * m) {
		let (re_a, re_b) = re[block..block + 2 * m].split_at_mut(m);
		let (im_a, im_b) = im[block..block + 2 * m].split_at_mut(m);
		for k in (0..m).step_by(LANES) {
			let mut out = [[0.0f32; LANES]; 4];
			for lane in 0..LANES {
				let j = k + lane;
				let values = butterfly(re_a[j], im_a[j], re_b[j], im_b[j], twiddles_re[j], twiddles_im[j]);
				for (part, value) in out.iter_mut().zip(values) {
					part[lane] = value;
				}
			}
			re_a[k..k + LANES].copy_from_slice(&out[0]);
			im_a[k..k + LANES].copy_from_slice(&out[1]);
			re_b[k..k + LANES].copy_from_slice(&out[2]);
			im_b[k..k + LANES].copy_from_slice(&out[3]);
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

	let half = POINTS / 2;
	for k in 1..half {
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

/// Writes the scaled power of every bin; bins 0 and 512 are real.
#[inline(never)]
fn power_bins(re: &[f32; POINTS], im: &[f32; POINTS], scale: f32, power: &mut [f32; POINTS + 1]) {
	power[0] = (re[0] * re[0] + 0.0 * 0.0) * scale;
	for k in 1..POINTS {
		power[k] = (re[k] * re[k] + im[k] * im[k]) * scale;
	}
	power[POINTS] = (im[0] * im[0] + 0.0 * 0.0) * scale;
}
