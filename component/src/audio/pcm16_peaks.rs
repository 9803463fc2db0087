//! The waveform peaks of raw 16-bit PCM alone, for audio that needs a waveform and none
//! of the other measurements of a [`Recording`](super::Recording): no container
//! parsing, speech detection, levels or playback transcode.

use callscope_api_types::audio::PeaksLevel;

use super::limits::MAX_CHANNELS;
use super::peaks::PeaksBuilder;
use super::{AudioError, check_layout, max_frames, too_long};

/// Bytes of the longest frame: eight channels of two bytes.
const MAX_FRAME_BYTES: usize = 2 * MAX_CHANNELS as usize;

/// A peaks pyramid fed interleaved 16-bit little-endian samples in chunks of any size.
pub struct Pcm16Peaks {
    /// The builder, or why the channel count or sample rate was rejected; `None` after
    /// `finish`.
    builder: Option<Result<PeaksBuilder, AudioError>>,
    sample_rate: u32,
    frame_bytes: usize,
    /// The start of a frame that the previous chunk ended in.
    carry: [u8; MAX_FRAME_BYTES],
    carry_len: usize,
    /// Samples of the chunk being added, reused across chunks.
    samples: Vec<i16>,
    frames: u64,
    max_frames: u64,
}

impl Pcm16Peaks {
    /// Starts the peaks of `channels` interleaved channels sampled at `sample_rate` Hz.
    /// An invalid channel count or rate is returned by the first [`Self::push`] or
    /// [`Self::finish`].
    pub fn new(channels: u16, sample_rate: u32) -> Self {
        let builder = check_layout(channels, sample_rate).map(|()| PeaksBuilder::new(channels, sample_rate));
        Self {
            builder: Some(builder),
            sample_rate,
            frame_bytes: 2 * usize::from(channels),
            carry: [0; MAX_FRAME_BYTES],
            carry_len: 0,
            samples: Vec::new(),
            frames: 0,
            max_frames: max_frames(sample_rate),
        }
    }

    /// Adds the next bytes; a frame may continue in the next chunk.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<(), AudioError> {
        let builder = match &mut self.builder {
            Some(Ok(builder)) => builder,
            Some(Err(error)) => return Err(error.clone()),
            None => return Err(AudioError::Finished),
        };

        self.samples.clear();
        if self.carry_len > 0 {
            let taken = (self.frame_bytes - self.carry_len).min(chunk.len());
            self.carry[self.carry_len..self.carry_len + taken].copy_from_slice(&chunk[..taken]);
            self.carry_len += taken;
            chunk = &chunk[taken..];
            if self.carry_len < self.frame_bytes {
                return Ok(());
            }
            append_samples(&self.carry[..self.frame_bytes], &mut self.samples);
            self.carry_len = 0;
        }

        let whole = chunk.len() - chunk.len() % self.frame_bytes;
        let (frames, rest) = chunk.split_at(whole);
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();

        self.frames += ((self.samples.len() * 2 + frames.len()) / self.frame_bytes) as u64;
        if self.frames > self.max_frames {
            let error = too_long(self.frames, self.sample_rate, "contains at least");
            self.builder = Some(Err(error.clone()));
            return Err(error);
        }

        builder.add_interleaved(&self.samples);
        match as_samples(frames) {
            Some(samples) => builder.add_interleaved(samples),
            None => {
                self.samples.clear();
                append_samples(frames, &mut self.samples);
                builder.add_interleaved(&self.samples);
            }
        }
        Ok(())
    }

    /// Returns the pyramid, finest level first. A partial frame at the end is dropped.
    pub fn finish(&mut self) -> Result<Vec<PeaksLevel>, AudioError> {
        match self.builder.take() {
            Some(Ok(builder)) => Ok(builder.finish()),
            Some(Err(error)) => {
                self.builder = Some(Err(error.clone()));
                Err(error)
            }
            None => Err(AudioError::Finished),
        }
    }
}

