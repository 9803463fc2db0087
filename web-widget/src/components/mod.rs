//! Yew components, each owning one part of the screen. State flows down as props
//! and up as callbacks; all requests go through [`crate::api`].

pub mod app;
pub mod call_header;
pub mod call_list;
pub mod call_view;
pub mod latency_breakdown;
pub mod load;
pub mod raw_data;
pub mod transcript;
pub mod waveform;
