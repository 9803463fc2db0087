//! `cargo xtask fixtures`: builds the demo and test calls under `fixtures/calls/`
//! from the recordings and transcripts of the shared corpus.
//!
//! - `sales-call/`: the 120 s two-party sales call, with a Vapi-shaped end-of-call
//!   report made from its Azure fast-transcription result.
//! - `assembled-mulaw/`: a two-channel 8 kHz G.711 mu-law recording assembled from
//!   real read speech, with clips placed at known times so that its pauses, response
//!   latencies and overlap are known exactly (`truth.json`).
//!
//! The output is committed, so tests never need the corpus. Running the generator
//! again reproduces the same bytes.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

/// Recording of the sales call, shared with the audio tests.
const SALES_AUDIO: &str = "azure-speech-sdk__fast-transcription__test_call_audio.wav";
/// Azure fast-transcription result of the sales call, diarized.
const SALES_TRANSCRIPT: &str =
    "azure-speech-sdk__fast-transcription__csharp_transcription_response__diarized.json";
/// Call start of the sales call report. Epoch milliseconds of this instant:
/// 1_715_698_931_000 (`date -u -d 2024-05-14T15:02:11Z +%s%3N`).
const SALES_STARTED_AT: &str = "2024-05-14T15:02:11.000Z";
const SALES_STARTED_AT_MS: i64 = 1_715_698_931_000;
const SALES_ENDED_AT: &str = "2024-05-14T15:04:11.000Z";

/// Read sentences of one speaker: the user's side of the assembled call.
const USER_SOURCE: &str = "joinly__OSR_us_000_0034_8k.wav";
/// Read speech of another speaker: the bot's side of the assembled call.
const BOT_SOURCE: &str = "deepgram-python-sdk__preamble-websocket__8k_mulaw.wav";
const ASSEMBLED_STARTED_AT: &str = "2024-05-14T16:20:00.000Z";
/// Epoch milliseconds of [`ASSEMBLED_STARTED_AT`] (`date -u -d ... +%s%3N`).
const ASSEMBLED_STARTED_AT_MS: i64 = 1_715_703_600_000;

/// Sample rate of both sources and of the assembled recording.
const SAMPLE_RATE: u32 = 8_000;
const SAMPLES_PER_MS: usize = (SAMPLE_RATE / 1000) as usize;
/// Frame length for trimming clips to their speech, in milliseconds.
const TRIM_FRAME_MS: usize = 10;
/// A 10 ms frame louder than this RMS level is speech when trimming a clip. Both
/// sources have a noise floor near -60 dBFS and speech above -40 dBFS.
const TRIM_THRESHOLD_DBFS: f64 = -45.0;
/// Silence before the first clip and after the last one.
const LEAD_SILENCE_MS: i64 = 500;
/// G.711 mu-law code of a zero sample, used for silence.
const MULAW_SILENCE: u8 = 0xFF;
/// Shortest silence listed as a pause in `truth.json`, equal to the analysis
/// default `min_pause_ms`.
const TRUTH_MIN_PAUSE_MS: i64 = 500;

/// Which party speaks a clip of the assembled call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Party {
    User,
    Bot,
}

impl Party {
    fn channel(self) -> u16 {
        match self {
            Party::User => 0,
            Party::Bot => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Party::User => "user",
            Party::Bot => "bot",
        }
    }
}

/// One clip of the assembled call: a window of a source recording that contains one
/// phrase, and where the clip goes relative to the clip before it.
struct ClipPlan {
    party: Party,
    /// Window of the source, in milliseconds, that contains the phrase and nothing
    /// else. The clip is this window trimmed to its first and last loud frame.
    window_ms: (usize, usize),
    text: &'static str,
    /// Milliseconds from the end of the previous clip to the start of this one;
    /// negative when this clip starts before the previous one ends.
    gap_ms: i64,
}

