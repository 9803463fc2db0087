//! earshot 1.2.2, a voice activity detector for 16 kHz audio in 16 ms frames, with its
//! loops rearranged so that they vectorise; the scores are bit-identical to upstream's.
//! See `README.md` for the source and what changed.

#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(all(not(feature = "std"), not(feature = "libm")))]
compile_error!("earshot's `libm` feature must be enabled when the `std` feature is disabled");

#[cfg(feature = "alloc")]
extern crate alloc;

use core::f32;

mod default_predictor;
mod fft;
mod filters;
mod simd;
mod util;

use self::simd::{F32x4, transpose};

pub use self::default_predictor::DefaultPredictor;
use self::util::libm;

/// Used by [`Detector`] to predict the VAD score of a frame based on extracted features.
///
/// # Stability
/// If you wish to implement `Predictor` yourself, note that **the API is unstable and subject to change!**
pub trait Predictor {
	#[doc(hidden)]
	fn reset(&mut self);

	#[doc(hidden)]
	fn normalize(&self, features: &mut [f32]);

	#[doc(hidden)]
	fn predict(&mut self, features: &[f32], buffer: &mut [f32]) -> f32;
}

const FFT_SIZE: usize = 1024;
const WINDOW_SIZE: usize = 768;
const N_MELS: usize = 40;
const N_FEATURES: usize = N_MELS;
const N_CONTEXT_FRAMES: usize = 3;
const N_BINS: usize = FFT_SIZE / 2 + 1;
const PRE_EMPHASIS_COEFF: f32 = 0.97;
const POWER_FAC: f32 = 1. / (32768.0f32 * 32768.0);

/// A voice activity detector. Create one per separate audio stream.
///
/// # Stack size
/// `Detector` is a fairly large object, as it allocates its state (about 8 KiB by default) on the stack. If stack space
/// is a concern, use a `Box<Detector>` instead. (Maps or vectors of `Detector`s shouldn't need to worry about this).
pub struct Detector<P = DefaultPredictor> {
	predictor: P,
	prev_signal: f32,
	sample_ring_buffer: [f32; 768],
	features: [f32; N_FEATURES * N_CONTEXT_FRAMES],
	buffer: [f32; 1026]
}

impl Default for Detector<DefaultPredictor> {
	fn default() -> Self {
		Self::new(DefaultPredictor::new())
	}
}

impl Detector<DefaultPredictor> {
	pub const fn const_default() -> Detector<DefaultPredictor> {
		Self::new(DefaultPredictor::new())
	}

	/// Creates a new `Detector` directly on the heap, without ever allocating the large amount of stack space that
	/// `Detector` normally uses.
	///
	/// This is preferred over `Box::<Detector>::default()`, since that creates the detector on the stack before moving
	/// it to the heap.
	#[cfg(feature = "alloc")]
	#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
	pub fn default_boxed() -> Box<Self> {
		// TODO: use new_zeroed instead, MSRV 1.92
		let mut boxed = alloc::boxed::Box::<Self>::new_uninit();
		let mut detector = unsafe {
			let boxed_ptr = boxed.as_mut_ptr();
			core::ptr::write(&raw mut (*boxed_ptr).predictor, DefaultPredictor::new());
			boxed.assume_init()
		};
		detector.prev_signal = 0.0;
		detector.sample_ring_buffer.fill(0.0);
		detector.features.fill(0.0);
		detector.buffer.fill(0.0);
		detector
	}
}

impl<P: Predictor> Detector<P> {
	/// Creates a new `Detector` on the stack.
	///
	/// To create directly on the heap, see [`Detector::new_boxed`] instead.
	pub const fn new(predictor: P) -> Self {
		Self {
			predictor,
			prev_signal: 0.0,
			sample_ring_buffer: [0.0; 768],
			features: [0.0; N_FEATURES * N_CONTEXT_FRAMES],
			buffer: [0.0; 1026]
		}
	}

	/// Creates a new `Detector` directly on the heap, without ever allocating the large amount of stack space that
	/// `Detector` normally uses.
	///
	/// This is preferred over `Box::new(Detector::new(predictor))`, since that creates the detector on the stack before
	/// moving it to the heap.
	#[cfg(feature = "alloc")]
	#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
	pub fn new_boxed(predictor: P) -> Box<Self> {
		// TODO: use new_zeroed instead, MSRV 1.92
		let mut boxed = alloc::boxed::Box::<Self>::new_uninit();
		let mut detector = unsafe {
			let boxed_ptr = boxed.as_mut_ptr();
			core::ptr::write(&raw mut (*boxed_ptr).predictor, predictor);
			boxed.assume_init()
		};
		detector.prev_signal = 0.0;
		detector.sample_ring_buffer.fill(0.0);
		detector.features.fill(0.0);
		detector.buffer.fill(0.0);
		detector
	}

