//! Streaming waveform peaks pyramid.
//!
//! The finest level stores, for every `samples_per_pixel` frames, the minimum and maximum
//! sample of each channel; each coarser level merges pairs of pixels of the level below,
//! so it doubles `samples_per_pixel`. All levels are built while decoding, so no sample is
//! kept. Their total size is twice the finest level, which grows with the recording; it is
//! bounded by the duration limit (4 h of 8 kHz stereo at 64 frames per pixel is about
//! 14 MB of finest peaks).

use callscope_api_types::audio::PeaksLevel;

use super::decode::to_i16;

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

#[derive(Debug)]
pub struct PeaksBuilder {
    channels: u16,
    finest_samples_per_pixel: u32,
    /// `[min, max]` per channel of the finest pixel being filled.
    current: Vec<i16>,
    frames_in_current: u32,
    /// Completed pixels per level, finest first, interleaved as in [`PeaksLevel::data`].
    levels: Vec<Vec<i16>>,
}

impl PeaksBuilder {
    pub fn new(channels: u16, sample_rate: u32) -> Self {
        Self {
            channels,
            finest_samples_per_pixel: finest_samples_per_pixel(sample_rate),
            current: empty_pixel(channels),
            frames_in_current: 0,
            levels: vec![Vec::new()],
        }
    }

    pub fn add_frame(&mut self, samples: &[f32]) {
        for (channel, &sample) in samples.iter().take(usize::from(self.channels)).enumerate() {
            let value = to_i16(sample);
            let min = &mut self.current[channel * 2];
            *min = (*min).min(value);
            let max = &mut self.current[channel * 2 + 1];
            *max = (*max).max(value);
        }
        self.frames_in_current += 1;

        if self.frames_in_current == self.finest_samples_per_pixel {
            self.complete_pixel();
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
                let pixel = self.merge(level, pair * 2);
                self.levels[level + 1].extend_from_slice(&pixel);
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

    fn complete_pixel(&mut self) {
        let pixel = std::mem::replace(&mut self.current, empty_pixel(self.channels));
        self.frames_in_current = 0;
        self.levels[0].extend_from_slice(&pixel);

        // Every second pixel of a level completes a pixel of the next level.
        let width = self.pixel_width();
        let mut level = 0;
        while (self.levels[level].len() / width) % 2 == 0 && level + 1 < MAX_LEVELS {
            let first = self.levels[level].len() / width - 2;
            let merged = self.merge(level, first);
            if level + 1 == self.levels.len() {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].extend_from_slice(&merged);
            level += 1;
        }
    }

    /// Returns the min/max merge of pixels `first` and `first + 1` (if it exists) of `level`.
    fn merge(&self, level: usize, first: usize) -> Vec<i16> {
        let width = self.pixel_width();
        let data = &self.levels[level];
        let mut pixel = data[first * width..(first + 1) * width].to_vec();

        if let Some(second) = data.get((first + 1) * width..(first + 2) * width) {
            for (index, value) in pixel.iter_mut().enumerate() {
                *value = if index % 2 == 0 { (*value).min(second[index]) } else { (*value).max(second[index]) };
            }
        }
        pixel
    }
}

fn empty_pixel(channels: u16) -> Vec<i16> {
    let mut pixel = Vec::with_capacity(usize::from(channels) * 2);
    for _ in 0..channels {
        pixel.push(i16::MAX);
        pixel.push(i16::MIN);
    }
    pixel
}