/// The assembled call, in order. Windows were chosen so that no clip has an inner
/// silence of 400 ms or more, so its only pauses are the gaps placed here.
const ASSEMBLED_PLAN: &[ClipPlan] = &[
    ClipPlan {
        party: Party::Bot,
        window_ms: (300, 2_300),
        text: "We, the people of the United States,",
        gap_ms: LEAD_SILENCE_MS,
    },
    ClipPlan {
        party: Party::User,
        window_ms: (1_000, 4_200),
        text: "A gold ring will please most any girl.",
        gap_ms: 700,
    },
    ClipPlan {
        party: Party::Bot,
        window_ms: (2_400, 4_400),
        text: "in order to form a more perfect union,",
        gap_ms: 800,
    },
    ClipPlan {
        party: Party::User,
        window_ms: (4_400, 7_200),
        text: "The long journey home took a year.",
        gap_ms: 650,
    },
    // A pause inside the user's turn.
    ClipPlan {
        party: Party::User,
        window_ms: (7_400, 10_400),
        text: "She saw a cat in the neighbor's house.",
        gap_ms: 1_200,
    },
    // A late bot response.
    ClipPlan {
        party: Party::Bot,
        window_ms: (9_600, 12_700),
        text: "promote the general welfare, and secure the blessings of liberty",
        gap_ms: 3_000,
    },
    ClipPlan {
        party: Party::User,
        window_ms: (10_600, 14_500),
        text: "A pink shell was found on the sandy beach.",
        gap_ms: 750,
    },
    ClipPlan {
        party: Party::Bot,
        window_ms: (14_600, 18_800),
        text: "to ordain and establish this constitution for the United States of America.",
        gap_ms: 700,
    },
    // The user starts talking 700 ms before the bot finishes.
    ClipPlan {
        party: Party::User,
        window_ms: (14_800, 17_300),
        text: "Small children came to see him.",
        gap_ms: -700,
    },
    ClipPlan {
        party: Party::Bot,
        window_ms: (5_900, 7_700),
        text: "ensure domestic tranquility,",
        gap_ms: 850,
    },
    ClipPlan {
        party: Party::User,
        window_ms: (17_500, 20_800),
        text: "The grass and bushes were wet with dew.",
        gap_ms: 800,
    },
];

/// Writes `calls/sales-call/` and `calls/assembled-mulaw/` under `out_dir` (the
/// repository's `fixtures/`), and copies the source recordings they use to
/// `audio/` when they are not there yet.
pub fn run(corpus_dir: &Path, out_dir: &Path) -> anyhow::Result<()> {
    ensure!(
        corpus_dir.join("audio").is_dir(),
        "corpus not found at {}; the fixtures are generated from its audio/ and payloads/ folders",
        corpus_dir.display()
    );
    let audio_dir = out_dir.join("audio");
    fs::create_dir_all(&audio_dir).with_context(|| format!("creating {}", audio_dir.display()))?;
    for name in [SALES_AUDIO, USER_SOURCE, BOT_SOURCE] {
        copy_if_absent(&corpus_dir.join("audio").join(name), &audio_dir.join(name))?;
    }

    sales_call(corpus_dir, &out_dir.join("calls/sales-call"))
        .context("generating the sales-call fixture")?;
    assembled_call(corpus_dir, &out_dir.join("calls/assembled-mulaw"))
        .context("generating the assembled-mulaw fixture")?;
    Ok(())
}

