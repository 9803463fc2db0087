//! Text forms and percentages of the components page: shortened sha256 digests,
//! file sizes, install times, the install checks, and the progress of the upload and
//! of the re-analysis of stored calls.

use callscope_api_types::ReanalysisProgress;

/// Hex digits of a sha256 shown in place of all 64. Twelve digits (48 bits) make an
/// accidental clash between the versions of one server very unlikely, and the full
/// value is in the tooltip.
pub const SHORT_SHA_DIGITS: usize = 12;

/// Size of a raw ed25519 signature in bytes: the 32-byte point R, then the 32-byte
/// scalar S.
pub const ED25519_SIGNATURE_BYTES: f64 = 64.0;

/// Returns the first [`SHORT_SHA_DIGITS`] characters of `sha256`, or all of it when
/// it is shorter.
pub fn short_sha(sha256: &str) -> &str {
    match sha256.char_indices().nth(SHORT_SHA_DIGITS) {
        Some((end, _)) => &sha256[..end],
        None => sha256,
    }
}

/// Formats a file size in bytes, KiB or MiB with one decimal, for example `1.5 MiB`.
pub fn file_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes < KIB {
        format!("{bytes} bytes")
    } else if bytes < MIB {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

/// Formats an RFC 3339 time as `2026-12-04 23:28:16 UTC`: seconds without their
/// fraction, and the offset as given unless it is UTC. A text of another shape is
/// returned unchanged, so an unexpected value still shows.
pub fn timestamp(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once(['T', 't', ' ']) else { return rfc3339.to_owned() };
    let date_ok = date.len() == 10 && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let Some(clock) = rest.get(..8) else { return rfc3339.to_owned() };
    let clock_ok = clock.bytes().enumerate().all(|(i, b)| if i == 2 || i == 5 { b == b':' } else { b.is_ascii_digit() });
    if !date_ok || !clock_ok {
        return rfc3339.to_owned();
    }

    let after_seconds = &rest[8..];
    let zone = match after_seconds.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => after_seconds,
    };
    let zone = match zone {
        "Z" | "z" | "+00:00" => "UTC",
        "" => return rfc3339.to_owned(),
        offset => offset,
    };
    format!("{date} {clock} {zone}")
}

/// Returns what an install check verifies, for the check names the host sends in a
/// refusal, or `None` for a name this widget does not list.
pub fn check_description(check: &str) -> Option<&'static str> {
    match check {
        "component" => Some("the file is a WebAssembly component"),
        "interface" => Some("it exports a callscope:plugin interface version the host accepts"),
        "imports" => Some("it imports nothing beyond the host's allowlist"),
        "signature" => Some("its ed25519 signature matches a key in the host's configuration"),
        "self-test" => Some("it analyses the host's built-in call and returns the expected result"),
        _ => None,
    }
}

/// Checks a chosen signature file before upload: the host expects the 64 raw bytes
/// of an ed25519 signature, and a base64 or hex text of it is longer.
pub fn check_signature_file(name: &str, size_bytes: f64) -> Result<(), String> {
    if size_bytes == ED25519_SIGNATURE_BYTES {
        return Ok(());
    }
    Err(format!(
        "signature file {name} is {size_bytes} bytes, but an ed25519 signature is {ED25519_SIGNATURE_BYTES} raw bytes; \
         choose the raw signature file, not a base64 or hex text of it"
    ))
}

/// Returns the whole percentage of an upload, rounded down so that 100 means every
/// byte was sent, or `None` when the browser does not know the total.
pub fn upload_percent(sent_bytes: f64, total_bytes: f64) -> Option<u8> {
    let known = total_bytes.is_finite() && total_bytes > 0.0 && sent_bytes.is_finite();
    if !known {
        return None;
    }
    let percent = (sent_bytes / total_bytes * 100.0).floor().clamp(0.0, 100.0);
    Some(percent as u8)
}

/// Returns how many stored calls the re-analysis has processed: the host counts a
/// success in `done` and a failure in `failed`, never both. Clamped to `total`.
pub fn reanalysis_processed(progress: &ReanalysisProgress) -> u64 {
    progress.done.saturating_add(progress.failed).min(progress.total)
}

/// Returns the whole percentage of stored calls the re-analysis has processed,
/// failed ones included, rounded down so that a running job never shows 100. A job
/// with no calls is at 0 while it runs and at 100 once it stopped.
pub fn reanalysis_percent(progress: &ReanalysisProgress) -> u8 {
    if progress.total == 0 {
        return if progress.running { 0 } else { 100 };
    }
    share_percent(reanalysis_processed(progress), progress.total)
}

