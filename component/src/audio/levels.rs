//! Streaming level statistics per channel: peak, RMS and clipped-sample count.

use callscope_api_types::audio::ChannelLevels;

use super::block::SampleBlock;

/// Partial results in [`sum_of_squares`] and [`peak_magnitude`]: independent
/// accumulators let the operations overlap and vectorise, where one running value waits
/// for each operation in turn.
const PARTIAL_SUMS: usize = 8;

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

    /// Measures a block of frames, one channel at a time.
    pub fn add_block(&mut self, block: &SampleBlock) {
        for (channel, accumulator) in self.channels.iter_mut().enumerate() {
            let samples = block.channel(channel);
            accumulator.peak = accumulator.peak.max(peak_magnitude(samples));
            accumulator.sum_of_squares += sum_of_squares(samples);
            accumulator.clipped_samples += block.clipped(channel);
        }
        self.frames += block.frames() as u64;
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

/// Returns the largest sample magnitude, 0 for no samples. The maximum is exact in any
/// order, so partial maxima give the same result as one pass. It is a compare and
/// select rather than `f32::max`, which is a call to `fmaxf` on wasm; decoded samples
/// are never NaN.
fn peak_magnitude(samples: &[f32]) -> f32 {
    let larger = |peak: f32, value: f32| if value > peak { value } else { peak };
    let mut partial = [0.0f32; PARTIAL_SUMS];
    let mut groups = samples.chunks_exact(PARTIAL_SUMS);
    for group in &mut groups {
        for (peak, &sample) in partial.iter_mut().zip(group) {
            *peak = larger(*peak, sample.abs());
        }
    }
    let rest = groups.remainder().iter().fold(0.0f32, |peak, sample| larger(peak, sample.abs()));
    partial.iter().fold(rest, |peak, &value| larger(peak, value))
}

/// Returns the sum of the squared samples, in double precision. The squares of f32
/// values are exact in f64; only the order of the additions differs from a running sum.
pub(crate) fn sum_of_squares(samples: &[f32]) -> f64 {
    let mut partial = [0.0f64; PARTIAL_SUMS];
    // Four groups per iteration: in wasmtime every loop iteration checks the epoch
    // deadline, and Cranelift keeps the partial sums in memory across it.
    let mut groups = samples.chunks_exact(4 * PARTIAL_SUMS);
    for group in &mut groups {
        for quarter in group.chunks_exact(PARTIAL_SUMS) {
            for (sum, &sample) in partial.iter_mut().zip(quarter) {
                *sum += f64::from(sample) * f64::from(sample);
            }
        }
    }
    let mut groups = groups.remainder().chunks_exact(PARTIAL_SUMS);
    for group in &mut groups {
        for (sum, &sample) in partial.iter_mut().zip(group) {
            *sum += f64::from(sample) * f64::from(sample);
        }
    }
    let rest: f64 = groups.remainder().iter().map(|&sample| f64::from(sample) * f64::from(sample)).sum();
    partial.iter().sum::<f64>() + rest
}