fn copy_if_absent(source: &Path, destination: &Path) -> anyhow::Result<()> {
    if destination.exists() {
        return Ok(());
    }
    fs::copy(source, destination)
        .with_context(|| format!("copying {} to {}", source.display(), destination.display()))?;
    Ok(())
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Builds the sales call's end-of-call report from the Azure transcript: speaker 0
/// (the agent) is the bot, speaker 1 (the customer) the user. Each phrase becomes
/// one message with epoch times from [`SALES_STARTED_AT`], `duration` in
/// milliseconds as captured Vapi payloads carry it, and word times in seconds from
/// the call start.
fn sales_call(corpus_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let transcript_path = corpus_dir.join("payloads").join(SALES_TRANSCRIPT);
    let transcript: Value = serde_json::from_slice(
        &fs::read(&transcript_path)
            .with_context(|| format!("reading {}", transcript_path.display()))?,
    )
    .with_context(|| format!("parsing {}", transcript_path.display()))?;
    let phrases = transcript["phrases"]
        .as_array()
        .with_context(|| format!("{} has no phrases array", transcript_path.display()))?;

    let mut messages = vec![json!({
        "role": "system",
        "message": "You are the sales agent for a cloud platform. Answer questions about pricing and support.",
        "time": SALES_STARTED_AT_MS,
        "secondsFromStart": 0,
    })];
    let mut transcript_lines = Vec::new();

    for (position, phrase) in phrases.iter().enumerate() {
        let number = |key: &str| {
            phrase[key]
                .as_i64()
                .with_context(|| format!("phrase {position} has no integer {key}"))
        };
        let offset_ms = number("offset")?;
        let duration_ms = number("duration")?;
        let speaker = number("speaker")?;
        let text = phrase["text"]
            .as_str()
            .with_context(|| format!("phrase {position} has no text"))?;
        let confidence = phrase["confidence"].as_f64().unwrap_or(1.0);
        let role = match speaker {
            0 => "bot",
            1 => "user",
            other => {
                bail!("phrase {position} has speaker {other}; expected 0 (agent) or 1 (customer)")
            }
        };

        // Azure reports no per-word confidence, so each word carries its phrase's.
        let words: Vec<Value> = phrase["words"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|word| {
                let punctuated = word["text"].as_str()?;
                let start_ms = word["offset"].as_i64()?;
                let end_ms = start_ms + word["duration"].as_i64()?;
                Some(json!({
                    "word": bare_word(punctuated),
                    "punctuated_word": punctuated,
                    "start": seconds(start_ms),
                    "end": seconds(end_ms),
                    "confidence": confidence,
                }))
            })
            .collect();

        messages.push(json!({
            "role": role,
            "message": text,
            "time": SALES_STARTED_AT_MS + offset_ms,
            "endTime": SALES_STARTED_AT_MS + offset_ms + duration_ms,
            "secondsFromStart": seconds(offset_ms),
            "duration": duration_ms,
            "metadata": { "wordLevelConfidence": words },
        }));
        transcript_lines.push(format!(
            "{}: {text}",
            if role == "bot" { "AI" } else { "User" }
        ));
    }

    let report = json!({
        "message": {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "startedAt": SALES_STARTED_AT,
            "endedAt": SALES_ENDED_AT,
            "call": { "id": "fixture-sales-call" },
            "analysis": {},
            "artifact": {
                "messages": messages,
                "transcript": transcript_lines.join("\n"),
                "recording": {
                    "mono": { "combinedUrl": "https://storage.example.com/callscope-fixtures/sales-call/mono.wav" }
                },
            },
            // Not in Vapi's published schema; kept to show that unknown keys survive.
            "fixtureNote": "Built from the Azure fast-transcription sample; see fixtures/README.md",
        }
    });

    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_json(&out.join("report.json"), &report)?;
    write_json(
        &out.join("call.json"),
        &json!({
            "title": "Sales call (Azure sample, 120 s)",
            "payload": "report.json",
            "recording": format!("../../audio/{SALES_AUDIO}"),
            "layout": { "kind": "mixed" },
        }),
    )
}

/// Removes punctuation around a word, as transcribers report the bare `word` next to
/// `punctuated_word`.
fn bare_word(punctuated: &str) -> String {
    punctuated
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// One clip as placed on the assembled recording.
struct PlacedClip<'a> {
    plan: &'a ClipPlan,
    source_start_ms: i64,
    source_end_ms: i64,
    start_ms: i64,
    end_ms: i64,
    samples: Vec<i16>,
}

fn assembled_call(corpus_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let user_source = read_mono_wav(&corpus_dir.join("audio").join(USER_SOURCE))?;
    let bot_source = read_mono_wav(&corpus_dir.join("audio").join(BOT_SOURCE))?;

    let mut placed: Vec<PlacedClip> = Vec::new();
    let mut previous_end_ms = 0i64;
    for plan in ASSEMBLED_PLAN {
        let source = match plan.party {
            Party::User => &user_source,
            Party::Bot => &bot_source,
        };
        let (first, last) = trim_to_speech(source, plan.window_ms).with_context(|| {
            format!(
                "no speech in {:?} of the {} source",
                plan.window_ms,
                plan.party.name()
            )
        })?;
        let samples = source[first..last].to_vec();
        let start_ms = previous_end_ms + plan.gap_ms;
        let length_ms = i64::try_from(samples.len() / SAMPLES_PER_MS)?;
        placed.push(PlacedClip {
            plan,
            source_start_ms: i64::try_from(first / SAMPLES_PER_MS)?,
            source_end_ms: i64::try_from(last / SAMPLES_PER_MS)?,
            start_ms,
            end_ms: start_ms + length_ms,
            samples,
        });
        previous_end_ms = start_ms + length_ms;
    }
    let duration_ms = placed.iter().map(|clip| clip.end_ms).max().unwrap_or(0) + LEAD_SILENCE_MS;

    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    fs::write(
        out.join("recording.wav"),
        assemble_mulaw_wav(&placed, duration_ms)?,
    )
    .with_context(|| format!("writing {}", out.join("recording.wav").display()))?;
    write_json(
        &out.join("report.json"),
        &assembled_report(&placed, duration_ms),
    )?;
    write_json(&out.join("truth.json"), &truth(&placed, duration_ms))?;
    write_json(
        &out.join("call.json"),
        &json!({
            "title": "Assembled mu-law call (8 kHz, user left, bot right)",
            "payload": "report.json",
            "recording": "recording.wav",
            "layout": { "kind": "separate", "user_channel": 0, "bot_channel": 1 },
        }),
    )
}

/// Returns the sample range of `window_ms` from its first to its last 10 ms frame
/// louder than [`TRIM_THRESHOLD_DBFS`].
fn trim_to_speech(samples: &[i16], window_ms: (usize, usize)) -> Option<(usize, usize)> {
    let frame = TRIM_FRAME_MS * SAMPLES_PER_MS;
    let window_start = window_ms.0 * SAMPLES_PER_MS;
    let window_end = (window_ms.1 * SAMPLES_PER_MS).min(samples.len());
    let window = samples.get(window_start..window_end)?;

    let loud: Vec<usize> = window
        .chunks_exact(frame)
        .enumerate()
        .filter(|(_, chunk)| rms_dbfs(chunk) > TRIM_THRESHOLD_DBFS)
        .map(|(index, _)| index)
        .collect();
    let first = *loud.first()?;
    let last = *loud.last()?;
    Some((
        window_start + first * frame,
        window_start + (last + 1) * frame,
    ))
}

fn rms_dbfs(samples: &[i16]) -> f64 {
    let power: f64 = samples
        .iter()
        .map(|&sample| f64::from(sample).powi(2))
        .sum::<f64>()
        / samples.len().max(1) as f64;
    20.0 * (power.sqrt().max(1.0) / 32_768.0).log10()
}

/// Writes the placed clips into a two-channel mu-law WAV of `duration_ms`: user on
/// channel 0, bot on channel 1, digital silence elsewhere.
fn assemble_mulaw_wav(placed: &[PlacedClip], duration_ms: i64) -> anyhow::Result<Vec<u8>> {
    let frames = usize::try_from(duration_ms)? * SAMPLES_PER_MS;
    let mut interleaved = vec![MULAW_SILENCE; frames * 2];
    for clip in placed {
        let first_frame = usize::try_from(clip.start_ms)? * SAMPLES_PER_MS;
        let channel = usize::from(clip.plan.party.channel());
        for (offset, &sample) in clip.samples.iter().enumerate() {
            interleaved[(first_frame + offset) * 2 + channel] = mulaw_encode(sample);
        }
    }
    Ok(mulaw_wav_bytes(&interleaved, 2, SAMPLE_RATE))
}

/// Returns a WAV file of G.711 mu-law samples (format tag 7) with the `fact` chunk
/// that non-PCM WAV files carry.
fn mulaw_wav_bytes(interleaved: &[u8], channels: u16, sample_rate: u32) -> Vec<u8> {
    let data_len = u32::try_from(interleaved.len()).expect("fixture audio is far below 4 GiB");
    let frames = data_len / u32::from(channels);
    let padding = data_len % 2;

    let mut bytes = Vec::with_capacity(interleaved.len() + 64);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(4 + 26 + 12 + 8 + data_len + padding).to_le_bytes());
    bytes.extend_from_slice(b"WAVE");

    bytes.extend_from_slice(b"fmt ");
    bytes.extend_from_slice(&18u32.to_le_bytes());
    bytes.extend_from_slice(&7u16.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&(sample_rate * u32::from(channels)).to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&8u16.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());

    bytes.extend_from_slice(b"fact");
    bytes.extend_from_slice(&4u32.to_le_bytes());
    bytes.extend_from_slice(&frames.to_le_bytes());

    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    bytes.extend_from_slice(interleaved);
    if padding == 1 {
        bytes.push(0);
    }
    bytes
}

