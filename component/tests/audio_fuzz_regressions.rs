//! Inputs kept from fuzzing `Recording` (see `component/fuzz/README.md`). Each file is
//! a fuzz input: two bytes that seed the chunk sizes, then the file bytes. Every one must
//! end in an `AudioError` or a summary, never a panic.

mod audio_support;

use callscope_component::audio::Recording;

/// Splits `file` into chunks as the fuzz target does and decodes it.
fn decode_like_the_fuzz_target(input: &[u8]) -> Option<Result<u64, String>> {
    let (seed, file) = input.split_first_chunk::<2>()?;
    let mut state = u32::from(u16::from_le_bytes(*seed)) | 1;

    let mut recording = Recording::new();
    let mut rest = file;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (1 + (state as usize) % 65_536).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        if let Err(error) = recording.push(chunk) {
            return Some(Err(error.to_string()));
        }
        rest = tail;
    }
    Some(recording.finish().map(|summary| summary.format.frames).map_err(|error| error.to_string()))
}

#[test]
fn fuzz_regressions_end_cleanly() {
    let directory = format!("{}/../fixtures/audio/fuzz-regressions", env!("CARGO_MANIFEST_DIR"));
    let mut entries: Vec<_> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list {directory}: {error}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_none_or(|extension| extension != "md"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "{directory} holds no inputs");

    for path in entries {
        let input = std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        if let Some(Err(message)) = decode_like_the_fuzz_target(&input) {
            assert!(!message.is_empty(), "{}: empty error message", path.display());
        }
    }
}
