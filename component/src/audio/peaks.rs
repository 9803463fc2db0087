//! Streaming waveform peaks pyramid.
//!
//! The finest level stores, for every `samples_per_pixel` frames, the minimum and maximum
//! sample of each channel; each coarser level merges pairs of pixels of the level below,
//! so it doubles `samples_per_pixel`. All levels are built while decoding, so no sample is
//! kept. Their total size is twice the finest level, which grows with the recording; it is
//! bounded by the duration limit (4 h of 8 kHz stereo at 64 frames per pixel is about
//! 14 MB of finest peaks).

use callscope_api_types::audio::PeaksLevel;

use super::limits::MAX_CHANNELS;

/// Longest time one pixel of the finest level may cover, in milliseconds. 10 ms resolves
/// the shortest pauses the analysis reports when the widget zooms in fully.
const FINEST_PIXEL_MAX_MS: u32 = 10;

/// The pyramid ends with the first level that has fewer pixels than this: about the
/// width of a waveform canvas showing the whole call.
const COARSEST_LEVEL_MAX_PIXELS: usize = 1000;

/// Hard cap on levels; 2^40 frames is far past any accepted recording.
const MAX_LEVELS: usize = 40;

/// Returns the largest power of two frames that spans at most [`FINEST_PIXEL_MAX_MS`].
pub fn finest_samples_per_pixel(sample_rate: u32) -> u32 {
    let max_frames = (u64::from(sample_rate) * u64::from(FINEST_PIXEL_MAX_MS) / 1000).max(1);
    let mut samples_per_pixel = 1u32;
    while u64::from(samples_per_pixel) * 2 <= max_frames {
        samples_per_pixel *= 2;
    }
    samples_per_pixel
}

/// Values per pixel of the widest layout: a minimum and a maximum per channel.
const MAX_PIXEL_WIDTH: usize = 2 * MAX_CHANNELS as usize;

/// Lanes of the min/max accumulators in [`merge_span`]: eight 16-bit values fill one
/// 128-bit SIMD register.
const LANES: usize = 8;

/// A pixel that no sample has touched: every minimum at `i16::MAX`, every maximum at
/// `i16::MIN`.
const EMPTY_PIXEL: [i16; MAX_PIXEL_WIDTH] = {
    let mut pixel = [0i16; MAX_PIXEL_WIDTH];
    let mut index = 0;
    while index < MAX_PIXEL_WIDTH {
        pixel[index] = if index % 2 == 0 { i16::MAX } else { i16::MIN };
        index += 1;
    }
    pixel
};

#[derive(Debug)]
pub struct PeaksBuilder {
    channels: u16,
    finest_samples_per_pixel: u32,
    /// `[min, max]` per channel of the finest pixel being filled.
    current: [i16; MAX_PIXEL_WIDTH],
    frames_in_current: u32,
    /// Completed pixels per level, finest first, interleaved as in [`PeaksLevel::data`].
    levels: Vec<Vec<i16>>,
}

impl PeaksBuilder {
    /// Starts a pyramid for 1 to [`MAX_CHANNELS`] channels sampled at `sample_rate` Hz.
    /// Callers validate both first; an out-of-range channel count panics.
    pub fn new(channels: u16, sample_rate: u32) -> Self {
        assert!((1..=MAX_CHANNELS).contains(&channels), "{channels} channels: a pyramid has 1 to {MAX_CHANNELS}");
        Self {
            channels,
            finest_samples_per_pixel: finest_samples_per_pixel(sample_rate),
            current: EMPTY_PIXEL,
            frames_in_current: 0,
            levels: vec![Vec::new()],
        }
    }