/// Encodes one 16-bit sample as G.711 mu-law (ITU-T G.711, with the usual bias of
/// 0x84 and clipping at 32635).
fn mulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;

    let mut value = i32::from(sample);
    let sign = if value < 0 {
        value = -value;
        0x80
    } else {
        0
    };
    value = value.min(CLIP) + BIAS;

    // The segment number is the position of the highest set bit above bit 7;
    // `value` is at most 32767, so it is 7 at most.
    let shifted = (value >> 7) as u32;
    let exponent = if shifted == 0 {
        0
    } else {
        (31 - shifted.leading_zeros()) as i32
    };
    let mantissa = (value >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// Decodes one G.711 mu-law code to a 16-bit sample.
fn mulaw_decode(code: u8) -> i16 {
    let code = !code;
    let sign = code & 0x80;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let value = if sign != 0 { -magnitude } else { magnitude };
    value as i16
}

/// Reads a mono 8 kHz WAV of PCM16 or mu-law samples.
fn read_mono_wav(path: &Path) -> anyhow::Result<Vec<i16>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "{} is not a RIFF WAVE file",
        path.display()
    );

    let mut format: Option<(u16, u16, u32, u16)> = None;
    let mut position = 12;
    while position + 8 <= bytes.len() {
        let id = &bytes[position..position + 4];
        let size = u32::from_le_bytes(bytes[position + 4..position + 8].try_into()?) as usize;
        let body_start = position + 8;
        let body = bytes.get(body_start..body_start + size).with_context(|| {
            format!(
                "{}: chunk {:?} runs past the end",
                path.display(),
                String::from_utf8_lossy(id)
            )
        })?;

        if id == b"fmt " {
            ensure!(
                body.len() >= 16,
                "{}: fmt chunk is {} bytes, expected 16 or more",
                path.display(),
                body.len()
            );
            let tag = u16::from_le_bytes([body[0], body[1]]);
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes(body[4..8].try_into()?);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            format = Some((tag, channels, rate, bits));
        } else if id == b"data" {
            let (tag, channels, rate, bits) = format
                .with_context(|| format!("{}: data chunk before fmt chunk", path.display()))?;
            ensure!(
                channels == 1 && rate == SAMPLE_RATE,
                "{}: {channels} channel(s) at {rate} Hz; expected mono {SAMPLE_RATE} Hz",
                path.display()
            );
            return match (tag, bits) {
                (1, 16) => Ok(body
                    .chunks_exact(2)
                    .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                    .collect()),
                (7, 8) => Ok(body.iter().map(|&code| mulaw_decode(code)).collect()),
                _ => bail!(
                    "{}: format tag {tag} with {bits} bits; expected PCM16 or mu-law",
                    path.display()
                ),
            };
        }
        position = body_start + size + size % 2;
    }
    bail!("{}: no data chunk", path.display())
}