/// Returns the widths of the progress bar's two parts in percent: calls re-analysed
/// (rounded down) and calls failed (rounded up, so that a single failure stays
/// visible). Their sum never exceeds 100.
pub fn reanalysis_bar(progress: &ReanalysisProgress) -> (u8, u8) {
    if progress.total == 0 {
        return (0, 0);
    }
    let done = share_percent(progress.done.min(progress.total), progress.total);
    let failed = u128::from(progress.failed.min(progress.total));
    let failed = (failed * 100).div_ceil(u128::from(progress.total)) as u8;
    (done, failed.min(100 - done))
}

/// Returns `part` as a whole percentage of `total`, rounded down; `part` must not
/// exceed `total`, which must not be 0.
fn share_percent(part: u64, total: u64) -> u8 {
    (u128::from(part) * 100 / u128::from(total)) as u8
}

/// Returns whether the host reports any re-analysis, running or finished. Before its
/// first pass it sends an empty target and zero counts.
pub fn reanalysis_recorded(progress: &ReanalysisProgress) -> bool {
    !progress.target_sha256.is_empty() || progress.total > 0 || progress.running
}

/// Describes the re-analysis in one line, for example
/// `Re-analysing: 47 of 120 calls processed (39 %), 2 failed`.
pub fn reanalysis_summary(progress: &ReanalysisProgress) -> String {
    if !reanalysis_recorded(progress) {
        return String::from("No re-analysis is recorded.");
    }
    if progress.total == 0 && !progress.running {
        return String::from("Every stored call is analysed by this version.");
    }

    let calls = if progress.total == 1 { "call" } else { "calls" };
    let failed = match progress.failed {
        0 => String::new(),
        count => format!(", {count} failed"),
    };
    if progress.running {
        let processed = reanalysis_processed(progress);
        format!("Re-analysing: {processed} of {} {calls} processed ({} %){failed}", progress.total, reanalysis_percent(progress))
    } else {
        format!("Finished: {} of {} {calls} re-analysed{failed}", progress.done, progress.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn progress(total: u64, done: u64, failed: u64, running: bool) -> ReanalysisProgress {
        ReanalysisProgress { target_sha256: SHA.to_owned(), total, done, failed, running }
    }

    #[test]
    fn short_sha_keeps_twelve_digits() {
        assert_eq!(short_sha(SHA), "9f86d081884c");
    }

    #[test]
    fn short_sha_of_short_text_is_unchanged() {
        assert_eq!(short_sha("abc"), "abc");
        assert_eq!(short_sha(""), "");
    }

    #[test]
    fn short_sha_cuts_on_char_boundary() {
        assert_eq!(short_sha("ééééééééééééé"), "éééééééééééé");
    }

    #[test]
    fn file_size_units() {
        assert_eq!(file_size(0), "0 bytes");
        assert_eq!(file_size(1023), "1023 bytes");
        assert_eq!(file_size(1024), "1.0 KiB");
        assert_eq!(file_size(1536), "1.5 KiB");
        assert_eq!(file_size(3 * 1024 * 1024 + 300 * 1024), "3.3 MiB");
    }

    #[test]
    fn timestamp_utc_drops_fraction() {
        assert_eq!(timestamp("2026-12-04T23:28:16.123456789Z"), "2026-12-04 23:28:16 UTC");
        assert_eq!(timestamp("2026-12-04T23:28:16Z"), "2026-12-04 23:28:16 UTC");
        assert_eq!(timestamp("2026-12-04T23:28:16+00:00"), "2026-12-04 23:28:16 UTC");
    }

    #[test]
    fn timestamp_keeps_other_offset() {
        assert_eq!(timestamp("2026-12-04T23:28:16.5+02:00"), "2026-12-04 23:28:16 +02:00");
    }

    #[test]
    fn timestamp_of_other_shape_is_unchanged() {
        assert_eq!(timestamp("yesterday"), "yesterday");
        assert_eq!(timestamp("2026-12-04T23:28"), "2026-12-04T23:28");
        assert_eq!(timestamp("2026-12-04T23:28:16"), "2026-12-04T23:28:16");
        assert_eq!(timestamp("2026/12/04T23:28:16Z"), "2026/12/04T23:28:16Z");
    }

    #[test]
    fn check_description_covers_every_check() {
        for check in ["component", "interface", "imports", "signature", "self-test"] {
            assert!(check_description(check).is_some(), "{check} has no description");
        }
        assert_eq!(check_description("other"), None);
    }

    #[test]
    fn signature_file_of_64_bytes_passes() {
        assert_eq!(check_signature_file("component.sig", 64.0), Ok(()));
    }

    #[test]
    fn signature_file_of_base64_size_fails() {
        let error = check_signature_file("component.sig.b64", 88.0).unwrap_err();
        assert_eq!(
            error,
            "signature file component.sig.b64 is 88 bytes, but an ed25519 signature is 64 raw bytes; \
             choose the raw signature file, not a base64 or hex text of it"
        );
    }

    #[test]
    fn upload_percent_rounds_down() {
        assert_eq!(upload_percent(0.0, 1000.0), Some(0));
        assert_eq!(upload_percent(999.0, 1000.0), Some(99));
        assert_eq!(upload_percent(1000.0, 1000.0), Some(100));
    }

    #[test]
    fn upload_percent_without_total() {
        assert_eq!(upload_percent(500.0, 0.0), None);
        assert_eq!(upload_percent(500.0, f64::NAN), None);
    }

    #[test]
    fn upload_percent_clamps_overshoot() {
        assert_eq!(upload_percent(1200.0, 1000.0), Some(100));
    }

    #[test]
    fn reanalysis_processed_adds_failures() {
        assert_eq!(reanalysis_processed(&progress(120, 45, 2, true)), 47);
        assert_eq!(reanalysis_processed(&progress(10, 9, 3, true)), 10);
        assert_eq!(reanalysis_processed(&progress(10, u64::MAX, 1, true)), 10);
    }

    #[test]
    fn reanalysis_percent_rounds_down() {
        assert_eq!(reanalysis_percent(&progress(120, 45, 0, true)), 37);
        assert_eq!(reanalysis_percent(&progress(3, 2, 0, true)), 66);
        assert_eq!(reanalysis_percent(&progress(1000, 999, 0, true)), 99);
    }

    #[test]
    fn reanalysis_percent_counts_failures() {
        assert_eq!(reanalysis_percent(&progress(120, 45, 2, true)), 39);
        assert_eq!(reanalysis_percent(&progress(120, 118, 2, false)), 100);
    }

    #[test]
    fn reanalysis_percent_without_calls() {
        assert_eq!(reanalysis_percent(&progress(0, 0, 0, true)), 0);
        assert_eq!(reanalysis_percent(&progress(0, 0, 0, false)), 100);
    }

    #[test]
    fn reanalysis_percent_clamps_above_total() {
        assert_eq!(reanalysis_percent(&progress(10, 12, 0, true)), 100);
        assert_eq!(reanalysis_percent(&progress(10, 8, 5, true)), 100);
    }

    #[test]
    fn reanalysis_bar_splits_done_and_failed() {
        assert_eq!(reanalysis_bar(&progress(120, 45, 2, true)), (37, 2));
        assert_eq!(reanalysis_bar(&progress(4, 3, 1, false)), (75, 25));
    }

    #[test]
    fn reanalysis_bar_shows_single_failure() {
        assert_eq!(reanalysis_bar(&progress(1000, 10, 1, true)), (1, 1));
    }

    #[test]
    fn reanalysis_bar_stays_within_100() {
        assert_eq!(reanalysis_bar(&progress(3, 2, 1, false)), (66, 34));
        assert_eq!(reanalysis_bar(&progress(3, 3, 1, false)), (100, 0));
        assert_eq!(reanalysis_bar(&progress(0, 0, 0, false)), (0, 0));
    }

    #[test]
    fn reanalysis_summary_while_running() {
        assert_eq!(reanalysis_summary(&progress(120, 45, 2, true)), "Re-analysing: 47 of 120 calls processed (39 %), 2 failed");
        assert_eq!(reanalysis_summary(&progress(120, 45, 0, true)), "Re-analysing: 45 of 120 calls processed (37 %)");
    }

    #[test]
    fn reanalysis_summary_finished() {
        assert_eq!(reanalysis_summary(&progress(1, 1, 0, false)), "Finished: 1 of 1 call re-analysed");
        assert_eq!(reanalysis_summary(&progress(120, 117, 3, false)), "Finished: 117 of 120 calls re-analysed, 3 failed");
    }

    #[test]
    fn reanalysis_summary_with_nothing_pending() {
        assert_eq!(reanalysis_summary(&progress(0, 0, 0, false)), "Every stored call is analysed by this version.");
    }

    #[test]
    fn reanalysis_recorded_needs_target_count_or_run() {
        assert!(!reanalysis_recorded(&ReanalysisProgress::default()));
        assert!(reanalysis_recorded(&progress(0, 0, 0, false)));
        assert!(reanalysis_recorded(&ReanalysisProgress { running: true, ..ReanalysisProgress::default() }));
    }

    #[test]
    fn reanalysis_summary_before_any_run() {
        assert_eq!(reanalysis_summary(&ReanalysisProgress::default()), "No re-analysis is recorded.");
    }
}
