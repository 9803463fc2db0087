//! Malformed, hostile and oversized input: each gets a typed error with a clear message.

mod audio_support;

use audio_support::*;
use callscope_component::audio::{AudioError, Recording, analyse_bytes};

fn error_of(bytes: &[u8]) -> AudioError {
    match analyse_bytes(bytes, 4096) {
        Ok((summary, _)) => panic!("expected an error, decoded {:?}", summary.format),
        Err(error) => error,
    }
}

fn invalid_message(bytes: &[u8]) -> String {
    match error_of(bytes) {
        AudioError::InvalidAudio(message) => message,
        other => panic!("expected InvalidAudio, got {other:?}"),
    }
}

fn pcm16_fmt() -> Vec<u8> {
    chunk(b"fmt ", &fmt_body(1, 1, 8000, 16))
}

#[test]
fn empty_input_is_invalid() {
    let message = invalid_message(&[]);
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn truncated_header_is_invalid() {
    let wav = fixture("joinly__OSR_us_000_0034_8k.wav");
    for length in [1, 11, 12, 20, 30, 43] {
        let message = invalid_message(&wav[..length]);
        assert!(message.contains(&format!("ended after {length} bytes")), "{length}: {message}");
    }
}

#[test]
fn short_data_names_declared_and_received_bytes() {
    let wav = fixture("joinly__OSR_us_000_0034_8k.wav");
    let message = invalid_message(&wav[..10_044]);
    assert!(message.contains("declares 568766 bytes"), "{message}");
    assert!(message.contains("after 10000 of them"), "{message}");
}

#[test]
fn ten_hour_header_on_tiny_body_is_too_large() {
    // 10 h of 8 kHz PCM16 mono is 576,000,000 bytes.
    let wav = riff(&[pcm16_fmt(), data_chunk_declaring(576_000_000, &[0; 100])]);
    match error_of(&wav) {
        AudioError::TooLarge(message) => {
            assert!(message.contains("288000000 frames"), "{message}");
            assert!(message.contains("10.0 h"), "{message}");
            assert!(message.contains("up to 4 h"), "{message}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn random_bytes_match_no_container() {
    // A fixed xorshift sequence, so the test is deterministic.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..10_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    match error_of(&bytes) {
        AudioError::Unsupported(message) => assert!(message.contains("no supported container"), "{message}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn header_field_errors() {
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("zero channels", fmt_body(1, 0, 8000, 16), "0 channels"),
        ("0 Hz", fmt_body(1, 1, 0, 16), "0 Hz"),
        ("absurd rate", fmt_body(1, 1, 10_000_000, 16), "10000000 Hz"),
        ("tiny rate", fmt_body(1, 1, 10, 16), "10 Hz"),
        ("block align", {
            let mut body = fmt_body(1, 2, 8000, 16);
            body[12] = 3;
            body
        }, "block align of 3 bytes"),
        ("short extensible", fmt_body(0xFFFE, 1, 8000, 16), "WAVE_FORMAT_EXTENSIBLE"),
    ];

    for (case, body, expected) in cases {
        let wav = riff(&[chunk(b"fmt ", &body), chunk(b"data", &[0; 64])]);
        let message = invalid_message(&wav);
        assert!(message.contains(expected), "{case}: {message}");
    }
}

#[test]
fn unsupported_layouts_are_named() {
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("ADPCM", fmt_body(2, 1, 8000, 16), "0x0002"),
        ("64-bit float", fmt_body(3, 1, 8000, 64), "64-bit"),
        ("12-bit PCM", fmt_body(1, 1, 8000, 12), "12-bit"),
        ("nine channels", fmt_body(1, 9, 8000, 16), "9 channels"),
    ];

    for (case, body, expected) in cases {
        let wav = riff(&[chunk(b"fmt ", &body), chunk(b"data", &[0; 64])]);
        match error_of(&wav) {
            AudioError::Unsupported(message) => assert!(message.contains(expected), "{case}: {message}"),
            other => panic!("{case}: expected Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn data_before_fmt_is_invalid() {
    let wav = riff(&[chunk(b"data", &[0; 16]), pcm16_fmt()]);
    let message = invalid_message(&wav);
    assert!(message.contains("before the fmt chunk"), "{message}");
}

#[test]
fn rf64_is_unsupported() {
    let mut wav = pcm16_wav(1, 8000, &[0; 16]);
    wav[..4].copy_from_slice(b"RF64");
    assert!(matches!(error_of(&wav), AudioError::Unsupported(message) if message.contains("RF64")));
}

#[test]
fn calls_after_finish_return_finished() {
    let mut recording = Recording::new();
    recording.push(&pcm16_wav(1, 8000, &[0; 16])).unwrap();
    recording.finish().unwrap();

    assert_eq!(recording.push(&[0]), Err(AudioError::Finished));
    assert_eq!(recording.finish(), Err(AudioError::Finished));
}

#[test]
fn error_repeats_on_later_pushes() {
    let mut recording = Recording::new();
    let first = recording.push(b"RIFF\0\0\0\0AVI LIST").unwrap_err();
    assert!(matches!(first, AudioError::InvalidAudio(_)));

    assert_eq!(recording.push(&[0; 16]), Err(first.clone()));
    assert_eq!(recording.finish(), Err(first));
    assert_eq!(recording.finish(), Err(AudioError::Finished));
}

#[test]
fn understated_data_size_reads_declared_bytes() {
    // The data chunk declares 1,600 bytes (800 frames) but 16,000 follow.
    let wav = riff(&[pcm16_fmt(), data_chunk_declaring(1_600, &[0; 16_000])]);
    let (summary, _) = analyse_bytes(&wav, 4096).unwrap();
    assert_eq!(summary.format.frames, 800);
    assert_eq!(summary.format.duration_ms, 100);
}