    /// Adds interleaved frames of 16-bit samples; a trailing partial frame is ignored.
    pub fn add_interleaved(&mut self, samples: &[i16]) {
        // One copy of the loop per channel count, so that the lane-to-channel mapping
        // of `merge_span` is a constant.
        match self.channels {
            1 => self.add_frames::<1>(samples),
            2 => self.add_frames::<2>(samples),
            3 => self.add_frames::<3>(samples),
            4 => self.add_frames::<4>(samples),
            5 => self.add_frames::<5>(samples),
            6 => self.add_frames::<6>(samples),
            7 => self.add_frames::<7>(samples),
            _ => self.add_frames::<8>(samples),
        }
    }

    fn add_frames<const CHANNELS: usize>(&mut self, samples: &[i16]) {
        let samples = &samples[..samples.len() - samples.len() % CHANNELS];
        let pixel_samples = self.finest_samples_per_pixel as usize * CHANNELS;

        // Fill the open pixel first.
        let open = (pixel_samples - self.frames_in_current as usize * CHANNELS).min(samples.len());
        let (head, samples) = samples.split_at(if self.frames_in_current > 0 { open } else { 0 });
        if !head.is_empty() {
            merge_span::<CHANNELS>(&mut self.current, head);
            self.frames_in_current += (head.len() / CHANNELS) as u32;
            if self.frames_in_current == self.finest_samples_per_pixel {
                self.levels[0].extend_from_slice(&self.current[..2 * CHANNELS]);
                self.current = EMPTY_PIXEL;
                self.frames_in_current = 0;
            }
        }

        // Whole pixels straight from the input, then the start of the next one.
        let whole = samples.len() - samples.len() % pixel_samples;
        append_pixels::<CHANNELS>(&samples[..whole], pixel_samples, &mut self.levels[0]);
        let rest = &samples[whole..];
        merge_span::<CHANNELS>(&mut self.current, rest);
        self.frames_in_current += (rest.len() / CHANNELS) as u32;

        self.merge_levels::<CHANNELS>();
    }

    /// Merges every complete pair of pixels of each level into the next level up, so
    /// that each level above the finest holds half the pixels (rounded down) of the one
    /// below. `CHANNELS` is the pyramid's channel count, a constant so that the merge
    /// of one pair is straight-line code.
    #[inline(always)]
    fn merge_levels<const CHANNELS: usize>(&mut self) {
        let width = 2 * CHANNELS;
        let mut level = 0;
        while level + 1 < MAX_LEVELS {
            let pairs = self.levels[level].len() / width / 2;
            if pairs == 0 {
                break;
            }
            if level + 1 == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let (lower, upper) = self.levels.split_at_mut(level + 1);
            let (source, target) = (&lower[level], &mut upper[0]);
            let merged = target.len() / width;
            target.resize(pairs * width, 0);
            let sources = source[merged * 2 * width..pairs * 2 * width].chunks_exact(2 * width);
            for (output, pixels) in target[merged * width..].chunks_exact_mut(width).zip(sources) {
                for channel in 0..CHANNELS {
                    output[2 * channel] = pixels[2 * channel].min(pixels[width + 2 * channel]);
                    output[2 * channel + 1] = pixels[2 * channel + 1].max(pixels[width + 2 * channel + 1]);
                }
            }
            level += 1;
        }
    }

    /// Closes the last partial pixel of every level and returns the levels down to the
    /// first one narrower than [`COARSEST_LEVEL_MAX_PIXELS`].
    pub fn finish(mut self) -> Vec<PeaksLevel> {
        if self.frames_in_current > 0 {
            self.complete_pixel();
        }

        // Streaming merged only complete pairs; a level with an odd pixel count still
        // owes its coarser level one pixel made of its last pixel alone.
        let width = self.pixel_width();
        let mut level = 0;
        while level < self.levels.len() && level + 1 < MAX_LEVELS {
            let pixels = self.levels[level].len() / width;
            if pixels <= 1 {
                break;
            }
            if level + 1 == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let merged = self.levels[level + 1].len() / width;
            for pair in merged..pixels.div_ceil(2) {
                let pixel = self.merge(level, pair * 2, width);
                self.levels[level + 1].extend_from_slice(&pixel[..width]);
            }
            level += 1;
        }

        let mut result = Vec::new();
        for (index, data) in self.levels.into_iter().enumerate() {
            let pixels = data.len() / width;
            if index > 0 && pixels == 0 {
                break;
            }
            result.push(PeaksLevel {
                samples_per_pixel: self.finest_samples_per_pixel << index,
                channels: self.channels,
                data,
            });
            if pixels < COARSEST_LEVEL_MAX_PIXELS {
                break;
            }
        }
        result
    }

