//! Container parsing and sample decoding of WAV files.

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::AudioEncoding;
use callscope_component::audio::analyse_bytes;

#[test]
fn fixture_formats_and_lengths() {
    let cases = [
        ("joinly__OSR_us_000_0034_8k.wav", AudioEncoding::Pcm16, 8000, 1, 16, 284_383, 35_547),
        ("joinly__OSR_us_000_0034__8k_mulaw_mono.wav", AudioEncoding::Mulaw, 8000, 1, 8, 284_383, 35_547),
        ("joinly__OSR_us_000_0034__8k_alaw_mono.wav", AudioEncoding::Alaw, 8000, 1, 8, 284_383, 35_547),
        ("py-webrtcvad__leak-test.wav", AudioEncoding::Pcm16, 8000, 1, 16, 75_000, 9_375),
        ("faster-whisper__stereo_diarization.wav", AudioEncoding::Pcm16, 16000, 2, 16, 80_000, 5_000),
        ("faster-whisper__stereo_diarization__8k_mulaw_stereo.wav", AudioEncoding::Mulaw, 8000, 2, 8, 40_000, 5_000),
        ("deepgram-python-sdk__preamble-websocket__8k_mulaw.wav", AudioEncoding::Mulaw, 8000, 1, 8, 152_784, 19_098),
        ("pyannote__tests__dev00.wav", AudioEncoding::Float32, 16000, 1, 32, 480_001, 30_000),
        ("azure-speech-sdk__fast-transcription__test_call_audio.wav", AudioEncoding::Pcm16, 16000, 1, 16, 1_920_000, 120_000),
    ];

    for (name, encoding, sample_rate, channels, bits, frames, duration_ms) in cases {
        let format = decode(&fixture(name)).format;
        assert_eq!(format.encoding, encoding, "{name}");
        assert_eq!(format.sample_rate, sample_rate, "{name}");
        assert_eq!(format.channels, channels, "{name}");
        assert_eq!(format.bits_per_sample, bits, "{name}");
        assert_eq!(format.frames, frames, "{name}");
        assert_eq!(format.duration_ms, duration_ms, "{name}");
    }
}

#[test]
fn chunk_size_does_not_change_results() {
    let names = [
        "joinly__OSR_us_000_0034__8k_mulaw_mono.wav",
        "faster-whisper__stereo_diarization__8k_mulaw_stereo.wav",
        "faster-whisper__stereo_diarization.wav",
        "pyannote__tests__dev00.wav",
    ];

    for name in names {
        let bytes = fixture(name);
        let whole = analyse_bytes(&bytes, bytes.len()).expect(name);
        for chunk_size in [1, 7, 4096] {
            let chunked = analyse_bytes(&bytes, chunk_size).expect(name);
            assert_eq!(chunked.0, whole.0, "{name} summary with {chunk_size}-byte chunks");
            assert!(chunked.1 == whole.1, "{name} playback bytes with {chunk_size}-byte chunks");
        }
    }
}

/// One second of a 0.5 full-scale 500 Hz sine at 8 kHz.
fn half_scale_sine() -> Vec<f64> {
    (0..8000).map(|n| 0.5 * (2.0 * std::f64::consts::PI * 500.0 * n as f64 / 8000.0).sin()).collect()
}

