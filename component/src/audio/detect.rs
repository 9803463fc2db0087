//! Container detection from the first bytes of a file.

use super::AudioError;

/// Bytes needed to tell the supported containers apart: the 12-byte RIFF/WAVE header.
pub const DETECT_BYTES: usize = 12;

/// A container this version decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// RIFF/WAVE with PCM, float or G.711 samples.
    Wav,
    /// MPEG audio layer III, optionally behind ID3v2 tags.
    Mp3,
    /// Native FLAC (`fLaC` marker).
    Flac,
    /// Ogg; only an Opus stream inside it is decoded.
    Ogg,
}

/// Returns the container that the first [`DETECT_BYTES`] bytes of a file start.
pub fn detect(head: &[u8]) -> Result<Container, AudioError> {
    if head.starts_with(b"RIFF") || head.starts_with(b"RIFX") || head.starts_with(b"RF64") || head.starts_with(b"BW64") {
        // The WAV parser reports the RIFF variants it does not decode by name.
        return Ok(Container::Wav);
    }
    if head.starts_with(b"ID3") || is_mpeg_layer3_sync(head) {
        return Ok(Container::Mp3);
    }
    if head.starts_with(b"fLaC") {
        return Ok(Container::Flac);
    }
    if head.starts_with(b"OggS") {
        return Ok(Container::Ogg);
    }

    Err(AudioError::Unsupported(format!(
        "the recording's first bytes {:02x?} match no supported container; upload WAV, MP3, FLAC or \
         Ogg/Opus",
        &head[..head.len().min(DETECT_BYTES)]
    )))
}

/// Returns the error for an input that ended before detection had enough bytes.
pub fn too_short(head: &[u8]) -> AudioError {
    if head.is_empty() {
        return AudioError::InvalidAudio("the recording is empty (0 bytes received); upload an audio file".into());
    }
    if b"RIFF".starts_with(&head[..head.len().min(4)]) {
        return AudioError::InvalidAudio(format!(
            "the WAV file ended after {} bytes, before the fmt chunk; the file is truncated or not a WAV file",
            head.len()
        ));
    }
    match detect(head) {
        Ok(_) => AudioError::InvalidAudio(format!(
            "the recording is only {} bytes long, shorter than any container header; the upload is \
             truncated",
            head.len()
        )),
        Err(error) => error,
    }
}

/// Whether the bytes start with an MPEG audio frame header of layer III: an 11-bit sync,
/// a valid version and layer bits `01`.
fn is_mpeg_layer3_sync(head: &[u8]) -> bool {
    if head.len() < 2 {
        return false;
    }
    let version_bits = (head[1] >> 3) & 0b11;
    let layer_bits = (head[1] >> 1) & 0b11;
    head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && version_bits != 0b01 && layer_bits == 0b01
}