    fn pixel_width(&self) -> usize {
        usize::from(self.channels) * 2
    }

    /// Closes the open pixel and merges the pairs it completes into the levels above.
    fn complete_pixel(&mut self) {
        let width = self.pixel_width();
        self.levels[0].extend_from_slice(&self.current[..width]);
        self.current = EMPTY_PIXEL;
        self.frames_in_current = 0;
        match self.channels {
            1 => self.merge_levels::<1>(),
            2 => self.merge_levels::<2>(),
            3 => self.merge_levels::<3>(),
            4 => self.merge_levels::<4>(),
            5 => self.merge_levels::<5>(),
            6 => self.merge_levels::<6>(),
            7 => self.merge_levels::<7>(),
            _ => self.merge_levels::<8>(),
        }
    }

    /// Returns the min/max merge of pixels `first` and `first + 1` (if it exists) of
    /// `level`, in the first `width` values.
    #[inline(always)]
    fn merge(&self, level: usize, first: usize, width: usize) -> [i16; MAX_PIXEL_WIDTH] {
        let data = &self.levels[level];
        let mut pixel = EMPTY_PIXEL;
        pixel[..width].copy_from_slice(&data[first * width..(first + 1) * width]);

        if let Some(second) = data.get((first + 1) * width..(first + 2) * width) {
            for (index, value) in pixel[..width].iter_mut().enumerate() {
                *value = if index % 2 == 0 { (*value).min(second[index]) } else { (*value).max(second[index]) };
            }
        }
        pixel
    }
}

/// Merges interleaved frames of `CHANNELS` channels into `pixel` (`[min, max]` per
/// channel).
///
/// When the channel count divides [`LANES`], lane `i` of each group of `LANES` samples
/// always belongs to channel `i % CHANNELS`, so whole groups fold into lane-wise minima
/// and maxima (one SIMD instruction each when built with SIMD) that are split by channel
/// at the end.
#[inline(always)]
fn merge_span<const CHANNELS: usize>(pixel: &mut [i16; MAX_PIXEL_WIDTH], span: &[i16]) {
    let mut rest = span;
    if LANES % CHANNELS == 0 {
        let mut minima = [i16::MAX; LANES];
        let mut maxima = [i16::MIN; LANES];
        let mut groups = span.chunks_exact(LANES);
        for group in &mut groups {
            for lane in 0..LANES {
                minima[lane] = minima[lane].min(group[lane]);
                maxima[lane] = maxima[lane].max(group[lane]);
            }
        }
        for lane in 0..LANES {
            let channel = lane % CHANNELS;
            pixel[channel * 2] = pixel[channel * 2].min(minima[lane]);
            pixel[channel * 2 + 1] = pixel[channel * 2 + 1].max(maxima[lane]);
        }
        rest = groups.remainder();
    }

    for frame in rest.chunks_exact(CHANNELS) {
        for (channel, &value) in frame.iter().enumerate() {
            pixel[channel * 2] = pixel[channel * 2].min(value);
            pixel[channel * 2 + 1] = pixel[channel * 2 + 1].max(value);
        }
    }
}

/// Appends `[min, max]` per channel of each pixel of `pixel_samples` interleaved
/// samples to `level`. Not inlined: in a small function Cranelift keeps the SIMD
/// accumulators in registers.
#[inline(never)]
fn append_pixels<const CHANNELS: usize>(samples: &[i16], pixel_samples: usize, level: &mut Vec<i16>) {
    let width = 2 * CHANNELS;
    let start = level.len();
    level.resize(start + samples.len() / pixel_samples * width, 0);
    for (output, pixel) in level[start..].chunks_exact_mut(width).zip(samples.chunks_exact(pixel_samples)) {
        let mut extremes = EMPTY_PIXEL;
        pixel_extremes::<CHANNELS>(&mut extremes, pixel);
        output.copy_from_slice(&extremes[..width]);
    }
}