/// Builds the Vapi-shaped report of the assembled call, its message times equal to
/// the placed clip times.
fn assembled_report(placed: &[PlacedClip], duration_ms: i64) -> Value {
    let mut messages = vec![json!({
        "role": "system",
        "message": "You are a voice assistant reading founding documents to the caller.",
        "time": ASSEMBLED_STARTED_AT_MS,
        "secondsFromStart": 0,
    })];
    for clip in placed {
        messages.push(json!({
            "role": clip.plan.party.name(),
            "message": clip.plan.text,
            "time": ASSEMBLED_STARTED_AT_MS + clip.start_ms,
            "endTime": ASSEMBLED_STARTED_AT_MS + clip.end_ms,
            "secondsFromStart": seconds(clip.start_ms),
            "duration": clip.end_ms - clip.start_ms,
        }));
    }

    json!({
        "message": {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "startedAt": ASSEMBLED_STARTED_AT,
            "endedAt": iso_from_offset(ASSEMBLED_STARTED_AT, duration_ms),
            "call": { "id": "fixture-assembled-mulaw" },
            "analysis": {},
            "artifact": {
                "messages": messages,
                "recording": {
                    "stereoUrl": "https://storage.example.com/callscope-fixtures/assembled-mulaw/stereo.wav"
                },
            },
        }
    })
}

/// Returns `base` (`...T16:20:00.000Z`, whole minutes) moved forward by `offset_ms`
/// within the same hour.
fn iso_from_offset(base: &str, offset_ms: i64) -> String {
    let minutes = offset_ms / 60_000;
    let seconds = (offset_ms / 1000) % 60;
    let millis = offset_ms % 1000;
    let base_minutes: i64 = base[14..16].parse().unwrap_or(0);
    format!(
        "{}{:02}:{seconds:02}.{millis:03}Z",
        &base[..14],
        base_minutes + minutes
    )
}

