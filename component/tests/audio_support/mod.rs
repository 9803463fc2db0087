//! Helpers shared by the audio tests: fixture loading and WAV files built in memory.
#![allow(dead_code)]

use callscope_api_types::audio::AudioSummary;
use callscope_component::audio::analyse_bytes;

/// Reads a file from `fixtures/audio/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read fixture {path}: {error}"))
}

/// Decodes a whole file in 4 KiB chunks and panics with the error message on failure.
pub fn decode(bytes: &[u8]) -> AudioSummary {
    match analyse_bytes(bytes, 4096) {
        Ok((summary, _)) => summary,
        Err(error) => panic!("decoding failed: {error}"),
    }
}

/// Builds a `fmt ` chunk body for a classic (non-extensible) format tag.
pub fn fmt_body(format_tag: u16, channels: u16, sample_rate: u32, bits: u16) -> Vec<u8> {
    let block_align = channels * (bits / 8);
    let mut body = Vec::new();
    body.extend_from_slice(&format_tag.to_le_bytes());
    body.extend_from_slice(&channels.to_le_bytes());
    body.extend_from_slice(&sample_rate.to_le_bytes());
    body.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    body.extend_from_slice(&block_align.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body
}

/// Builds a WAVE_FORMAT_EXTENSIBLE `fmt ` chunk body wrapping `format_tag`.
pub fn extensible_fmt_body(format_tag: u16, channels: u16, sample_rate: u32, bits: u16) -> Vec<u8> {
    let mut body = fmt_body(0xFFFE, channels, sample_rate, bits);
    body.extend_from_slice(&22u16.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&format_tag.to_le_bytes());
    body.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]);
    body
}

/// Builds one RIFF chunk with its pad byte when the body length is odd.
pub fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(id);
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(body);
    if body.len() % 2 == 1 {
        bytes.push(0);
    }
    bytes
}

/// Builds a data chunk header declaring `size` bytes, followed by `body` (which may differ).
pub fn data_chunk_declaring(size: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = b"data".to_vec();
    bytes.extend_from_slice(&size.to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// Builds a RIFF/WAVE file made of the given chunks.
pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
    bytes.extend_from_slice(b"WAVE");
    bytes.extend_from_slice(&body);
    bytes
}

/// Builds a PCM16 WAV file of the given interleaved samples.
pub fn pcm16_wav(channels: u16, sample_rate: u32, samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|sample| sample.to_le_bytes()).collect();
    riff(&[chunk(b"fmt ", &fmt_body(1, channels, sample_rate, 16)), chunk(b"data", &data)])
}

/// Reads the PCM16 samples of a canonical 44-byte-header WAV file.
pub fn pcm16_samples(wav: &[u8]) -> Vec<i16> {
    wav[44..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect()
}
