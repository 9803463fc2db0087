//! Yew components, each owning one part of the screen. State flows down as props
//! and up as callbacks; all requests go through [`crate::api`].

pub mod agreement;
pub mod annotation_panel;
pub mod annotator;
pub mod app;
pub mod audit_log;
pub mod call_header;
pub mod call_list;
pub mod call_view;
pub mod component_admin;
pub mod install_form;
pub mod latency_breakdown;
pub mod load;
pub mod raw_data;
pub mod review_queue;
pub mod transcript;
pub mod waveform;
