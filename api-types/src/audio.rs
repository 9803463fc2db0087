//! Facts about a recording: its format, where each channel has speech, its levels and
//! its waveform peaks.

use serde::{Deserialize, Serialize};

/// Sample encoding of a recording as stored in its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioEncoding {
    Pcm8,
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
    Mulaw,
    Alaw,
    /// MPEG audio layer III.
    Mp3,
    Flac,
    /// Opus in an Ogg container.
    Opus,
}

impl AudioEncoding {
    /// Every encoding the component decodes.
    pub const ALL: [AudioEncoding; 10] = [
        AudioEncoding::Pcm8,
        AudioEncoding::Pcm16,
        AudioEncoding::Pcm24,
        AudioEncoding::Pcm32,
        AudioEncoding::Float32,
        AudioEncoding::Mulaw,
        AudioEncoding::Alaw,
        AudioEncoding::Mp3,
        AudioEncoding::Flac,
        AudioEncoding::Opus,
    ];

    /// Returns the name used in JSON, such as `mulaw`.
    pub fn name(self) -> &'static str {
        match self {
            AudioEncoding::Pcm8 => "pcm8",
            AudioEncoding::Pcm16 => "pcm16",
            AudioEncoding::Pcm24 => "pcm24",
            AudioEncoding::Pcm32 => "pcm32",
            AudioEncoding::Float32 => "float32",
            AudioEncoding::Mulaw => "mulaw",
            AudioEncoding::Alaw => "alaw",
            AudioEncoding::Mp3 => "mp3",
            AudioEncoding::Flac => "flac",
            AudioEncoding::Opus => "opus",
        }
    }

    /// Whether common browsers play a file of this encoding as uploaded. G.711 WAV is
    /// not played by Chromium or Firefox, so it is transcoded to PCM16 for playback;
    /// MP3, FLAC and Ogg/Opus play in Chromium and Firefox and are served as uploaded.
    pub fn browser_playable(self) -> bool {
        !matches!(self, AudioEncoding::Mulaw | AudioEncoding::Alaw)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioFormat {
    pub encoding: AudioEncoding,
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample in the file; 0 for lossy codecs (MP3, Opus), which have none.
    pub bits_per_sample: u16,
    /// Sample frames (one sample per channel) actually decoded.
    pub frames: u64,
    pub duration_ms: i64,
}

/// A stretch of time on the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Speech found on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelActivity {
    pub channel: u16,
    pub speech: Vec<Segment>,
}

/// Level statistics of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelLevels {
    pub channel: u16,
    /// Largest absolute sample, 0.0 to 1.0 of full scale.
    pub peak: f32,
    /// Root mean square level in dBFS; -inf is reported as -120.
    pub rms_dbfs: f32,
    /// Samples at or within one step of full scale.
    pub clipped_samples: u64,
}

/// One level of the peaks pyramid: for every `samples_per_pixel` frames, the minimum
/// and maximum sample of each channel as signed 16-bit values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeaksLevel {
    pub samples_per_pixel: u32,
    pub channels: u16,
    /// Interleaved `[min, max]` per channel per pixel:
    /// `pixel * channels * 2 + channel * 2 + {0 = min, 1 = max}`.
    pub data: Vec<i16>,
}

impl PeaksLevel {
    pub fn pixels(&self) -> usize {
        let per_pixel = usize::from(self.channels) * 2;
        if per_pixel == 0 { 0 } else { self.data.len() / per_pixel }
    }
}

/// What decoding a whole recording produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioSummary {
    pub format: AudioFormat,
    pub activity: Vec<ChannelActivity>,
    pub levels: Vec<ChannelLevels>,
    /// Finest level first; each next level doubles `samples_per_pixel`.
    pub peaks: Vec<PeaksLevel>,
    /// A PCM16 WAV header matching the playback bytes returned while decoding, when the
    /// source is not browser-playable; `None` when the source itself is served.
    pub playback_wav_header: Option<Vec<u8>>,
    /// Suspicious facts about the file that did not stop decoding, such as a sample
    /// rate that differs from the one the call payload claims.
    #[serde(default)]
    pub findings: Vec<crate::Finding>,
}

#[cfg(test)]
mod tests {
    use super::AudioEncoding;

    #[test]
    fn encoding_names_match_their_json() {
        for encoding in AudioEncoding::ALL {
            let json = serde_json::to_string(&encoding).unwrap();
            assert_eq!(json, format!("\"{}\"", encoding.name()));
        }
    }
}
