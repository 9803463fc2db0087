//! The one-hour benchmark recordings, built from fixture speech so that nothing large
//! is committed. Both builders are deterministic.

use std::path::Path;

use anyhow::{Context, Result, bail};
use callscope_api_types::Utterance;

/// A one-hour two-channel mu-law call and its utterances.
pub struct HourCall {
    pub wav: Vec<u8>,
    pub utterances: Vec<Utterance>,
    pub duration_ms: i64,
    /// Copies of the fixture call placed end to end.
    pub copies: usize,
    /// Audio overlaps the fixture's `truth.json` lists per copy.
    pub overlaps_per_copy: usize,
}

/// Repeats the assembled fixture call (8 kHz two-channel mu-law, 2 bytes a frame) until
/// it lasts at least `duration_ms`, shifting the report's utterances with each copy.
pub fn assemble_hour(call_dir: &Path, duration_ms: i64) -> Result<HourCall> {
    let recording = std::fs::read(call_dir.join("recording.wav")).context("reading the fixture recording failed")?;
    let (format, data) = wav_data(&recording)?;
    if format != (7, 2, 8_000, 8) {
        bail!("the fixture recording is (tag, channels, rate, bits) {format:?}; expected mu-law 8 kHz stereo");
    }

    // Pad each copy to whole milliseconds (8 frames of 2 bytes) with mu-law silence
    // (0xFF), so utterance shifts stay exact.
    let mut block = data.to_vec();
    while block.len() % 16 != 0 {
        block.push(0xFF);
    }
    let period_ms = (block.len() / 16) as i64;
    let copies = usize::try_from((duration_ms + period_ms - 1) / period_ms).context("copy count")?;

    let report = std::fs::read(call_dir.join("report.json")).context("reading the fixture report failed")?;
    let call = callscope_component::ingest::normalize(&report).context("normalising the fixture report failed")?;
    let mut utterances = Vec::with_capacity(call.utterances.len() * copies);
    let mut data = Vec::with_capacity(block.len() * copies);
    for copy in 0..copies {
        data.extend_from_slice(&block);
        let shift = copy as i64 * period_ms;
        for utterance in &call.utterances {
            let mut shifted = utterance.clone();
            shifted.index = u32::try_from(utterances.len()).context("utterance index")?;
            shifted.start_ms += shift;
            shifted.end_ms += shift;
            for word in &mut shifted.words {
                word.start_ms += shift;
                word.end_ms += shift;
            }
            utterances.push(shifted);
        }
    }

    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(call_dir.join("truth.json")).context("reading truth.json failed")?)
            .context("truth.json is not JSON")?;
    let overlaps_per_copy = truth["overlaps"].as_array().map_or(0, Vec::len);

    let frames = data.len() / 2;
    Ok(HourCall {
        wav: mulaw_stereo_wav(&data, frames)?,
        utterances,
        duration_ms: (frames / 8) as i64,
        copies,
        overlaps_per_copy,
    })
}

/// Returns at least `duration_ms` of 16 kHz mono PCM16 bytes: the samples of a PCM16
/// fixture repeated (their own rate does not matter to a peaks benchmark).
pub fn hour_of_pcm16(source: &Path, duration_ms: i64) -> Result<Vec<u8>> {
    let bytes = std::fs::read(source).with_context(|| format!("reading {} failed", source.display()))?;
    let (format, data) = wav_data(&bytes)?;
    if format.0 != 1 || format.3 != 16 {
        bail!("{} is (tag, channels, rate, bits) {format:?}; expected PCM16", source.display());
    }
    let wanted = usize::try_from(duration_ms * 16 * 2).context("length")?;
    let mut pcm = Vec::with_capacity(wanted);
    while pcm.len() < wanted {
        let take = (wanted - pcm.len()).min(data.len() & !1);
        pcm.extend_from_slice(&data[..take]);
    }
    Ok(pcm)
}

/// Returns `(format tag, channels, sample rate, bits)` and the data chunk of a WAV file.
fn wav_data(wav: &[u8]) -> Result<((u16, u16, u32, u16), &[u8])> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        bail!("not a RIFF WAVE file");
    }
    let mut at = 12;
    let mut format = None;
    while at + 8 <= wav.len() {
        let size = u32::from_le_bytes(wav[at + 4..at + 8].try_into()?) as usize;
        let body = &wav[at + 8..(at + 8 + size).min(wav.len())];
        match &wav[at..at + 4] {
            b"fmt " if body.len() >= 16 => {
                format = Some((
                    u16::from_le_bytes(body[0..2].try_into()?),
                    u16::from_le_bytes(body[2..4].try_into()?),
                    u32::from_le_bytes(body[4..8].try_into()?),
                    u16::from_le_bytes(body[14..16].try_into()?),
                ));
            }
            b"data" => return Ok((format.context("data chunk before fmt chunk")?, body)),
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    bail!("the WAV file has no data chunk")
}

/// Writes a mu-law 8 kHz stereo WAV file (18-byte fmt chunk and fact chunk, as
/// non-PCM WAV files carry them).
fn mulaw_stereo_wav(data: &[u8], frames: usize) -> Result<Vec<u8>> {
    let data_bytes = u32::try_from(data.len()).context("the recording exceeds 4 GiB")?;
    let mut wav = Vec::with_capacity(data.len() + 58);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(4 + 26 + 12 + 8 + data_bytes + (data_bytes & 1)).to_le_bytes());
    wav.extend_from_slice(b"WAVE");
    wav.extend_from_slice(b"fmt ");
    wav.extend_from_slice(&18u32.to_le_bytes());
    wav.extend_from_slice(&7u16.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&8_000u32.to_le_bytes());
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(&0u16.to_le_bytes());
    wav.extend_from_slice(b"fact");
    wav.extend_from_slice(&4u32.to_le_bytes());
    wav.extend_from_slice(&u32::try_from(frames).context("frame count")?.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_bytes.to_le_bytes());
    wav.extend_from_slice(data);
    if data.len() % 2 == 1 {
        wav.push(0);
    }
    Ok(wav)
}
