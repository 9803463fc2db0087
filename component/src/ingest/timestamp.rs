//! RFC 3339 timestamps (the ISO 8601 profile vendors use for `startedAt`) to Unix
//! epoch milliseconds.

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into Unix epoch milliseconds.
///
/// Returns `None` for anything else, including a missing offset, because a time
/// without a zone cannot be placed on the recording.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !text.is_ascii() {
        return None;
    }

    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    let separators_valid = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_valid
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        // 60 is a leap second, which RFC 3339 allows.
        || second > 60
    {
        return None;
    }

    let mut position = 19;
    let mut millis = 0i64;
    if bytes[position] == b'.' {
        position += 1;
        let fraction_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        let fraction = &text[fraction_start..position];
        if fraction.is_empty() {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..fraction.len().min(3)]);
        millis = padded.parse().ok()?;
    }

    let offset_minutes = match &bytes[position..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let offset_hours = digits(bytes, position + 1, 2)?;
            let offset_mins = digits(bytes, position + 4, 2)?;
            if offset_hours > 23 || offset_mins > 59 {
                return None;
            }
            let total = offset_hours * 60 + offset_mins;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start + count)?;
    slice.iter().try_fold(0i64, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil` algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_start_is_zero() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn utc_with_millis() {
        // 2024-05-14T15:02:11.250Z, checked with `date -u -d ... +%s%3N`.
        assert_eq!(
            parse_rfc3339_ms("2024-05-14T15:02:11.250Z"),
            Some(1_715_698_931_250)
        );
    }

    #[test]
    fn offset_is_subtracted() {
        assert_eq!(
            parse_rfc3339_ms("2024-05-14T17:02:11.250+02:00"),
            parse_rfc3339_ms("2024-05-14T15:02:11.250Z")
        );
    }

    #[test]
    fn microseconds_are_truncated_to_millis() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.123456Z"), Some(1_123));
    }

    #[test]
    fn leap_day_is_accepted() {
        assert_eq!(
            parse_rfc3339_ms("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for text in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-14T15:02:11",
            "2024-05-14T15:02:11.Z",
            "2024-05-14",
            "not a date at all!!!",
        ] {
            assert_eq!(parse_rfc3339_ms(text), None, "{text}");
        }
    }
}
