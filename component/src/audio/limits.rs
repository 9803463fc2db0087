//! Limits on the recordings the decoder accepts.

/// Longest recording accepted, in milliseconds (4 hours). Voice-bot calls last minutes;
/// the limit bounds the peaks and segments kept per recording (about 30 MB of peaks for
/// 4 h of 8 kHz stereo) and the decoding time a single upload can claim.
pub const MAX_DURATION_MS: u64 = 4 * 60 * 60 * 1000;

/// Most channels decoded: 7.1 surround. Call recordings have one or two.
pub const MAX_CHANNELS: u16 = 8;

/// Lowest sample rate accepted, in Hz. Anything lower cannot carry speech, and such
/// values in a header mean a corrupt file.
pub const MIN_SAMPLE_RATE_HZ: u32 = 1_000;

/// Highest sample rate accepted, in Hz: twice the highest rate studio equipment uses.
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
