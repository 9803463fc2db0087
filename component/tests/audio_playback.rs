//! PCM16 playback copies of G.711 recordings.

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::AudioEncoding;
use callscope_component::audio::{Recording, analyse_bytes};

#[test]
fn mulaw_and_alaw_playback_is_a_valid_wav() {
    let cases = [
        ("joinly__OSR_us_000_0034__8k_mulaw_mono.wav", 1),
        ("joinly__OSR_us_000_0034__8k_alaw_mono.wav", 1),
        ("faster-whisper__stereo_diarization__8k_mulaw_stereo.wav", 2),
        ("deepgram-python-sdk__preamble-websocket__8k_mulaw.wav", 1),
    ];

    for (name, channels) in cases {
        let (summary, playback) = analyse_bytes(&fixture(name), 4096).unwrap();
        let header = summary.playback_wav_header.clone().expect("G.711 needs a playback header");
        assert_eq!(header.len(), 44, "{name}");
        assert_eq!(playback.len() as u64, summary.format.frames * channels * 2, "{name}");

        let wav = [header, playback].concat();
        let copy = decode(&wav);
        assert_eq!(copy.format.encoding, AudioEncoding::Pcm16, "{name}");
        assert_eq!(copy.format.channels, summary.format.channels, "{name}");
        assert_eq!(copy.format.sample_rate, summary.format.sample_rate, "{name}");
        assert_eq!(copy.format.frames, summary.format.frames, "{name}");
        assert_eq!(copy.format.duration_ms, summary.format.duration_ms, "{name}");
        assert_eq!(copy.peaks, summary.peaks, "{name}");
        assert_eq!(copy.activity, summary.activity, "{name}");
    }
}

#[test]
fn playback_samples_match_sox_expansion() {
    // The first samples as `sox FILE -t s16 -` (SoX 14.4.2) decodes them; data starts at
    // byte 58 in both files.
    let cases = [
        ("joinly__OSR_us_000_0034__8k_mulaw_mono.wav", [0x7D, 0x7A, 0x79, 0x7A], [-16, -40, -48, -40]),
        ("joinly__OSR_us_000_0034__8k_alaw_mono.wav", [0x54, 0x57, 0x57, 0x57], [-24, -40, -40, -40]),
    ];

    for (name, codes, expected) in cases {
        let bytes = fixture(name);
        let (_, playback) = analyse_bytes(&bytes, 4096).unwrap();
        let samples: Vec<i16> = playback.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect();

        assert_eq!(&bytes[58..62], &codes, "{name}");
        assert_eq!(&samples[..4], &expected, "{name}");
    }
}

#[test]
fn playback_arrives_with_each_chunk() {
    let bytes = fixture("faster-whisper__stereo_diarization__8k_mulaw_stereo.wav");
    let mut recording = Recording::new();

    // The header chunks end at byte 58; 101 data bytes hold 50 stereo frames and one byte
    // of the next, which comes out with the following push.
    assert!(recording.push(&bytes[..58]).unwrap().is_empty());
    assert_eq!(recording.push(&bytes[58..159]).unwrap().len(), 50 * 4);
    assert_eq!(recording.push(&bytes[159..160]).unwrap().len(), 4);
}

#[test]
fn playable_sources_get_no_playback() {
    for name in ["joinly__OSR_us_000_0034_8k.wav", "pyannote__tests__dev00.wav"] {
        let (summary, playback) = analyse_bytes(&fixture(name), 4096).unwrap();
        assert!(playback.is_empty(), "{name}");
        assert_eq!(summary.playback_wav_header, None, "{name}");
    }
}
