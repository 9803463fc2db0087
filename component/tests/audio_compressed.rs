//! MP3, FLAC and Ogg/Opus decoding, and mu-law at a non-telephony rate.
//!
//! The expected values are what the containers declare, read with SoX 14.4.2 (`soxi`)
//! for FLAC and WAV, and from the files' own headers for the others: the Opus end
//! granule position less the pre-skip, and the MP3 Xing/LAME frame count.

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::{AudioEncoding, AudioSummary, Segment};
use callscope_component::audio::{AudioError, FINDING_FRAME_COUNT_MISMATCH, FINDING_SAMPLE_RATE_MISMATCH, Recording, analyse_bytes};

fn finding_codes(summary: &AudioSummary) -> Vec<&str> {
    summary.findings.iter().map(|finding| finding.code.as_str()).collect()
}

#[test]
fn flac_format_matches_streaminfo() {
    let summary = decode(&fixture("whisper__jfk.flac"));
    assert_eq!(summary.format.encoding, AudioEncoding::Flac);
    assert_eq!(summary.format.sample_rate, 44_100);
    assert_eq!(summary.format.channels, 2);
    assert_eq!(summary.format.bits_per_sample, 24);
    assert_eq!(summary.format.frames, 485_100);
    assert_eq!(summary.format.duration_ms, 11_000);
    assert!(summary.findings.is_empty(), "{:?}", summary.findings);
    assert_eq!(summary.playback_wav_header, None);
}

#[test]
fn opus_format_matches_granule_positions() {
    // OpusHead: 1 channel, pre-skip 312; the last page's granule position is 387,384.
    let summary = decode(&fixture("silero-vad__test.opus"));
    assert_eq!(summary.format.encoding, AudioEncoding::Opus);
    assert_eq!(summary.format.sample_rate, 48_000);
    assert_eq!(summary.format.channels, 1);
    assert_eq!(summary.format.frames, 387_384 - 312);
    assert_eq!(summary.format.duration_ms, 8_064);
    assert_eq!(summary.playback_wav_header, None);
}

#[test]
fn mp3_format_matches_xing_frame_count() {
    let summary = decode(&fixture("whisper.cpp__jfk.mp3"));
    assert_eq!(summary.format.encoding, AudioEncoding::Mp3);
    assert_eq!(summary.format.sample_rate, 16_000);
    assert_eq!(summary.format.channels, 1);
    assert_eq!(summary.format.bits_per_sample, 0);
    // The LAME tag's delay and padding are trimmed, so the frame count equals the
    // Xing count less both; a mismatch would add a finding.
    assert!(!finding_codes(&summary).contains(&FINDING_FRAME_COUNT_MISMATCH), "{:?}", summary.findings);
    // The WAV of the same speech has 176,000 frames; gapless trimming removes exactly
    // the encoder's delay and padding.
    assert_eq!(summary.format.frames, 176_000);
    assert_eq!(summary.format.duration_ms, 11_000);
    assert_eq!(summary.playback_wav_header, None);
}

#[test]
fn mp3_with_cover_art_decodes() {
    // A 290 KB ID3v2 tag with an APIC picture precedes the first MPEG frame.
    let summary = decode(&fixture("silero-vad__test.mp3"));
    assert_eq!(summary.format.encoding, AudioEncoding::Mp3);
    assert_eq!(summary.format.sample_rate, 44_100);
    assert_eq!(summary.format.channels, 2);
    assert!((2_500..2_700).contains(&summary.format.duration_ms), "{}", summary.format.duration_ms);
    assert!(summary.levels[0].peak > 0.05, "{:?}", summary.levels);
}

#[test]
fn mulaw_at_16k_keeps_its_rate_and_length() {
    // soxi: 1 channel, 16000 Hz, 8-bit u-law, 32,480 samples.
    let (summary, playback) = analyse_bytes(&fixture("azure-speech-sdk__whatstheweatherlike-mulaw.wav"), 4096).unwrap();
    assert_eq!(summary.format.encoding, AudioEncoding::Mulaw);
    assert_eq!(summary.format.sample_rate, 16_000);
    assert_eq!(summary.format.frames, 32_480);
    assert_eq!(summary.format.duration_ms, 2_030);

    let header = summary.playback_wav_header.clone().expect("mu-law is transcoded");
    let copy = decode(&[header, playback].concat());
    assert_eq!(copy.format.encoding, AudioEncoding::Pcm16);
    assert_eq!(copy.format.sample_rate, 16_000);
    let served_ms = copy.format.frames as f64 * 1000.0 / f64::from(copy.format.sample_rate);
    let source_ms = summary.format.frames as f64 * 1000.0 / f64::from(summary.format.sample_rate);
    assert!((served_ms - source_ms).abs() <= 10.0, "served {served_ms} ms, source {source_ms} ms");
}

