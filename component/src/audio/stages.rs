//! Time spent in each stage of decoding a recording, for the benchmark's breakdown.
//!
//! Measured natively only: in wasm the clock would need an import the component does
//! not have, so [`StageClock::time`] there runs the work untimed.

use std::time::Duration;

/// Time spent in each stage while a [`Recording`](super::Recording) decoded, summed
/// over every channel and block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Container parsing and sample decoding (WAV, G.711, PCM, compressed codecs) into
    /// blocks: the time of every `push` and `finish` less the stages below.
    pub decode: Duration,
    /// Conversion of each channel to the 16 kHz rate of the speech detector.
    pub resample: Duration,
    /// Speech detection on the 16 kHz samples: earshot, the energy edges and the segments.
    pub speech: Duration,
    /// Level statistics and the peaks pyramid.
    pub levels_and_peaks: Duration,
    /// The PCM16 playback transcode of sources that browsers do not play.
    pub transcode: Duration,
}

impl StageTimes {
    /// Returns the sum of the stages that [`StageClock`] times, all but `decode`.
    pub fn measured(&self) -> Duration {
        self.resample + self.speech + self.levels_and_peaks + self.transcode
    }
}

/// A stage that [`StageClock`] times.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Resample,
    Speech,
    LevelsAndPeaks,
    Transcode,
}

/// Sums the time of each stage while enabled.
#[derive(Debug, Default)]
pub struct StageClock {
    enabled: bool,
    times: StageTimes,
}

impl StageClock {
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// Runs `work`, adding its time to `stage` when the clock is enabled.
    #[inline(always)]
    pub fn time<T>(&mut self, stage: Stage, work: impl FnOnce() -> T) -> T {
        #[cfg(not(target_arch = "wasm32"))]
        if self.enabled {
            let started = std::time::Instant::now();
            let result = work();
            let elapsed = started.elapsed();
            let slot = match stage {
                Stage::Resample => &mut self.times.resample,
                Stage::Speech => &mut self.times.speech,
                Stage::LevelsAndPeaks => &mut self.times.levels_and_peaks,
                Stage::Transcode => &mut self.times.transcode,
            };
            *slot += elapsed;
            return result;
        }
        let _ = stage;
        work()
    }
}
