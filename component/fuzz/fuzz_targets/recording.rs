//! Feeds arbitrary bytes to a `Recording` in arbitrary chunk sizes. Any panic, hang or
//! allocation past libFuzzer's limits is a bug: bad input must end in an `AudioError`
//! or a summary.
#![no_main]

use callscope_component::audio::Recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The first two bytes seed the chunk sizes; the rest is the file.
    let Some((seed, file)) = input.split_first_chunk::<2>() else { return };
    let mut state = u32::from(u16::from_le_bytes(*seed)) | 1;

    let mut recording = Recording::new();
    let mut rest = file;
    while !rest.is_empty() {
        // xorshift32: chunk sizes from 1 byte to 64 KiB.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (1 + (state as usize) % 65_536).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        if recording.push(chunk).is_err() {
            return;
        }
        rest = tail;
    }
    let _ = recording.finish();
});
