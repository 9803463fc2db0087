//! Picking the part of the peaks pyramid a waveform of a given width needs.

use callscope_api_types as api;

/// Most pixels one request may ask for; wider than any screen.
pub const MAX_PIXELS: u32 = 16_384;

/// Returns the peaks between `start_ms` and `end_ms` from the coarsest level that still
/// gives at least `pixels` pixels over that range (the finest level when none does).
pub fn select(levels: &[api::PeaksLevel], sample_rate: u32, start_ms: i64, end_ms: i64, pixels: u32) -> Option<api::PeaksWindow> {
    let first = levels.first()?;
    let start_frame = ms_to_frames(start_ms.max(0), sample_rate);
    let end_frame = ms_to_frames(end_ms.max(start_ms.max(0)), sample_rate);
    let wanted_spp = (end_frame - start_frame) / u64::from(pixels.max(1));

    let level = levels
        .iter()
        .rev()
        .find(|level| u64::from(level.samples_per_pixel) <= wanted_spp)
        .unwrap_or(first);

    let spp = u64::from(level.samples_per_pixel.max(1));
    let values_per_pixel = usize::from(level.channels) * 2;
    let first_pixel = usize::try_from(start_frame / spp).ok()?.min(level.pixels());
    let last_pixel = usize::try_from(end_frame.div_ceil(spp)).ok()?.min(level.pixels());

    Some(api::PeaksWindow {
        start_ms: frames_to_ms(first_pixel as u64 * spp, sample_rate),
        end_ms: frames_to_ms(last_pixel as u64 * spp, sample_rate),
        sample_rate,
        samples_per_pixel: level.samples_per_pixel,
        channels: level.channels,
        data: level.data[first_pixel * values_per_pixel..last_pixel * values_per_pixel].to_vec(),
    })
}

fn ms_to_frames(ms: i64, sample_rate: u32) -> u64 {
    (ms as u64).saturating_mul(u64::from(sample_rate)) / 1000
}

fn frames_to_ms(frames: u64, sample_rate: u32) -> i64 {
    (frames.saturating_mul(1000) / u64::from(sample_rate.max(1))) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(spp: u32, pixels: usize) -> api::PeaksLevel {
        let data = (0..pixels).flat_map(|p| [-(p as i16), p as i16]).collect();
        api::PeaksLevel { samples_per_pixel: spp, channels: 1, data }
    }

    #[test]
    fn window_uses_coarsest_level_with_enough_pixels() {
        // 8 kHz, 10 s: 80,000 frames. Levels of 80, 160 and 320 samples per pixel.
        let levels = vec![level(80, 1000), level(160, 500), level(320, 250)];
        let window = select(&levels, 8000, 0, 10_000, 400).unwrap();
        assert_eq!(window.samples_per_pixel, 160);
        assert_eq!(window.data.len(), 500 * 2);
    }

    #[test]
    fn window_slices_requested_range() {
        let levels = vec![level(80, 1000)];
        let window = select(&levels, 8000, 2_000, 3_000, 100).unwrap();
        assert_eq!(window.start_ms, 2_000);
        assert_eq!(window.end_ms, 3_000);
        // Pixel 200 starts at frame 16,000 = 2 s.
        assert_eq!(window.data[0], -200);
        assert_eq!(window.data.len(), 100 * 2);
    }

    #[test]
    fn window_past_end_is_empty() {
        let levels = vec![level(80, 1000)];
        let window = select(&levels, 8000, 20_000, 30_000, 100).unwrap();
        assert!(window.data.is_empty());
    }
}