	/// Resets the internal state of the voice activity detector.
	///
	/// The detector should be reset whenever:
	/// - the recording device changes; or
	/// - the detector is being used for a new audio sequence.
	pub fn reset(&mut self) {
		self.predictor.reset();
		self.prev_signal = 0.0;
		self.sample_ring_buffer.fill(0.0);
		self.features.fill(0.0);
	}

	/// Predicts the voice activity score of a single input frame of 16-bit PCM audio.
	///
	/// The frame:
	/// - should be sampled at 16 KHz;
	/// - should be exactly 256 samples (so 16 ms) in length.
	///
	/// The output score is between `[0, 1]`. Scores over 0.5 can generally be considered voice, but the exact threshold
	/// can be adjusted according to application-specific needs.
	pub fn predict_i16(&mut self, frame: &[i16]) -> f32 {
		debug_assert_eq!(frame.len(), 256, "frame should be exactly 256 samples");
		let Ok(frame) = <&[i16; 256]>::try_from(frame) else {
			return -1.0;
		};

		let mut samples = [0.0f32; 256];
		for (sample, &value) in samples.iter_mut().zip(frame) {
			*sample = value as f32;
		}
		self.push_emphasised(&samples);
		self.predict_inner()
	}

	/// Predicts the voice activity score of a single input frame of 32-bit floating-point PCM audio.
	///
	/// The frame:
	/// - should be sampled at 16 KHz;
	/// - should be exactly 256 samples (so 16 ms) in length;
	/// - should consist only of samples in the range [-1, 1].
	///
	/// The output score is between `[0, 1]`. Scores over 0.5 can generally be considered voice, but the exact threshold
	/// can be adjusted according to application-specific needs.
	pub fn predict_f32(&mut self, frame: &[f32]) -> f32 {
		debug_assert_eq!(frame.len(), 256, "frame should be exactly 256 samples");
		let Ok(frame) = <&[f32; 256]>::try_from(frame) else {
			return -1.0;
		};

		debug_assert!(
			*frame
				.iter()
				.max_by(|x, y| x.abs().partial_cmp(&y.abs()).unwrap_or(core::cmp::Ordering::Equal))
				.unwrap() <= 1.0,
			"input frame should be in the range [-1, 1]"
		);

		/// We perform the FFT at i16 scale and scale down afterwards; doing the FFT at f32 scale ([-1, 1]) loses a lot
		/// of precision.
		const SCALE: f32 = 32768.0;

		let mut samples = [0.0f32; 256];
		for (sample, &value) in samples.iter_mut().zip(frame) {
			*sample = value * SCALE;
		}
		self.push_emphasised(&samples);
		self.predict_inner()
	}

	/// Shifts the ring buffer by one frame and appends the frame after pre-emphasis:
	/// each sample less 0.97 times the sample before it.
	#[inline(never)]
	fn push_emphasised(&mut self, samples: &[f32; 256]) {
		self.sample_ring_buffer.copy_within(256.., 0);
		let previous = self.prev_signal;
		let emphasised = &mut self.sample_ring_buffer[512..];
		emphasised[0] = samples[0] - PRE_EMPHASIS_COEFF * previous;
		for ((emph, &sample), &before) in emphasised[1..].iter_mut().zip(&samples[1..]).zip(&samples[..255]) {
			*emph = sample - PRE_EMPHASIS_COEFF * before;
		}
		self.prev_signal = samples[255];
	}

	fn predict_inner(&mut self) -> f32 {
		let spectrum = &mut self.buffer;
		window(&self.sample_ring_buffer, spectrum);

		let mut power = [0.0f32; N_BINS];
		// FFT size is 1024 but window size is 768, so the rest is zeros; the power is
		// downscaled from i16 scale.
		fft::power_spectrum((&spectrum[..FFT_SIZE]).try_into().expect("1024 samples"), POWER_FAC, &mut power);

		self.features.copy_within(N_FEATURES.., 0);
		let cur_frame_features = &mut self.features[(N_FEATURES * (N_CONTEXT_FRAMES - 1))..];
		mel_log_energies(&power, cur_frame_features);
		self.predictor.normalize(cur_frame_features);

		self.predictor.predict(&self.features, &mut self.buffer)
	}
}

