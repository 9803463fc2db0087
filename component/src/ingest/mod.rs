//! Placeholder until the ingest module lands.
