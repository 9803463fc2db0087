//! Waveform peaks pyramid and level statistics.

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::PeaksLevel;

/// Returns `(min, max)` of `channel` at `pixel`.
fn pixel(level: &PeaksLevel, pixel: usize, channel: usize) -> (i16, i16) {
    let base = pixel * usize::from(level.channels) * 2 + channel * 2;
    (level.data[base], level.data[base + 1])
}

#[test]
fn finest_level_is_at_most_10_ms() {
    let cases = [(8_000, 64), (16_000, 128), (44_100, 256), (48_000, 256)];
    for (sample_rate, samples_per_pixel) in cases {
        assert_eq!(callscope_component::audio::peaks::finest_samples_per_pixel(sample_rate), samples_per_pixel, "{sample_rate} Hz");
    }
}

#[test]
fn pyramid_levels_double_and_stop_under_1000_pixels() {
    let summary = decode(&fixture("azure-speech-sdk__fast-transcription__test_call_audio.wav"));
    let peaks = &summary.peaks;

    // 1,920,000 frames at 128 frames per pixel.
    assert_eq!(peaks[0].samples_per_pixel, 128);
    assert_eq!(peaks[0].pixels(), 15_000);
    for pair in peaks.windows(2) {
        assert_eq!(pair[1].samples_per_pixel, pair[0].samples_per_pixel * 2);
        assert_eq!(pair[1].pixels(), pair[0].pixels().div_ceil(2));
    }
    let (last, above) = peaks.split_last().unwrap();
    assert!(last.pixels() < 1000, "coarsest level has {} pixels", last.pixels());
    assert!(above.iter().all(|level| level.pixels() >= 1000));
}

#[test]
fn coarse_level_is_merge_of_finer() {
    let summary = decode(&fixture("faster-whisper__stereo_diarization__8k_mulaw_stereo.wav"));
    // 40,000 frames: 625 pixels of 64 frames, so only one level; use the 120 s call too.
    assert_eq!(summary.peaks.len(), 1);
    assert_eq!(summary.peaks[0].pixels(), 625);

    let call = decode(&fixture("azure-speech-sdk__fast-transcription__test_call_audio.wav"));
    for pair in call.peaks.windows(2) {
        let (fine, coarse) = (&pair[0], &pair[1]);
        for index in 0..coarse.pixels() {
            let (min_a, max_a) = pixel(fine, index * 2, 0);
            let (min_b, max_b) = if index * 2 + 1 < fine.pixels() { pixel(fine, index * 2 + 1, 0) } else { (min_a, max_a) };
            assert_eq!(pixel(coarse, index, 0), (min_a.min(min_b), max_a.max(max_b)), "{} frames per pixel, pixel {index}", coarse.samples_per_pixel);
        }
    }
}

#[test]
fn peaks_match_samples_per_channel() {
    let wav = fixture("faster-whisper__stereo_diarization.wav");
    let summary = decode(&wav);
    let samples = pcm16_samples(&wav);
    let level = &summary.peaks[0];

    for index in [0, 100, 300, 624] {
        for channel in 0..2 {
            let frames = index * 128..((index + 1) * 128).min(samples.len() / 2);
            let values: Vec<i16> = frames.map(|frame| samples[frame * 2 + channel]).collect();
            let expected = (*values.iter().min().unwrap(), *values.iter().max().unwrap());
            assert_eq!(pixel(level, index, channel), expected, "pixel {index} channel {channel}");
        }
    }
}

#[test]
fn silent_stretch_has_near_zero_peaks() {
    let summary = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    let level = &summary.peaks[0];

    // The right channel is silent from 2.8 s (pixel 350 at 8 ms per pixel) and exact
    // zeros from 3 s.
    for index in 350..625 {
        let (min, max) = pixel(level, index, 1);
        assert!(min > -16, "pixel {index}: min {min}");
        assert!(max < 16, "pixel {index}: max {max}");
    }
    for index in 375..625 {
        assert_eq!(pixel(level, index, 1), (0, 0), "pixel {index}");
    }

    // The OSR reading's first second is room noise around -64 dBFS.
    let osr = decode(&fixture("joinly__OSR_us_000_0034_8k.wav"));
    for index in 0..125 {
        let (min, max) = pixel(&osr.peaks[0], index, 0);
        assert!(min > -400, "pixel {index}: min {min}");
        assert!(max < 400, "pixel {index}: max {max}");
    }
}

#[test]
fn fixture_levels() {
    let osr = decode(&fixture("joinly__OSR_us_000_0034_8k.wav"));
    assert!((osr.levels[0].peak - 0.59).abs() < 0.01, "peak {}", osr.levels[0].peak);
    assert!((osr.levels[0].rms_dbfs + 25.7).abs() < 0.1, "rms {}", osr.levels[0].rms_dbfs);
    assert_eq!(osr.levels[0].clipped_samples, 0);

    let stereo = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    assert!(stereo.levels[1].rms_dbfs > stereo.levels[0].rms_dbfs, "right channel is louder");
    assert_eq!(stereo.levels[1].channel, 1);
}

#[test]
fn full_scale_square_is_clipped_at_0_dbfs() {
    let square: Vec<i16> = (0..800).map(|n| if (n / 10) % 2 == 0 { 32767 } else { -32768 }).collect();
    let levels = &decode(&pcm16_wav(1, 8000, &square)).levels[0];

    assert_eq!(levels.peak, 1.0);
    assert!(levels.rms_dbfs.abs() < 0.01, "rms {}", levels.rms_dbfs);
    assert_eq!(levels.clipped_samples, 800);
}

#[test]
fn digital_silence_reads_minus_120_dbfs() {
    let summary = decode(&pcm16_wav(2, 8000, &[0; 1600]));
    for levels in &summary.levels {
        assert_eq!(levels.peak, 0.0);
        assert_eq!(levels.rms_dbfs, -120.0);
        assert_eq!(levels.clipped_samples, 0);
    }
    assert!(summary.activity.iter().all(|channel| channel.speech.is_empty()));
}