/// Writes the Hann-windowed ring buffer into `output`, followed by zeros up to the FFT
/// size (and the two values after it).
#[inline(never)]
fn window(ring: &[f32; WINDOW_SIZE], output: &mut [f32; 1026]) {
	for ((value, &sample), &weight) in output.iter_mut().zip(ring).zip(&filters::HANN_WINDOW) {
		*value = sample * weight;
	}
	output[WINDOW_SIZE..].fill(0.0);
}

/// Mel bands summed side by side in [`mel_log_energies`].
const MEL_LANES: usize = 4;

/// Longest mel filter in bins (58), rounded up to whole vectors.
const MEL_MAX_TAPS: usize = 60;

/// The mel filters in groups of [`MEL_LANES`] bands: each band's first bin, the group's
/// longest filter length rounded up to whole vectors, and the coefficients
/// `[tap][lane]`, with zeros after the end of each filter.
struct MelGroup {
	starts: [usize; MEL_LANES],
	taps: usize,
	coefficients: [[f32; MEL_LANES]; MEL_MAX_TAPS]
}

static MEL_GROUPS: [MelGroup; N_MELS / MEL_LANES] = {
	const EMPTY: MelGroup = MelGroup { starts: [0; MEL_LANES], taps: 0, coefficients: [[0.0; MEL_LANES]; MEL_MAX_TAPS] };
	let mut groups = [EMPTY; N_MELS / MEL_LANES];
	let mut band = 0;
	while band < N_MELS {
		let (start, coefficients) = filters::MEL_COEFFS[band];
		assert!(coefficients.len() <= MEL_MAX_TAPS, "a mel filter is longer than MEL_MAX_TAPS");
		let group = &mut groups[band / MEL_LANES];
		let lane = band % MEL_LANES;
		group.starts[lane] = start;
		// Whole vectors of taps.
		let taps = coefficients.len().div_ceil(MEL_LANES) * MEL_LANES;
		if taps > group.taps {
			group.taps = taps;
		}
		let mut tap = 0;
		while tap < coefficients.len() {
			group.coefficients[tap][lane] = coefficients[tap];
			tap += 1;
		}
		band += 1;
	}
	let mut index = 0;
	while index < groups.len() {
		let mut lane = 0;
		while lane < MEL_LANES {
			assert!(groups[index].starts[lane] + groups[index].taps <= N_BINS, "a padded mel filter runs past the last bin");
			lane += 1;
		}
		index += 1;
	}
	groups
};

/// Writes the log energy of every mel band: the band's power bins weighted by its
/// filter and summed in order, four bands side by side. A shorter band's padding adds
/// `bin * 0.0` after its last real term, which is `+0.0` and leaves the sum unchanged:
/// the power is never negative, and finite for input within the documented range.
#[inline(never)]
fn mel_log_energies(power: &[f32; N_BINS], features: &mut [f32]) {
	for (group, features) in MEL_GROUPS.iter().zip(features.chunks_exact_mut(MEL_LANES)) {
		let sums = mel_group_sums(power, group);
		for (feature, &sum) in features.iter_mut().zip(&sums) {
			*feature = libm::logf(sum + 1e-20);
		}
	}
}

/// Sums the four bands of a group side by side, four taps at a time: the four bands'
/// next four bins are loaded as four vectors and transposed, so each vector then holds
/// one tap of every band. Taps past a group's length have coefficient 0.0.
#[inline(always)]
fn mel_group_sums(power: &[f32; N_BINS], group: &MelGroup) -> [f32; MEL_LANES] {
	let coefficients = group.coefficients.as_flattened();
	let [first, second, third, fourth] = group.starts;
	let mut sums = F32x4::ZERO;
	for tap in (0..group.taps).step_by(MEL_LANES) {
		let bins = [
			F32x4::load(power, first + tap),
			F32x4::load(power, second + tap),
			F32x4::load(power, third + tap),
			F32x4::load(power, fourth + tap)
		];
		for (offset, column) in transpose(bins).into_iter().enumerate() {
			sums = sums.add(column.mul(F32x4::load(coefficients, (tap + offset) * MEL_LANES)));
		}
	}
	let mut output = [0.0f32; MEL_LANES];
	sums.store(&mut output, 0);
	output
}