/// Lists the placed clips and the pauses, response latencies and overlap that
/// follow from their times.
fn truth(placed: &[PlacedClip], duration_ms: i64) -> Value {
    let clips: Vec<Value> = placed
        .iter()
        .map(|clip| {
            json!({
                "channel": clip.plan.party.channel(),
                "speaker": clip.plan.party.name(),
                "start_ms": clip.start_ms,
                "end_ms": clip.end_ms,
                "text": clip.plan.text,
                "source": match clip.plan.party { Party::User => USER_SOURCE, Party::Bot => BOT_SOURCE },
                "source_start_ms": clip.source_start_ms,
                "source_end_ms": clip.source_end_ms,
            })
        })
        .collect();

    let mut pauses = Vec::new();
    let mut latencies = Vec::new();
    let mut overlaps = Vec::new();
    for pair in placed.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let gap = after.start_ms - before.end_ms;
        if gap >= TRUTH_MIN_PAUSE_MS {
            let kind = if before.plan.party == after.plan.party {
                "within-turn"
            } else {
                "between-speakers"
            };
            pauses.push(json!({
                "start_ms": before.end_ms,
                "end_ms": after.start_ms,
                "duration_ms": gap,
                "kind": kind,
                "speaker": before.plan.party.name(),
            }));
        }
        if gap < 0 {
            overlaps.push(json!({
                "start_ms": after.start_ms,
                "end_ms": before.end_ms.min(after.end_ms),
                "duration_ms": before.end_ms.min(after.end_ms) - after.start_ms,
                "interrupter": after.plan.party.name(),
            }));
        }
        if before.plan.party == Party::User && after.plan.party == Party::Bot {
            latencies.push(json!({
                "user_end_ms": before.end_ms,
                "bot_start_ms": after.start_ms,
                "latency_ms": gap,
            }));
        }
    }

    json!({
        "description": "Clips of real read speech placed at known times; times in ms from the recording start",
        "sample_rate": SAMPLE_RATE,
        "encoding": "mulaw",
        "duration_ms": duration_ms,
        "layout": { "kind": "separate", "user_channel": 0, "bot_channel": 1 },
        "min_pause_ms": TRUTH_MIN_PAUSE_MS,
        "clips": clips,
        "pauses": pauses,
        "latencies": latencies,
        "overlaps": overlaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulaw_round_trips_every_code() {
        for code in 0..=255u8 {
            let decoded = mulaw_decode(code);
            let reencoded = mulaw_encode(decoded);
            // 0x7F and 0xFF both decode to zero; zero encodes as 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(reencoded, expected, "code {code:#04x} decoded to {decoded}");
        }
    }

    #[test]
    fn mulaw_zero_is_silence_code() {
        assert_eq!(mulaw_encode(0), MULAW_SILENCE);
    }

    #[test]
    fn mulaw_extremes() {
        assert_eq!(mulaw_decode(0x80), 32_124);
        assert_eq!(mulaw_decode(0x00), -32_124);
    }

    #[test]
    fn trim_finds_loud_frames() {
        let mut samples = vec![0i16; 8_000];
        for sample in &mut samples[2_400..4_000] {
            *sample = 8_000;
        }
        assert_eq!(trim_to_speech(&samples, (0, 1_000)), Some((2_400, 4_000)));
    }

    #[test]
    fn iso_offset_adds_minutes_and_millis() {
        assert_eq!(
            iso_from_offset("2024-05-14T16:20:00.000Z", 94_250),
            "2024-05-14T16:21:34.250Z"
        );
    }

    #[test]
    fn bare_word_strips_punctuation() {
        assert_eq!(bare_word("neighbor's,"), "neighbor's");
        assert_eq!(bare_word("Good."), "good");
    }

    /// Regenerates the fixtures into a scratch folder and compares them with the
    /// committed ones. Skipped when the corpus is not next to the repository.
    #[test]
    fn generated_fixtures_match_committed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask is inside the workspace");
        let corpus = root.join("../shared/corpus");
        if !corpus.join("audio").is_dir() {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        }
        let scratch =
            std::env::temp_dir().join(format!("callscope-fixtures-{}", std::process::id()));
        let _ = fs::remove_dir_all(&scratch);
        run(&corpus, &scratch).expect("generating fixtures");

        for file in [
            "calls/sales-call/report.json",
            "calls/sales-call/call.json",
            "calls/assembled-mulaw/report.json",
            "calls/assembled-mulaw/truth.json",
            "calls/assembled-mulaw/call.json",
            "calls/assembled-mulaw/recording.wav",
        ] {
            let generated = fs::read(scratch.join(file)).expect("generated file");
            let committed = fs::read(root.join("fixtures").join(file)).unwrap_or_default();
            assert!(
                generated == committed,
                "{file} differs from the committed fixture; run `cargo xtask fixtures`"
            );
        }
        let _ = fs::remove_dir_all(&scratch);
    }
}