/// Returns little-endian 16-bit samples in place, without a copy, where the target is
/// little-endian and the bytes are aligned for `i16` (as a Vec's buffer is).
fn as_samples(bytes: &[u8]) -> Option<&[i16]> {
    if cfg!(target_endian = "big") {
        return None;
    }
    // SAFETY: every bit pattern is a valid `i16`, and `align_to` only returns the
    // aligned middle part as `i16`.
    let (head, samples, tail) = unsafe { bytes.align_to::<i16>() };
    (head.is_empty() && tail.is_empty()).then_some(samples)
}

/// Appends little-endian 16-bit samples.
fn append_samples(bytes: &[u8], samples: &mut Vec<i16>) {
    let start = samples.len();
    samples.resize(start + bytes.len() / 2, 0);
    for (sample, pair) in samples[start..].iter_mut().zip(bytes.chunks_exact(2)) {
        *sample = i16::from_le_bytes([pair[0], pair[1]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm16_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|sample| sample.to_le_bytes()).collect()
    }

    #[test]
    fn chunks_split_mid_frame_match_one_push() {
        let samples: Vec<i16> = (0..5000).map(|n| ((n * 7919) % 65536 - 32768) as i16).collect();
        let bytes = pcm16_bytes(&samples);

        let mut whole = Pcm16Peaks::new(2, 8000);
        whole.push(&bytes).expect("push");
        let expected = whole.finish().expect("finish");

        let mut split = Pcm16Peaks::new(2, 8000);
        for chunk in bytes.chunks(3) {
            split.push(chunk).expect("push");
        }
        assert_eq!(split.finish().expect("finish"), expected);
    }

    #[test]
    fn finest_level_holds_min_and_max_per_channel() {
        // 8 kHz: 64 frames a pixel. Left rises 0..64, right falls 0..-64.
        let samples: Vec<i16> = (0..64).flat_map(|n| [n, -n]).collect();
        let mut peaks = Pcm16Peaks::new(2, 8000);
        peaks.push(&pcm16_bytes(&samples)).expect("push");
        let levels = peaks.finish().expect("finish");
        assert_eq!(levels[0].samples_per_pixel, 64);
        assert_eq!(levels[0].data, vec![0, 63, -63, 0]);
    }

    #[test]
    fn zero_channels_rejected_on_push() {
        let mut peaks = Pcm16Peaks::new(0, 8000);
        let error = peaks.push(&[0, 0]).expect_err("0 channels");
        assert!(matches!(error, AudioError::InvalidAudio(ref message) if message.contains("0 channels")), "{error}");
    }

    #[test]
    fn zero_sample_rate_rejected_on_finish() {
        let mut peaks = Pcm16Peaks::new(1, 0);
        let error = peaks.finish().expect_err("0 Hz");
        assert!(matches!(error, AudioError::InvalidAudio(ref message) if message.contains("0 Hz")), "{error}");
    }

    #[test]
    fn push_after_finish_fails() {
        let mut peaks = Pcm16Peaks::new(1, 8000);
        peaks.finish().expect("finish");
        assert_eq!(peaks.push(&[0, 0]), Err(AudioError::Finished));
        assert_eq!(peaks.finish(), Err(AudioError::Finished));
    }

    #[test]
    fn length_beyond_limit_rejected() {
        // 1 kHz mono: the 4 h limit is 14.4 million frames.
        let mut peaks = Pcm16Peaks::new(1, 1000);
        let chunk = vec![0u8; 2 << 20];
        let mut result = Ok(());
        for _ in 0..14 {
            result = peaks.push(&chunk);
        }
        let error = result.expect_err("over 4 h");
        assert!(matches!(error, AudioError::TooLarge(_)), "{error}");
        assert!(matches!(peaks.finish(), Err(AudioError::TooLarge(_))));
    }
}