#[test]
fn every_encoding_decodes_the_same_sine() {
    let sine = half_scale_sine();
    let pcm8: Vec<u8> = sine.iter().map(|x| (x * 128.0 + 128.0).round() as u8).collect();
    let pcm16: Vec<u8> = sine.iter().flat_map(|x| ((x * 32768.0).round() as i16).to_le_bytes()).collect();
    let pcm24: Vec<u8> = sine.iter().flat_map(|x| ((x * 8_388_608.0).round() as i32).to_le_bytes()[..3].to_vec()).collect();
    let pcm32: Vec<u8> = sine.iter().flat_map(|x| ((x * 2_147_483_648.0).round() as i32).to_le_bytes()).collect();
    let float: Vec<u8> = sine.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();

    let cases = [
        (AudioEncoding::Pcm8, riff(&[chunk(b"fmt ", &fmt_body(1, 1, 8000, 8)), chunk(b"data", &pcm8)])),
        (AudioEncoding::Pcm16, riff(&[chunk(b"fmt ", &fmt_body(1, 1, 8000, 16)), chunk(b"data", &pcm16)])),
        (AudioEncoding::Pcm24, riff(&[chunk(b"fmt ", &fmt_body(1, 1, 8000, 24)), chunk(b"data", &pcm24)])),
        (AudioEncoding::Pcm32, riff(&[chunk(b"fmt ", &fmt_body(1, 1, 8000, 32)), chunk(b"data", &pcm32)])),
        (AudioEncoding::Float32, riff(&[chunk(b"fmt ", &fmt_body(3, 1, 8000, 32)), chunk(b"data", &float)])),
        (AudioEncoding::Pcm24, riff(&[chunk(b"fmt ", &extensible_fmt_body(1, 1, 8000, 24)), chunk(b"data", &pcm24)])),
        (AudioEncoding::Float32, riff(&[chunk(b"fmt ", &extensible_fmt_body(3, 1, 8000, 32)), chunk(b"data", &float)])),
    ];

    for (encoding, wav) in cases {
        let summary = decode(&wav);
        assert_eq!(summary.format.encoding, encoding);
        assert_eq!(summary.format.frames, 8000, "{encoding:?}");
        assert!((summary.levels[0].peak - 0.5).abs() < 0.01, "{encoding:?} peak {}", summary.levels[0].peak);
        // A sine's RMS is its amplitude / sqrt(2): 0.5 -> -9.03 dBFS.
        assert!((summary.levels[0].rms_dbfs + 9.03).abs() < 0.1, "{encoding:?} rms {}", summary.levels[0].rms_dbfs);
    }
}

#[test]
fn extensible_mulaw_matches_plain_mulaw() {
    let bytes = fixture("joinly__OSR_us_000_0034__8k_mulaw_mono.wav");
    // The fixture's fmt chunk is 18 bytes at offset 20 and its data chunk starts at 50
    // (after a 12-byte fact chunk).
    let data = &bytes[50..];
    let plain = riff(&[chunk(b"fmt ", &fmt_body(7, 1, 8000, 8)), data.to_vec()]);
    let extensible = riff(&[chunk(b"fmt ", &extensible_fmt_body(7, 1, 8000, 8)), data.to_vec()]);

    let plain = analyse_bytes(&plain, 4096).unwrap();
    let extensible = analyse_bytes(&extensible, 4096).unwrap();
    assert_eq!(extensible.0.format.encoding, AudioEncoding::Mulaw);
    assert_eq!(extensible.0, plain.0);
    assert!(extensible.1 == plain.1);
}

#[test]
fn odd_sized_and_unknown_chunks_are_skipped() {
    let samples = [1000i16, -1000, 2000, -2000];
    let data: Vec<u8> = samples.iter().flat_map(|sample| sample.to_le_bytes()).collect();
    let wav = riff(&[
        chunk(b"junk", &[1, 2, 3]),
        chunk(b"fmt ", &fmt_body(1, 1, 8000, 16)),
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00Lavf\x00"),
        chunk(b"data", &data),
        chunk(b"LIST", &[9; 7]),
    ]);

    let summary = decode(&wav);
    assert_eq!(summary.format.frames, 4);
    assert_eq!(summary.peaks[0].data, vec![-2000, 2000]);
}

#[test]
fn unknown_data_size_reads_to_end() {
    let data: Vec<u8> = (0..800i16).flat_map(|n| (n * 10).to_le_bytes()).collect();
    for declared in [0u32, u32::MAX] {
        let wav = riff(&[chunk(b"fmt ", &fmt_body(1, 1, 8000, 16)), data_chunk_declaring(declared, &data)]);
        let summary = decode(&wav);
        assert_eq!(summary.format.frames, 800, "declared size {declared:#x}");
        assert_eq!(summary.format.duration_ms, 100, "declared size {declared:#x}");
    }
}

#[test]
fn trailing_partial_frame_is_dropped() {
    // Stereo PCM16: 3 frames of 4 bytes and 3 stray bytes, all declared.
    let mut data: Vec<u8> = [100i16, -100, 200, -200, 300, -300].iter().flat_map(|s| s.to_le_bytes()).collect();
    data.extend_from_slice(&[1, 2, 3]);
    let wav = riff(&[chunk(b"fmt ", &fmt_body(1, 2, 8000, 16)), chunk(b"data", &data)]);

    let summary = decode(&wav);
    assert_eq!(summary.format.frames, 3);
    assert_eq!(summary.peaks[0].data, vec![100, 300, -300, -100]);
}
