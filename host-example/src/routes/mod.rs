//! HTTP routes: the callscope API any backoffice mounts, and the example backoffice's
//! own pages.

pub mod admin;
pub mod api;
pub mod backoffice;
pub mod ingest;
pub mod review;
