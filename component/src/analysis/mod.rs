//! Placeholder until the analysis module lands.
