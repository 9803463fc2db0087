//! Audio through the component's `audio` interface: the peaks of raw PCM16 alone.

use std::io::Cursor;

use callscope_host::RuntimeLimits;
use callscope_host::runtime::{ComponentError, RejectedInput};
use callscope_tests::{component_wasm, fixture, load_runtime};

/// Returns `(channels, sample rate, data chunk)` of a PCM16 WAV fixture.
fn pcm16_fixture(name: &str) -> (u16, u32, Vec<u8>) {
    let wav = std::fs::read(fixture(&format!("audio/{name}"))).expect("reading the fixture");
    let mut at = 12;
    let mut layout = None;
    while at + 8 <= wav.len() {
        let size = u32::from_le_bytes(wav[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &wav[at + 8..(at + 8 + size).min(wav.len())];
        match &wav[at..at + 4] {
            b"fmt " => {
                assert_eq!(u16::from_le_bytes([body[14], body[15]]), 16, "{name} is not 16-bit");
                layout = Some((u16::from_le_bytes([body[2], body[3]]), u32::from_le_bytes(body[4..8].try_into().unwrap())));
            }
            b"data" => {
                let (channels, rate) = layout.expect("fmt before data");
                return (channels, rate, body.to_vec());
            }
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    panic!("{name} has no data chunk");
}

#[test]
fn pcm16_peaks_equal_recording_peaks() {
    // Small chunks, so frames and pixels span chunk boundaries.
    let limits = RuntimeLimits { audio_chunk_bytes: 1001, ..RuntimeLimits::default() };
    let runtime = load_runtime(&component_wasm(), limits);
    for name in ["joinly__OSR_us_000_0034_8k.wav", "faster-whisper__stereo_diarization.wav"] {
        let wav = std::fs::read(fixture(&format!("audio/{name}"))).expect("reading the fixture");
        let (summary, _) = runtime.decode_recording(&mut Cursor::new(wav), &mut std::io::sink()).expect("decoding");

        let (channels, sample_rate, data) = pcm16_fixture(name);
        let peaks = runtime.pcm16_peaks(&mut Cursor::new(data), channels, sample_rate).expect("peaks");
        assert_eq!(peaks, summary.peaks, "{name}");
    }
}

#[test]
fn pcm16_peaks_of_zero_channels_rejected() {
    let runtime = load_runtime(&component_wasm(), RuntimeLimits::default());
    let error = runtime.pcm16_peaks(&mut Cursor::new(vec![0u8; 64]), 0, 8000).expect_err("0 channels");
    assert!(
        matches!(&error, ComponentError::Rejected(RejectedInput::InvalidAudio(message)) if message.contains("0 channels")),
        "{error:?}"
    );
}
