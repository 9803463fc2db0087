//! Accuracy of the speech detector against labelled speech, frame by frame.
//!
//! This file is also compiled into the component's `analysis_vad_accuracy` test
//! (through `#[path]`), so it depends on the standard library and the component only.

use callscope_component::audio::Recording;

/// Frame of the comparison: 10 ms, the resolution speech-detection benchmarks use.
pub const FRAME_MS: i64 = 10;

/// Frame-level scores of detected speech against reference speech.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    pub precision: f64,
    pub recall: f64,
    /// Median distance from each reference boundary (start or end) to the nearest
    /// detected boundary of the same kind.
    pub median_boundary_error_ms: i64,
    pub reference_segments: usize,
    pub detected_segments: usize,
}

/// Decodes a WAV file and returns the speech segments of its first channel.
pub fn detect(wav: &[u8]) -> Result<Vec<(i64, i64)>, String> {
    let mut recording = Recording::new();
    for chunk in wav.chunks(64 * 1024) {
        recording.push(chunk).map_err(|error| format!("decoding failed: {error}"))?;
    }
    let summary = recording.finish().map_err(|error| format!("decoding failed: {error}"))?;
    let channel = summary
        .activity
        .first()
        .ok_or_else(|| "the recording has no channel".to_string())?;
    Ok(channel.speech.iter().map(|segment| (segment.start_ms, segment.end_ms)).collect())
}

/// Compares `detected` with `reference` (both in ms, any order, overlaps allowed)
/// over `[from_ms, to_ms)`.
pub fn score(reference: &[(i64, i64)], detected: &[(i64, i64)], from_ms: i64, to_ms: i64) -> Accuracy {
    let reference = union(reference);
    let detected = union(detected);

    let (mut true_positive, mut false_positive, mut false_negative) = (0u64, 0u64, 0u64);
    let mut frame_start = from_ms;
    while frame_start + FRAME_MS <= to_ms {
        let centre = frame_start + FRAME_MS / 2;
        match (contains(&reference, centre), contains(&detected, centre)) {
            (true, true) => true_positive += 1,
            (false, true) => false_positive += 1,
            (true, false) => false_negative += 1,
            (false, false) => {}
        }
        frame_start += FRAME_MS;
    }

    let mut errors: Vec<i64> = Vec::new();
    for &(start, end) in &reference {
        if let Some(nearest) = detected.iter().map(|&(found, _)| (found - start).abs()).min() {
            errors.push(nearest);
        }
        if let Some(nearest) = detected.iter().map(|&(_, found)| (found - end).abs()).min() {
            errors.push(nearest);
        }
    }
    errors.sort_unstable();

    let ratio = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
    Accuracy {
        precision: ratio(true_positive, true_positive + false_positive),
        recall: ratio(true_positive, true_positive + false_negative),
        median_boundary_error_ms: errors.get(errors.len() / 2).copied().unwrap_or(0),
        reference_segments: reference.len(),
        detected_segments: detected.len(),
    }
}

/// Reads the turns of one file from RTTM text (`SPEAKER file channel onset duration
/// ...`, times in seconds) as `(start_ms, end_ms)`.
pub fn rttm_turns(text: &str, file: &str) -> Vec<(i64, i64)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 5 || fields[0] != "SPEAKER" || fields[1] != file {
                return None;
            }
            let onset: f64 = fields[3].parse().ok()?;
            let duration: f64 = fields[4].parse().ok()?;
            Some(((onset * 1000.0).round() as i64, ((onset + duration) * 1000.0).round() as i64))
        })
        .collect()
}

/// Reads the scored region of one file from UEM text (`file channel start end`, in
/// seconds) as `(from_ms, to_ms)`.
pub fn uem_region(text: &str, file: &str) -> Option<(i64, i64)> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 || fields[0] != file {
            return None;
        }
        let start: f64 = fields[2].parse().ok()?;
        let end: f64 = fields[3].parse().ok()?;
        Some(((start * 1000.0).round() as i64, (end * 1000.0).round() as i64))
    })
}

/// Finds the sentences of a clean read recording (16-bit PCM WAV, mono): stretches of
/// 10 ms frames above `threshold_dbfs`, joined across gaps shorter than `join_ms`.
/// This is the rule the assembled fixture call uses to trim its clips.
pub fn energy_sentences(wav: &[u8], threshold_dbfs: f64, join_ms: i64) -> Result<Vec<(i64, i64)>, String> {
    let (sample_rate, samples) = pcm16_mono(wav)?;
    let frame = (sample_rate as usize * FRAME_MS as usize / 1000).max(1);
    let mut sentences: Vec<(i64, i64)> = Vec::new();
    for (index, chunk) in samples.chunks(frame).enumerate() {
        let power = chunk.iter().map(|&s| (f64::from(s) / 32768.0).powi(2)).sum::<f64>() / chunk.len() as f64;
        if power <= 0.0 || 10.0 * power.log10() <= threshold_dbfs {
            continue;
        }
        let start = index as i64 * FRAME_MS;
        let end = start + FRAME_MS;
        match sentences.last_mut() {
            Some(last) if start - last.1 < join_ms => last.1 = end,
            _ => sentences.push((start, end)),
        }
    }
    Ok(sentences)
}

/// Returns the sample rate and samples of a 16-bit PCM mono WAV file.
fn pcm16_mono(wav: &[u8]) -> Result<(u32, Vec<i16>), String> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return Err("not a RIFF WAVE file".to_string());
    }
    let mut at = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let size = u32::from_le_bytes([wav[at + 4], wav[at + 5], wav[at + 6], wav[at + 7]]) as usize;
        let body = &wav[at + 8..(at + 8 + size).min(wav.len())];
        if id == b"fmt " && body.len() >= 16 {
            let tag = u16::from_le_bytes([body[0], body[1]]);
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            format = Some((tag, channels, rate, bits));
        }
        if id == b"data" {
            let Some((1, 1, rate, 16)) = format else {
                return Err(format!("expected 16-bit PCM mono, found (tag, channels, rate, bits) {format:?}"));
            };
            let samples = body.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect();
            return Ok((rate, samples));
        }
        at += 8 + size + (size & 1);
    }
    Err("the WAV file has no data chunk".to_string())
}

fn union(spans: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    let mut joined: Vec<(i64, i64)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match joined.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => joined.push((start, end)),
        }
    }
    joined
}

fn contains(sorted: &[(i64, i64)], at: i64) -> bool {
    let index = sorted.partition_point(|&(_, end)| end <= at);
    sorted.get(index).is_some_and(|&(start, _)| start <= at)
}