/// Sets `pixel` to the minimum and maximum per channel of one whole pixel of interleaved
/// frames.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn pixel_extremes<const CHANNELS: usize>(pixel: &mut [i16; MAX_PIXEL_WIDTH], span: &[i16]) {
    *pixel = EMPTY_PIXEL;
    merge_span::<CHANNELS>(pixel, span);
}

/// [`pixel_extremes`] in wasm SIMD, where LLVM's version of the portable loop spends
/// most of its time shuffling lanes. Lanes are folded by channel once per pixel.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn pixel_extremes<const CHANNELS: usize>(pixel: &mut [i16; MAX_PIXEL_WIDTH], span: &[i16]) {
    use core::arch::wasm32::{
        i16x8_max, i16x8_min, i16x8_shuffle, i16x8_splat, i32x4_shuffle, i64x2_shuffle, v128, v128_load, v128_store,
    };

    *pixel = EMPTY_PIXEL;
    if LANES % CHANNELS != 0 || span.len() % LANES != 0 {
        merge_span::<CHANNELS>(pixel, span);
        return;
    }

    let load = |group: usize| {
        // SAFETY: callers pass `group < span.len() / LANES`; wasm loads need no
        // alignment.
        unsafe { v128_load(span.as_ptr().add(group * LANES).cast::<v128>()) }
    };
    let groups = span.len() / LANES;
    let mut minima = i16x8_splat(i16::MAX);
    let mut maxima = i16x8_splat(i16::MIN);
    let mut group = 0;
    while group + 4 <= groups {
        let (a, b, c, d) = (load(group), load(group + 1), load(group + 2), load(group + 3));
        minima = i16x8_min(minima, i16x8_min(i16x8_min(a, b), i16x8_min(c, d)));
        maxima = i16x8_max(maxima, i16x8_max(i16x8_max(a, b), i16x8_max(c, d)));
        group += 4;
    }
    while group < groups {
        let value = load(group);
        minima = i16x8_min(minima, value);
        maxima = i16x8_max(maxima, value);
        group += 1;
    }

    // Fold lanes `i` and `i + width` together until each channel has one lane.
    let mut width = LANES;
    while width > CHANNELS {
        width /= 2;
        let (folded_minima, folded_maxima) = match width {
            4 => (i64x2_shuffle::<1, 0>(minima, minima), i64x2_shuffle::<1, 0>(maxima, maxima)),
            2 => (i32x4_shuffle::<1, 0, 3, 2>(minima, minima), i32x4_shuffle::<1, 0, 3, 2>(maxima, maxima)),
            _ => (
                i16x8_shuffle::<1, 0, 3, 2, 5, 4, 7, 6>(minima, minima),
                i16x8_shuffle::<1, 0, 3, 2, 5, 4, 7, 6>(maxima, maxima),
            ),
        };
        minima = i16x8_min(minima, folded_minima);
        maxima = i16x8_max(maxima, folded_maxima);
    }

    // Interleave to `[min, max]` per channel, the pixel layout, and store whole vectors:
    // a store of single lanes followed by a wider read of them stalls.
    let low = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(minima, maxima);
    // SAFETY: `pixel` holds 16 values, two v128; wasm stores need no alignment.
    unsafe { v128_store(pixel.as_mut_ptr().cast::<v128>(), low) };
    if CHANNELS > 4 {
        let high = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(minima, maxima);
        // SAFETY: as above, the second half of `pixel`.
        unsafe { v128_store(pixel.as_mut_ptr().add(LANES).cast::<v128>(), high) };
    }
}
