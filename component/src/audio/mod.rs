//! Placeholder until the audio module lands.
