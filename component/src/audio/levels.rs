//! Streaming level statistics per channel: peak, RMS and clipped-sample count.

use callscope_api_types::audio::ChannelLevels;

/// Level reported for a channel with no signal energy, in place of minus infinity.
pub const SILENCE_DBFS: f32 = -120.0;

#[derive(Debug, Clone, Default)]
struct ChannelAccumulator {
    peak: f32,
    sum_of_squares: f64,
    clipped_samples: u64,
}

#[derive(Debug)]
pub struct LevelMeter {
    channels: Vec<ChannelAccumulator>,
    frames: u64,
}

impl LevelMeter {
    pub fn new(channels: u16) -> Self {
        Self { channels: vec![ChannelAccumulator::default(); usize::from(channels)], frames: 0 }
    }

    pub fn add_frame(&mut self, samples: &[f32], clipped: &[bool]) {
        for ((accumulator, &sample), &is_clipped) in self.channels.iter_mut().zip(samples).zip(clipped) {
            accumulator.peak = accumulator.peak.max(sample.abs());
            accumulator.sum_of_squares += f64::from(sample) * f64::from(sample);
            accumulator.clipped_samples += u64::from(is_clipped);
        }
        self.frames += 1;
    }

    /// Returns the levels of every channel. RMS is relative to a full-scale square wave,
    /// so a full-scale sine reads -3 dBFS.
    pub fn levels(&self) -> Vec<ChannelLevels> {
        self.channels
            .iter()
            .enumerate()
            .map(|(channel, accumulator)| {
                let mean_square = if self.frames == 0 { 0.0 } else { accumulator.sum_of_squares / self.frames as f64 };
                let rms_dbfs = if mean_square > 0.0 {
                    ((10.0 * mean_square.log10()) as f32).max(SILENCE_DBFS)
                } else {
                    SILENCE_DBFS
                };

                ChannelLevels {
                    channel: channel as u16,
                    peak: accumulator.peak.min(1.0),
                    rms_dbfs,
                    clipped_samples: accumulator.clipped_samples,
                }
            })
            .collect()
    }
}
