//! Browser-playable PCM16 transcoding of sources that browsers do not play (G.711).

use super::AudioError;

/// Size of the canonical PCM WAV header that [`wav_header`] writes.
pub const WAV_HEADER_BYTES: usize = 44;

/// Appends interleaved 16-bit samples as little-endian bytes.
pub fn push_pcm16(samples: &[i16], output: &mut Vec<u8>) {
    if cfg!(target_endian = "little") {
        // SAFETY: every byte of an `i16` is initialised, and any value is a valid `u8`.
        // `align_to` to `u8` returns the whole slice as its middle part.
        let (head, bytes, tail) = unsafe { samples.align_to::<u8>() };
        debug_assert!(head.is_empty() && tail.is_empty());
        // On a little-endian target the samples' memory is their little-endian bytes:
        // one copy, without filling the output with zeros first.
        output.extend_from_slice(bytes);
        return;
    }
    let start = output.len();
    output.resize(start + samples.len() * 2, 0);
    for (bytes, sample) in output[start..].chunks_exact_mut(2).zip(samples) {
        bytes.copy_from_slice(&sample.to_le_bytes());
    }
}

/// Builds the 44-byte header of a PCM16 WAV file whose data is `frames` frames.
pub fn wav_header(sample_rate: u32, channels: u16, frames: u64) -> Result<Vec<u8>, AudioError> {
    let block_align = u32::from(channels) * 2;
    let data_bytes = frames
        .checked_mul(u64::from(block_align))
        .and_then(|bytes| u32::try_from(bytes).ok())
        .filter(|bytes| *bytes <= u32::MAX - 36)
        .ok_or_else(|| {
            AudioError::TooLarge(format!(
                "the PCM16 playback copy of {frames} frames of {channels} channels exceeds the 4 GiB \
                 WAV size limit; split the recording"
            ))
        })?;

    let mut header = Vec::with_capacity(WAV_HEADER_BYTES);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    header.extend_from_slice(b"WAVE");
    header.extend_from_slice(b"fmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&channels.to_le_bytes());
    header.extend_from_slice(&sample_rate.to_le_bytes());
    header.extend_from_slice(&(sample_rate * block_align).to_le_bytes());
    header.extend_from_slice(&(block_align as u16).to_le_bytes());
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_bytes.to_le_bytes());
    Ok(header)
}
