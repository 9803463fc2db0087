//! Speech segments per channel on real recordings.
//!
//! Expected boundaries of the OSR reading were read off its 4 ms energy contour (level
//! rising to 10 dB or more over the noise floor of about -64 dBFS).

mod audio_support;

use audio_support::*;
use callscope_api_types::audio::Segment;

/// Tolerance on segment edges against known truth, in milliseconds.
const EDGE_TOLERANCE_MS: i64 = 50;

fn segments(name: &str, channel: usize) -> Vec<Segment> {
    decode(&fixture(name)).activity[channel].speech.clone()
}

fn assert_segments_near(actual: &[Segment], expected: &[(i64, i64)], tolerance_ms: i64, label: &str) {
    assert_eq!(actual.len(), expected.len(), "{label}: segment count in {actual:?}");
    for (index, (segment, &(start_ms, end_ms))) in actual.iter().zip(expected).enumerate() {
        assert!((segment.start_ms - start_ms).abs() <= tolerance_ms, "{label}: segment {index} starts at {} ms, expected {start_ms}", segment.start_ms);
        assert!((segment.end_ms - end_ms).abs() <= tolerance_ms, "{label}: segment {index} ends at {} ms, expected {end_ms}", segment.end_ms);
    }
}

/// Ten sentences. The 7th ("The grass and bushes | were wet with dew") and the 10th
/// ("When you hear the bell, | come quickly") contain pauses of 0.3 and 0.5 s, longer
/// than the 200 ms bridged, so they come out as two segments each.
const OSR_SEGMENTS: [(i64, i64); 12] = [
    (1240, 3800),
    (4768, 6840),
    (7784, 9932),
    (10944, 13904),
    (15224, 17028),
    (17792, 20396),
    (21220, 22212),
    (22528, 23948),
    (25292, 28248),
    (29392, 31192),
    (32544, 33584),
    (34152, 34836),
];

#[test]
fn osr_reading_pcm16_sentences() {
    let actual = segments("joinly__OSR_us_000_0034_8k.wav", 0);
    assert_segments_near(&actual, &OSR_SEGMENTS, EDGE_TOLERANCE_MS, "PCM16");
}

#[test]
fn osr_reading_same_across_encodings() {
    let pcm = segments("joinly__OSR_us_000_0034_8k.wav", 0);
    let reference: Vec<(i64, i64)> = pcm.iter().map(|segment| (segment.start_ms, segment.end_ms)).collect();

    // G.711 adds quantisation noise near the -64 dBFS floor of this recording, which
    // moves the quietest sentence tails a little; A-law's coarser low-level steps move
    // them most (measured: 64 ms on the first sentence's end).
    let mulaw = segments("joinly__OSR_us_000_0034__8k_mulaw_mono.wav", 0);
    assert_segments_near(&mulaw, &reference, 20, "mu-law vs PCM16");
    let alaw = segments("joinly__OSR_us_000_0034__8k_alaw_mono.wav", 0);
    assert_segments_near(&alaw, &reference, 70, "A-law vs PCM16");
}

#[test]
fn leak_test_has_no_speech_in_hum() {
    let actual = segments("py-webrtcvad__leak-test.wav", 0);
    let first = actual.first().expect("speech expected");
    let last = actual.last().expect("speech expected");

    assert!((500..=700).contains(&first.start_ms), "speech starts at {} ms", first.start_ms);
    assert!((7_500..=8_000).contains(&last.end_ms), "speech ends at {} ms", last.end_ms);
}

#[test]
fn stereo_channels_are_separate() {
    let summary = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    let left = &summary.activity[0].speech;
    let right = &summary.activity[1].speech;

    assert_eq!(summary.activity[0].channel, 0);
    assert_eq!(summary.activity[1].channel, 1);
    assert!((250..=350).contains(&left[0].start_ms), "left starts at {} ms", left[0].start_ms);
    assert!((4_500..=4_950).contains(&left.last().unwrap().end_ms), "left ends at {} ms", left.last().unwrap().end_ms);
    assert_eq!(right.len(), 1, "right: {right:?}");
    assert!((300..=400).contains(&right[0].start_ms), "right starts at {} ms", right[0].start_ms);
    assert!((2_450..=2_750).contains(&right[0].end_ms), "right ends at {} ms", right[0].end_ms);
}

