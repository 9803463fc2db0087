//! Text forms of times and durations shown in the widget.

/// Formats a time on the recording as `m:ss.s`, for example `1:05.3` for 65 300 ms.
/// Negative times get a leading minus sign.
pub fn clock(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let tenths = (ms.unsigned_abs() + 50) / 100;
    let minutes = tenths / 600;
    let seconds = (tenths % 600) / 10;
    let tenth = tenths % 10;
    format!("{sign}{minutes}:{seconds:02}.{tenth}")
}

/// Formats a call duration as `m:ss`, or `h:mm:ss` from one hour on.
pub fn duration(ms: i64) -> String {
    let total_seconds = (ms.max(0) + 500) / 1000;
    let hours = total_seconds / 3600;
    let minutes = (total_seconds % 3600) / 60;
    let seconds = total_seconds % 60;
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// Formats a short span such as a pause or a response latency in seconds with one
/// decimal, for example `1.2 s`; spans under a second stay in seconds (`0.4 s`) so
/// that labels side by side compare at a glance.
pub fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let tenths = (ms.unsigned_abs() + 50) / 100;
    format!("{sign}{}.{} s", tenths / 10, tenths % 10)
}

/// Formats a latency for side-by-side comparison within a turn: whole milliseconds
/// below 10 s (`812 ms`, `2988 ms`), so that a breakdown adds up at a glance, and
/// seconds with one decimal from there on (`12.3 s`).
pub fn latency(ms: i64) -> String {
    if ms.unsigned_abs() < 10_000 { format!("{ms} ms") } else { seconds(ms) }
}

/// Formats a clock offset with its sign, for example `+412 ms` or `-35 ms`.
pub fn signed_ms(ms: i64) -> String {
    if ms > 0 { format!("+{ms} ms") } else { format!("{ms} ms") }
}

/// Formats a time on the recording as `m:ss` for labels that name a moment, such as
/// a flag's position. The transcript uses `clock`, which keeps the tenths.
pub fn moment(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let total_seconds = ms.unsigned_abs() / 1000;
    format!("{sign}{}:{:02}", total_seconds / 60, total_seconds % 60)
}

/// Formats a tick label on the time axis: `m:ss` on whole seconds, `m:ss.s` otherwise.
pub fn tick(ms: i64) -> String {
    if ms % 1000 == 0 { duration(ms) } else { clock(ms) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_rounds_to_tenths() {
        assert_eq!(clock(0), "0:00.0");
        assert_eq!(clock(65_300), "1:05.3");
        assert_eq!(clock(65_349), "1:05.3");
        assert_eq!(clock(65_350), "1:05.4");
        assert_eq!(clock(59_960), "1:00.0");
    }

    #[test]
    fn clock_negative_time() {
        assert_eq!(clock(-1_500), "-0:01.5");
    }

    #[test]
    fn duration_minutes_and_hours() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(61_499), "1:01");
        assert_eq!(duration(61_500), "1:02");
        assert_eq!(duration(3_725_000), "1:02:05");
    }

    #[test]
    fn seconds_one_decimal() {
        assert_eq!(seconds(1_200), "1.2 s");
        assert_eq!(seconds(449), "0.4 s");
        assert_eq!(seconds(12_050), "12.1 s");
        assert_eq!(seconds(-300), "-0.3 s");
    }

    #[test]
    fn latency_milliseconds_then_seconds() {
        assert_eq!(latency(812), "812 ms");
        assert_eq!(latency(9_999), "9999 ms");
        assert_eq!(latency(12_340), "12.3 s");
        assert_eq!(latency(-40), "-40 ms");
    }

    #[test]
    fn signed_ms_shows_sign() {
        assert_eq!(signed_ms(412), "+412 ms");
        assert_eq!(signed_ms(-35), "-35 ms");
        assert_eq!(signed_ms(0), "0 ms");
    }

    #[test]
    fn moment_truncates_to_seconds() {
        assert_eq!(moment(27_900), "0:27");
        assert_eq!(moment(61_000), "1:01");
    }

    #[test]
    fn tick_whole_and_fractional_seconds() {
        assert_eq!(tick(10_000), "0:10");
        assert_eq!(tick(10_500), "0:10.5");
    }
}
