//! A call recorded as two mono files, one per party, analysed as one two-channel
//! recording.
//!
//! The host decodes each file with its own [`Recording`](super::Recording) and passes
//! both summaries to [`combine_parties`]. The result has the user on channel 0 and the bot
//! on channel 1, so the analysis takes it with a separate-channels layout (user 0, bot 1)
//! and the widget draws two waveforms from its peaks. Both files are assumed to start at
//! the same moment of the call; playback stays per file.

use callscope_api_types::Finding;
use callscope_api_types::audio::{AudioFormat, AudioSummary, ChannelActivity, ChannelLevels, PeaksLevel, Segment};

use super::AudioError;

/// Channel of the combined summary that carries the user's file.
pub const USER_CHANNEL: u16 = 0;

/// Channel of the combined summary that carries the bot's file.
pub const BOT_CHANNEL: u16 = 1;

/// Durations further apart than this suggest the two files do not cover the same span of
/// the call, in milliseconds.
pub const DURATION_MISMATCH_MS: i64 = 1000;

/// Finding code for per-party files whose durations differ by more than
/// [`DURATION_MISMATCH_MS`].
pub const FINDING_PARTY_DURATIONS_DIFFER: &str = "party-durations-differ";

/// Finding code for a per-party file with more than one channel, of which only channel 0
/// is used.
pub const FINDING_PARTY_NOT_MONO: &str = "party-file-not-mono";

/// Combines the summaries of the user's and the bot's file into one two-channel summary.
/// Both must have the same sample rate, because their peaks are merged pixel by pixel.
pub fn combine_parties(user: &AudioSummary, bot: &AudioSummary) -> Result<AudioSummary, AudioError> {
    if user.format.sample_rate != bot.format.sample_rate {
        return Err(AudioError::Unsupported(format!(
            "the user file is sampled at {} Hz and the bot file at {} Hz; per-party files are combined \
             only at one rate, resample one of them",
            user.format.sample_rate, bot.format.sample_rate
        )));
    }

    let mut findings = user.findings.clone();
    findings.extend(bot.findings.iter().cloned());
    for (party, summary) in [("user", user), ("bot", bot)] {
        if summary.format.channels != 1 {
            findings.push(Finding {
                code: FINDING_PARTY_NOT_MONO.into(),
                path: String::new(),
                message: format!(
                    "the {party} file has {} channels; only its channel 0 is used",
                    summary.format.channels
                ),
            });
        }
    }
    let difference = (user.format.duration_ms - bot.format.duration_ms).abs();
    if difference > DURATION_MISMATCH_MS {
        findings.push(Finding {
            code: FINDING_PARTY_DURATIONS_DIFFER.into(),
            path: String::new(),
            message: format!(
                "the user file lasts {} ms and the bot file {} ms; if they do not start at the same moment, \
                 latencies and overlaps between them are wrong",
                user.format.duration_ms, bot.format.duration_ms
            ),
        });
    }

    let frames = user.format.frames.max(bot.format.frames);
    Ok(AudioSummary {
        format: AudioFormat {
            encoding: user.format.encoding,
            sample_rate: user.format.sample_rate,
            channels: 2,
            bits_per_sample: user.format.bits_per_sample,
            frames,
            duration_ms: user.format.duration_ms.max(bot.format.duration_ms),
        },
        activity: vec![
            ChannelActivity { channel: USER_CHANNEL, speech: first_activity(user) },
            ChannelActivity { channel: BOT_CHANNEL, speech: first_activity(bot) },
        ],
        levels: vec![first_levels(user, USER_CHANNEL), first_levels(bot, BOT_CHANNEL)],
        peaks: combine_peaks(&user.peaks, &bot.peaks),
        playback_wav_header: None,
        findings,
    })
}

fn first_activity(summary: &AudioSummary) -> Vec<Segment> {
    summary.activity.iter().find(|activity| activity.channel == 0).map(|activity| activity.speech.clone()).unwrap_or_default()
}

fn first_levels(summary: &AudioSummary, channel: u16) -> ChannelLevels {
    let levels = summary.levels.iter().find(|levels| levels.channel == 0);
    ChannelLevels {
        channel,
        peak: levels.map_or(0.0, |levels| levels.peak),
        rms_dbfs: levels.map_or(super::levels::SILENCE_DBFS, |levels| levels.rms_dbfs),
        clipped_samples: levels.map_or(0, |levels| levels.clipped_samples),
    }
}

/// Interleaves channel 0 of both pyramids level by level. The shorter file's pyramid has
/// fewer levels, so its coarsest level is merged further until both reach the same
/// depth, and its pixels past its end are silence (0, 0).
fn combine_peaks(user: &[PeaksLevel], bot: &[PeaksLevel]) -> Vec<PeaksLevel> {
    let depth = user.len().max(bot.len());
    let user = channel_zero_levels(user, depth);
    let bot = channel_zero_levels(bot, depth);

    user.iter()
        .zip(&bot)
        .map(|((samples_per_pixel, user), (_, bot))| {
            let pixels = user.len().max(bot.len()) / 2;
            let mut data = Vec::with_capacity(pixels * 4);
            for pixel in 0..pixels {
                data.extend_from_slice(user.get(pixel * 2..pixel * 2 + 2).unwrap_or(&[0, 0]));
                data.extend_from_slice(bot.get(pixel * 2..pixel * 2 + 2).unwrap_or(&[0, 0]));
            }
            PeaksLevel { samples_per_pixel: *samples_per_pixel, channels: 2, data }
        })
        .collect()
}

/// Returns `(samples_per_pixel, [min, max] per pixel)` of channel 0 for `depth` levels,
/// merging pixel pairs of the coarsest level to make the missing ones.
fn channel_zero_levels(levels: &[PeaksLevel], depth: usize) -> Vec<(u32, Vec<i16>)> {
    let mut result: Vec<(u32, Vec<i16>)> = levels
        .iter()
        .map(|level| {
            let width = usize::from(level.channels) * 2;
            let data = if width == 0 { Vec::new() } else { level.data.chunks_exact(width).flat_map(|pixel| [pixel[0], pixel[1]]).collect() };
            (level.samples_per_pixel, data)
        })
        .collect();

    while result.len() < depth {
        let Some((samples_per_pixel, finer)) = result.last() else { break };
        let coarser = finer
            .chunks(4)
            .flat_map(|pair| {
                let min = pair.iter().step_by(2).copied().min().unwrap_or(0);
                let max = pair.iter().skip(1).step_by(2).copied().max().unwrap_or(0);
                [min, max]
            })
            .collect();
        result.push((samples_per_pixel.saturating_mul(2), coarser));
    }
    result
}