#[test]
fn mulaw_stereo_copy_matches_source() {
    let source = decode(&fixture("faster-whisper__stereo_diarization.wav"));
    let copy = decode(&fixture("faster-whisper__stereo_diarization__8k_mulaw_stereo.wav"));

    for channel in 0..2 {
        let source = &source.activity[channel].speech;
        let copy = &copy.activity[channel].speech;
        assert_eq!(copy.len(), source.len(), "channel {channel}: {copy:?} vs {source:?}");
        for (a, b) in copy.iter().zip(source) {
            assert!((a.start_ms - b.start_ms).abs() <= 20, "channel {channel}: start {} vs {}", a.start_ms, b.start_ms);
        }
    }
    // The left channel's background noise runs into exact zeros at 4.91 s, so its end
    // rests on earshot alone in the mu-law copy (measured 4912 ms against 4772 ms).
    assert!((4_500..=4_950).contains(&copy.activity[0].speech.last().unwrap().end_ms));
    assert!((copy.activity[1].speech[0].end_ms - source.activity[1].speech[0].end_ms).abs() <= 20);
}

/// Samples of the OSR reading between two times, at 8 kHz.
fn osr_excerpt(samples: &[i16], start_ms: usize, length_ms: usize) -> Vec<i16> {
    samples[start_ms * 8..(start_ms + length_ms) * 8].to_vec()
}

#[test]
fn digital_silence_gaps_give_exact_pauses() {
    let osr = pcm16_samples(&fixture("joinly__OSR_us_000_0034_8k.wav"));
    let silence = |ms: usize| vec![0i16; ms * 8];

    // Three sentences between exact zeros of 700, 450, 300 and 700 ms.
    let mono = [
        silence(700),
        osr_excerpt(&osr, 1240, 2560),
        silence(450),
        osr_excerpt(&osr, 4764, 2120),
        silence(300),
        osr_excerpt(&osr, 7780, 2250),
        silence(700),
    ]
    .concat();

    let summary = decode(&pcm16_wav(1, 8000, &mono));
    let expected = [(700, 3260), (3710, 5830), (6130, 8380)];
    assert_segments_near(&summary.activity[0].speech, &expected, EDGE_TOLERANCE_MS, "spliced mono");

    let pauses: Vec<i64> = summary.activity[0].speech.windows(2).map(|pair| pair[1].start_ms - pair[0].end_ms).collect();
    assert!((pauses[0] - 450).abs() <= EDGE_TOLERANCE_MS, "first pause {} ms", pauses[0]);
    assert!((pauses[1] - 300).abs() <= EDGE_TOLERANCE_MS, "second pause {} ms", pauses[1]);
}

#[test]
fn response_latency_across_channels() {
    let osr = pcm16_samples(&fixture("joinly__OSR_us_000_0034_8k.wav"));

    // Left speaks 0.5–3.06 s; right responds 450 ms later for 2.12 s; zeros elsewhere.
    let left = [vec![0; 500 * 8], osr_excerpt(&osr, 1240, 2560), vec![0; 2570 * 8]].concat();
    let right = [vec![0; 3510 * 8], osr_excerpt(&osr, 4764, 2120)].concat();
    let frames = left.len().max(right.len());
    let mut interleaved = Vec::with_capacity(frames * 2);
    for frame in 0..frames {
        interleaved.push(left.get(frame).copied().unwrap_or(0));
        interleaved.push(right.get(frame).copied().unwrap_or(0));
    }

    let summary = decode(&pcm16_wav(2, 8000, &interleaved));
    let user = &summary.activity[0].speech;
    let bot = &summary.activity[1].speech;
    assert_eq!(user.len(), 1, "left: {user:?}");
    assert_eq!(bot.len(), 1, "right: {bot:?}");

    let latency_ms = bot[0].start_ms - user[0].end_ms;
    assert!((latency_ms - 450).abs() <= EDGE_TOLERANCE_MS, "latency {latency_ms} ms");
}