#[test]
fn chunk_size_does_not_change_compressed_results() {
    for name in ["whisper__jfk.flac", "whisper.cpp__jfk.mp3", "silero-vad__test.opus", "silero-vad__test.mp3"] {
        let bytes = fixture(name);
        let (whole, _) = analyse_bytes(&bytes, bytes.len()).unwrap();
        for chunk_size in [1_000, 65_536] {
            let (chunked, _) = analyse_bytes(&bytes, chunk_size).unwrap();
            assert_eq!(chunked, whole, "{name} in {chunk_size}-byte chunks");
        }
    }
}

#[test]
fn opus_decodes_byte_by_byte() {
    let bytes = fixture("silero-vad__test.opus");
    let (whole, _) = analyse_bytes(&bytes, bytes.len()).unwrap();
    let (bytewise, _) = analyse_bytes(&bytes, 1).unwrap();
    assert_eq!(bytewise, whole);
}

/// Speech of the same reading decoded from MP3 and from WAV agrees within 100 ms at
/// every edge: MP3 is lossy, but not at the level of pauses.
#[test]
fn mp3_and_wav_speech_segments_agree() {
    let mp3 = decode(&fixture("whisper.cpp__jfk.mp3"));
    let wav = decode(&fixture("whisper.cpp__jfk.wav"));
    let mp3_speech: &[Segment] = &mp3.activity[0].speech;
    let wav_speech: &[Segment] = &wav.activity[0].speech;

    assert_eq!(mp3_speech.len(), wav_speech.len(), "mp3 {mp3_speech:?}\nwav {wav_speech:?}");
    for (from_mp3, from_wav) in mp3_speech.iter().zip(wav_speech) {
        assert!((from_mp3.start_ms - from_wav.start_ms).abs() <= 100, "{from_mp3:?} vs {from_wav:?}");
        assert!((from_mp3.end_ms - from_wav.end_ms).abs() <= 100, "{from_mp3:?} vs {from_wav:?}");
    }
}

#[test]
fn flac_and_wav_speech_segments_agree() {
    let flac = decode(&fixture("whisper__jfk.flac"));
    let wav = decode(&fixture("whisper.cpp__jfk.wav"));
    let flac_speech = &flac.activity[0].speech;
    let wav_speech = &wav.activity[0].speech;

    assert_eq!(flac_speech.len(), wav_speech.len(), "flac {flac_speech:?}\nwav {wav_speech:?}");
    for (from_flac, from_wav) in flac_speech.iter().zip(wav_speech) {
        assert!((from_flac.start_ms - from_wav.start_ms).abs() <= 100, "{from_flac:?} vs {from_wav:?}");
        assert!((from_flac.end_ms - from_wav.end_ms).abs() <= 100, "{from_flac:?} vs {from_wav:?}");
    }
}

#[test]
fn claimed_sample_rate_mismatch_is_a_finding() {
    let bytes = fixture("whisper.cpp__jfk.wav");

    let mut recording = Recording::new();
    recording.expect_sample_rate(8_000);
    recording.push(&bytes).unwrap();
    let summary = recording.finish().unwrap();
    assert_eq!(summary.format.sample_rate, 16_000);
    assert_eq!(finding_codes(&summary), [FINDING_SAMPLE_RATE_MISMATCH]);
    assert!(summary.findings[0].message.contains("8000 Hz"), "{}", summary.findings[0].message);
    assert!(summary.findings[0].message.contains("16000 Hz"), "{}", summary.findings[0].message);

    let mut recording = Recording::new();
    recording.expect_sample_rate(16_000);
    recording.push(&bytes).unwrap();
    assert!(recording.finish().unwrap().findings.is_empty());
}

