//! Peaks export in the audiowaveform formats, and per-party files combined into one
//! two-channel summary.
//!
//! The byte layout follows audiowaveform's `doc/DataFormat.md` (version 2): a 24-byte
//! little-endian header of version, flags, sample rate, samples per pixel, length and
//! channels, then interleaved minimum/maximum pairs per channel.

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::PeaksLevel;
use callscope_component::audio::AudioError;
use callscope_component::audio::parties::{BOT_CHANNEL, FINDING_PARTY_DURATIONS_DIFFER, USER_CHANNEL, combine_parties};
use callscope_component::audio::peaks_export::{DAT_HEADER_BYTES, PeaksBits, PeaksFormat, encode_peaks};

fn two_channel_level() -> PeaksLevel {
    // Two pixels of two channels: [min, max] of channel 0, then of channel 1.
    PeaksLevel { samples_per_pixel: 256, channels: 2, data: vec![-32768, 32767, -300, 255, -1, 1, -257, 512] }
}

fn i32_at(bytes: &[u8], offset: usize) -> i32 {
    i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

#[test]
fn dat_16_bit_header_and_values() {
    let bytes = encode_peaks(&two_channel_level(), 8000, PeaksFormat::Dat, PeaksBits::Sixteen).unwrap();
    assert_eq!(bytes.len(), DAT_HEADER_BYTES + 8 * 2);
    assert_eq!(i32_at(&bytes, 0), 2, "version");
    assert_eq!(i32_at(&bytes, 4), 0, "flags: 16-bit");
    assert_eq!(i32_at(&bytes, 8), 8000, "sample rate");
    assert_eq!(i32_at(&bytes, 12), 256, "samples per pixel");
    assert_eq!(i32_at(&bytes, 16), 2, "length in pixels");
    assert_eq!(i32_at(&bytes, 20), 2, "channels");

    let values: Vec<i16> = bytes[24..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect();
    assert_eq!(values, two_channel_level().data);
}

#[test]
fn dat_8_bit_divides_by_256_toward_zero() {
    let bytes = encode_peaks(&two_channel_level(), 8000, PeaksFormat::Dat, PeaksBits::Eight).unwrap();
    assert_eq!(bytes.len(), DAT_HEADER_BYTES + 8);
    assert_eq!(i32_at(&bytes, 4), 1, "flags: bit 0 marks 8-bit data");

    let values: Vec<i8> = bytes[24..].iter().map(|&byte| byte as i8).collect();
    assert_eq!(values, [-128, 127, -1, 0, 0, 0, -1, 2]);
}

#[test]
fn json_has_the_audiowaveform_keys() {
    let bytes = encode_peaks(&two_channel_level(), 16000, PeaksFormat::Json, PeaksBits::Eight).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["version"], 2);
    assert_eq!(json["channels"], 2);
    assert_eq!(json["sample_rate"], 16000);
    assert_eq!(json["samples_per_pixel"], 256);
    assert_eq!(json["bits"], 8);
    assert_eq!(json["length"], 2);
    assert_eq!(json["data"], serde_json::json!([-128, 127, -1, 0, 0, 0, -1, 2]));
    assert_eq!(json.as_object().unwrap().len(), 7);
}

/// Reads a version 2 `.dat` file back into a level, as a waveform tool would.
fn read_dat(bytes: &[u8]) -> (u32, PeaksLevel) {
    let eight_bit = i32_at(bytes, 4) & 1 == 1;
    let sample_rate = i32_at(bytes, 8) as u32;
    let samples_per_pixel = i32_at(bytes, 12) as u32;
    let length = i32_at(bytes, 16) as usize;
    let channels = i32_at(bytes, 20) as u16;
    let data: Vec<i16> = if eight_bit {
        bytes[24..].iter().map(|&byte| i16::from(byte as i8)).collect()
    } else {
        bytes[24..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect()
    };
    assert_eq!(data.len(), length * usize::from(channels) * 2);
    (sample_rate, PeaksLevel { samples_per_pixel, channels, data })
}

#[test]
fn recording_peaks_round_trip_through_dat_and_json() {
    let summary = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    for level in &summary.peaks {
        let dat = encode_peaks(level, summary.format.sample_rate, PeaksFormat::Dat, PeaksBits::Sixteen).unwrap();
        let (sample_rate, read) = read_dat(&dat);
        assert_eq!(sample_rate, 16_000);
        assert_eq!(&read, level);

        let json = encode_peaks(level, summary.format.sample_rate, PeaksFormat::Json, PeaksBits::Sixteen).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let data: Vec<i16> = json["data"].as_array().unwrap().iter().map(|value| value.as_i64().unwrap() as i16).collect();
        assert_eq!(data, level.data);
        assert_eq!(json["length"], level.pixels());
    }
}

#[test]
fn export_rejects_what_the_format_cannot_hold() {
    assert!(matches!(PeaksBits::from_count(12), Err(AudioError::Unsupported(_))));

    let empty = PeaksLevel { samples_per_pixel: 256, channels: 0, data: Vec::new() };
    assert!(matches!(encode_peaks(&empty, 8000, PeaksFormat::Dat, PeaksBits::Eight), Err(AudioError::InvalidAudio(_))));

    let level = two_channel_level();
    assert!(matches!(encode_peaks(&level, 0, PeaksFormat::Json, PeaksBits::Eight), Err(AudioError::InvalidAudio(_))));
    assert!(matches!(encode_peaks(&level, u32::MAX, PeaksFormat::Dat, PeaksBits::Eight), Err(AudioError::InvalidAudio(_))));
}

/// Splits the faster-whisper stereo file into two mono WAV files, one per party.
fn per_party_files() -> (Vec<u8>, Vec<u8>) {
    let stereo = fixture("faster-whisper__stereo_diarization.wav");
    let samples: Vec<i16> = stereo[44..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    (pcm16_wav(1, 16_000, &left), pcm16_wav(1, 16_000, &right))
}

#[test]
fn per_party_files_combine_like_the_stereo_file() {
    let stereo = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    let (user_file, bot_file) = per_party_files();
    let combined = combine_parties(&decode(&user_file), &decode(&bot_file)).unwrap();

    assert_eq!(combined.format.channels, 2);
    assert_eq!(combined.format.frames, stereo.format.frames);
    assert_eq!(combined.activity[0].channel, USER_CHANNEL);
    assert_eq!(combined.activity[1].channel, BOT_CHANNEL);
    assert_eq!(combined.activity, stereo.activity);
    assert_eq!(combined.peaks, stereo.peaks);
    assert_eq!(combined.levels, stereo.levels);
    assert!(combined.findings.is_empty(), "{:?}", combined.findings);
}

#[test]
fn shorter_party_file_is_padded() {
    let (user_file, _) = per_party_files();
    let user = decode(&user_file);
    let short_bot = decode(&pcm16_wav(1, 16_000, &[0; 16_000]));
    let combined = combine_parties(&user, &short_bot).unwrap();

    assert_eq!(combined.format.duration_ms, 5_000);
    assert_eq!(combined.peaks.len(), user.peaks.len());
    for (combined_level, user_level) in combined.peaks.iter().zip(&user.peaks) {
        assert_eq!(combined_level.pixels(), user_level.pixels());
        assert_eq!(combined_level.samples_per_pixel, user_level.samples_per_pixel);
    }
    let codes: Vec<&str> = combined.findings.iter().map(|finding| finding.code.as_str()).collect();
    assert_eq!(codes, [FINDING_PARTY_DURATIONS_DIFFER]);
}

#[test]
fn per_party_files_need_one_sample_rate() {
    let user = decode(&pcm16_wav(1, 8_000, &[0; 8_000]));
    let bot = decode(&pcm16_wav(1, 16_000, &[0; 16_000]));
    match combine_parties(&user, &bot) {
        Err(AudioError::Unsupported(message)) => assert!(message.contains("8000 Hz"), "{message}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}
