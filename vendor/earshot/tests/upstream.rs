//! Every score of this copy equals upstream earshot 1.2.2's, bit for bit, on real
//! speech and on synthetic edge cases, with the recurrent state carried across frames.

use std::path::PathBuf;

/// Returns the samples of a PCM16 or float WAV fixture of the workspace as 16-bit
/// values.
fn fixture_samples(name: &str) -> Vec<i16> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio").join(name);
    let wav = std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let fmt = wav.windows(4).position(|window| window == b"fmt ").expect("a fmt chunk") + 8;
    let format_tag = u16::from_le_bytes([wav[fmt], wav[fmt + 1]]);
    let data = wav.windows(4).position(|window| window == b"data").expect("a data chunk") + 8;
    match format_tag {
        1 => wav[data..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect(),
        3 => wav[data..]
            .chunks_exact(4)
            .map(|bytes| {
                let sample = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
            })
            .collect(),
        other => panic!("{name} has WAV format tag {other}; expected PCM (1) or float (3)"),
    }
}

/// Returns `length` samples of uniform noise of amplitude `scale` from a fixed seed.
fn noise(length: usize, scale: i32, seed: u32) -> Vec<i16> {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (((state >> 16) as i32 - 32768) * scale / 32768) as i16
        })
        .collect()
}

/// Feeds both detectors the same frames and returns the index of the first score that
/// differs, if any.
fn first_difference(samples: &[i16]) -> Option<(usize, f32, f32)> {
    let mut ours = earshot::Detector::default_boxed();
    let mut upstream = earshot_upstream::Detector::default_boxed();
    for (index, frame) in samples.chunks_exact(256).enumerate() {
        let (a, b) = (ours.predict_i16(frame), upstream.predict_i16(frame));
        if a.to_bits() != b.to_bits() {
            return Some((index, a, b));
        }
    }
    None
}

#[test]
fn meeting_speech_scores_identical() {
    // 16 kHz speech of two speakers with pauses.
    let samples = fixture_samples("pyannote__tests__dev00.wav");
    assert!(samples.len() > 256 * 1000, "{} samples", samples.len());
    assert_eq!(first_difference(&samples), None);
}

#[test]
fn reading_speech_scores_identical() {
    // The 8 kHz reading with each sample doubled: speech with a different spectrum.
    let samples: Vec<i16> = fixture_samples("joinly__OSR_us_000_0034_8k.wav").iter().flat_map(|&s| [s, s]).collect();
    assert_eq!(first_difference(&samples), None);
}

#[test]
fn silence_noise_and_clipping_scores_identical() {
    let mut samples = vec![0i16; 256 * 50];
    samples.extend(noise(256 * 50, 40, 1));
    samples.extend(vec![0i16; 256 * 20]);
    samples.extend(noise(256 * 50, 32767, 2));
    samples.extend(vec![i16::MAX; 256 * 10]);
    samples.extend(vec![i16::MIN; 256 * 10]);
    samples.extend((0..256 * 20).map(|n| if n % 2 == 0 { i16::MAX } else { i16::MIN }));
    samples.extend(noise(256 * 50, 3000, 3));
    assert_eq!(first_difference(&samples), None);
}

#[test]
fn float_frames_scores_identical() {
    let samples = fixture_samples("pyannote__tests__dev00.wav");
    let mut ours = earshot::Detector::default_boxed();
    let mut upstream = earshot_upstream::Detector::default_boxed();
    for (index, frame) in samples.chunks_exact(256).take(500).enumerate() {
        let floats: Vec<f32> = frame.iter().map(|&sample| f32::from(sample) / 32768.0).collect();
        let (a, b) = (ours.predict_f32(&floats), upstream.predict_f32(&floats));
        assert_eq!(a.to_bits(), b.to_bits(), "frame {index}: {a} vs {b}");
    }
}

#[test]
fn reset_matches_upstream() {
    let samples = fixture_samples("pyannote__tests__dev00.wav");
    let mut ours = earshot::Detector::default_boxed();
    let mut upstream = earshot_upstream::Detector::default_boxed();
    for frame in samples.chunks_exact(256).take(200) {
        ours.predict_i16(frame);
        upstream.predict_i16(frame);
    }
    ours.reset();
    upstream.reset();
    for (index, frame) in samples.chunks_exact(256).skip(200).take(200).enumerate() {
        let (a, b) = (ours.predict_i16(frame), upstream.predict_i16(frame));
        assert_eq!(a.to_bits(), b.to_bits(), "frame {index} after reset: {a} vs {b}");
    }
}