/// Generates `count` bytes of a fixed xorshift sequence, so the tests are deterministic.
fn random_bytes(count: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn random_bytes_after_each_container_magic_fail_cleanly() {
    let magics: [&[u8]; 6] = [b"RIFF\x00\x00\x00\x00WAVE", b"ID3\x04\x00\x00\x00\x00\x00\x10", &[0xFF, 0xFB, 0x90, 0x64], b"fLaC", b"OggS\x00\x02", b"ID3"];
    for (index, magic) in magics.iter().enumerate() {
        for seed in 1..=20u64 {
            let bytes = [magic.to_vec(), random_bytes(50_000, seed * 7919 + index as u64)].concat();
            match analyse_bytes(&bytes, 4096) {
                Err(AudioError::InvalidAudio(message) | AudioError::Unsupported(message) | AudioError::TooLarge(message)) => {
                    assert!(!message.is_empty());
                }
                Err(AudioError::Finished) => panic!("{magic:02x?} seed {seed}: unexpected Finished"),
                // Random MPEG frames can decode as noise; that is a correct result too.
                Ok((summary, _)) => assert!(summary.format.frames > 0 || summary.format.encoding == AudioEncoding::Mp3),
            }
        }
    }
}

#[test]
fn truncated_compressed_files_keep_complete_frames() {
    for name in ["whisper__jfk.flac", "whisper.cpp__jfk.mp3", "silero-vad__test.opus"] {
        let bytes = fixture(name);
        let (whole, _) = analyse_bytes(&bytes, 4096).unwrap();
        let (half, _) = analyse_bytes(&bytes[..bytes.len() / 2], 4096).unwrap();
        assert!(half.format.frames < whole.format.frames, "{name}");
        assert!(half.format.frames > whole.format.frames / 3, "{name}: {} of {}", half.format.frames, whole.format.frames);
    }
}

#[test]
fn cut_inside_metadata_is_invalid() {
    let flac = fixture("whisper__jfk.flac");
    match analyse_bytes(&flac[..100], 4096) {
        Err(AudioError::InvalidAudio(message)) => assert!(message.contains("metadata"), "{message}"),
        other => panic!("expected InvalidAudio, got {other:?}"),
    }

    let mp3 = fixture("silero-vad__test.mp3");
    let error = analyse_bytes(&mp3[..100_000], 4096).unwrap_err();
    assert!(matches!(error, AudioError::InvalidAudio(_)), "{error:?}");
}

#[test]
fn ogg_without_opus_is_unsupported() {
    // A valid first Ogg page whose packet is a Vorbis identification header.
    let mut packet = b"\x01vorbis".to_vec();
    packet.extend_from_slice(&[0; 23]);
    let page = ogg_page(0x02, 0, &packet);
    match analyse_bytes(&page, 4096) {
        Err(AudioError::Unsupported(message)) => assert!(message.contains("not Opus"), "{message}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn ogg_page_with_bad_crc_is_invalid() {
    let opus = fixture("silero-vad__test.opus");
    let mut corrupt = opus.clone();
    corrupt[40] ^= 0xFF;
    match analyse_bytes(&corrupt, 4096) {
        Err(AudioError::InvalidAudio(message)) => assert!(message.contains("CRC"), "{message}"),
        other => panic!("expected InvalidAudio, got {other:?}"),
    }
}

/// Builds one Ogg page holding `packet` (shorter than 255 bytes) with a correct CRC.
fn ogg_page(header_type: u8, granule: u64, packet: &[u8]) -> Vec<u8> {
    let mut page = b"OggS\x00".to_vec();
    page.push(header_type);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&7u32.to_le_bytes());
    page.extend_from_slice(&0u32.to_le_bytes());
    page.extend_from_slice(&0u32.to_le_bytes());
    page.push(1);
    page.push(packet.len() as u8);
    page.extend_from_slice(packet);

    let mut crc = 0u32;
    for &byte in &page {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// Returns the jfk FLAC file with its STREAMINFO total sample count replaced.
fn flac_declaring(total_frames: u64) -> Vec<u8> {
    let mut flac = fixture("whisper__jfk.flac");
    // STREAMINFO starts at byte 8; its last 36 bits of bytes 10..18 count the frames.
    let field = &mut flac[18..26];
    let mut packed = u64::from_be_bytes(field.try_into().unwrap());
    packed = (packed & !((1 << 36) - 1)) | total_frames;
    field.copy_from_slice(&packed.to_be_bytes());
    flac
}

#[test]
fn flac_overstated_length_is_a_finding() {
    let summary = decode(&flac_declaring(2 * 485_100));
    assert_eq!(summary.format.frames, 485_100);
    assert_eq!(finding_codes(&summary), [FINDING_FRAME_COUNT_MISMATCH]);
    assert!(summary.findings[0].message.contains("970200"), "{}", summary.findings[0].message);
}

#[test]
fn flac_ten_hour_header_is_too_large() {
    // 10 h at 44.1 kHz.
    match analyse_bytes(&flac_declaring(1_587_600_000), 4096) {
        Err(AudioError::TooLarge(message)) => assert!(message.contains("10.0 h"), "{message}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}
