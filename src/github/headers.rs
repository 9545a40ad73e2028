//! Header values read by their RFCs, as pure functions: `Retry-After` (RFC 9110 §10.2.3) as
//! delta-seconds of any length or an HTTP-date in each of the three forms §5.6.7 requires a
//! recipient to accept, and the counts and epoch seconds of GitHub's `x-ratelimit-*` family.
//!
//! Every number saturates: a value past `u64` is the longest wait there is, never an unreadable
//! header that would send the request again at the ordinary backoff. Callers bound the wait
//! (a target's deadline, the lane's pause), so the server's number never decides how long a
//! run lasts, only whether a target gives up.

use jiff::civil::{Date, DateTime};
use jiff::SignedDuration;
use std::time::Duration;

/// The Unix epoch's day.
const EPOCH: Date = Date::constant(1970, 1, 1);

/// The moment `epoch` seconds after the Unix epoch as a UTC date and time, saturating at the
/// last second of 9999 (the furthest a four-digit year reaches).
pub(crate) fn utc(epoch: u64) -> DateTime {
    i64::try_from(epoch)
        .ok()
        .and_then(|seconds| {
            EPOCH
                .at(0, 0, 0, 0)
                .checked_add(SignedDuration::from_secs(seconds))
                .ok()
        })
        .unwrap_or(DateTime::MAX)
}

/// A non-negative decimal number (`1*DIGIT`, spaces around it ignored), saturating at
/// `u64::MAX` however many digits it has. `None` for anything else: a sign, a fraction,
/// letters, nothing.
pub(crate) fn count(text: &str) -> Option<u64> {
    let digits = text.trim_matches([' ', '\t']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}

/// How long `Retry-After: text` asks to wait, `now_epoch` seconds after the Unix epoch: the
/// delta-seconds as sent (saturating), or the time until the HTTP-date (zero for a date in the
/// past). `None` when the value is neither.
pub(crate) fn retry_after(text: &str, now_epoch: u64) -> Option<Duration> {
    if let Some(seconds) = count(text) {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(text, now_epoch)?;
    Some(Duration::from_secs(at.saturating_sub(now_epoch)))
}

/// An HTTP-date as seconds since the Unix epoch (zero before it): the IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`
/// or asctime `Sun Nov  6 08:49:37 1994`. Names of days and months are read without regard to
/// case; a date that does not exist (`31 Feb`) is not a date.
pub(crate) fn http_date(text: &str, now_epoch: u64) -> Option<u64> {
    let text = text.trim_matches([' ', '\t']);
    let (year, month, day, time) = if let Some((name, rest)) = text.split_once(", ") {
        if day_name(name) {
            imf_fixdate(rest)?
        } else if day_name_long(name) {
            rfc850_date(rest, now_epoch)?
        } else {
            return None;
        }
    } else {
        asctime_date(text)?
    };
    // A date that does not exist (`31 Feb`) is not a date.
    let date = Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let seconds = date.duration_since(EPOCH).as_secs() + time;
    Some(u64::try_from(seconds).unwrap_or(0))
}

/// A date as (year, month, day, seconds into the day).
type Civil = (i64, i64, i64, i64);

/// `06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(rest: &str) -> Option<Civil> {
    let mut parts = rest.split(' ');
    let day = digits(parts.next()?, 2)?;
    let month = month(parts.next()?)?;
    let year = digits(parts.next()?, 4)?;
    let time = time_of_day(parts.next()?)?;
    (parts.next()? == "GMT" && parts.next().is_none()).then_some((year, month, day, time))
}

/// `06-Nov-94 08:49:37 GMT`; a two-digit year more than 50 years ahead of `now_epoch` is the
/// latest past year with those digits (RFC 9110 §5.6.7).
fn rfc850_date(rest: &str, now_epoch: u64) -> Option<Civil> {
    let mut parts = rest.split(' ');
    let mut date = parts.next()?.split('-');
    let day = digits(date.next()?, 2)?;
    let month = month(date.next()?)?;
    let two_digits = digits(date.next()?, 2)?;
    let time = time_of_day(parts.next()?)?;
    if date.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let this_year = i64::from(utc(now_epoch).year());
    let mut year = this_year - this_year.rem_euclid(100) + two_digits;
    if year > this_year + 50 {
        year -= 100;
    }
    Some((year, month, day, time))
}

/// `Nov  6 08:49:37 1994` after the day name (the day padded with a space, or two digits).
fn asctime_date(text: &str) -> Option<Civil> {
    let (name, rest) = text.split_once(' ')?;
    let (month_name, rest) = rest.split_once(' ')?;
    if !day_name(name) {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut parts = rest.split(' ');
    let day = parts.next()?;
    let day = match day.len() {
        1 => digits(day, 1)?,
        _ => digits(day, 2)?,
    };
    let time = time_of_day(parts.next()?)?;
    let year = digits(parts.next()?, 4)?;
    parts
        .next()
        .is_none()
        .then_some((year, month(month_name)?, day, time))
}

/// `08:49:37` as seconds into the day (a leap second, `:60`, allowed).
fn time_of_day(text: &str) -> Option<i64> {
    let mut parts = text.split(':');
    let hour = digits(parts.next()?, 2)?;
    let minute = digits(parts.next()?, 2)?;
    let second = digits(parts.next()?, 2)?;
    (parts.next().is_none() && hour < 24 && minute < 60 && second <= 60)
        .then_some(hour * 3600 + minute * 60 + second)
}

/// Exactly `width` ASCII digits.
fn digits(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DAYS_LONG: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn day_name(text: &str) -> bool {
    DAYS.iter().any(|d| d.eq_ignore_ascii_case(text))
}

fn day_name_long(text: &str) -> bool {
    DAYS_LONG.iter().any(|d| d.eq_ignore_ascii_case(text))
}

/// The month's number, 1 for `Jan`.
fn month(text: &str) -> Option<i64> {
    let index = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(text))?;
    i64::try_from(index).ok().map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06 08:49:37 UTC, RFC 9110's example.
    const EXAMPLE: u64 = 784_111_777;
    const NOW: u64 = 1_796_083_200; // 2026-12-01 00:00:00 UTC

    #[test]
    fn counts_are_digits_only_and_saturate_at_any_length() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("120", Some(120)),
            (" 7\t", Some(7)),
            ("007", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", Some(u64::MAX)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("", None),
            (" ", None),
            ("-1", None),
            ("+5", None),
            ("1.5", None),
            ("1e3", None),
            ("5 5", None),
            ("٣", None), // an Arabic-Indic three: a digit, but not an ASCII one
        ];
        for (text, expected) in cases {
            assert_eq!(count(text), *expected, "{text:?}");
        }
        assert_eq!(count(&"9".repeat(100_000)), Some(u64::MAX));
    }

    #[test]
    fn the_three_date_forms_of_rfc_9110_are_the_same_moment() {
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "sun, 06 NOV 1994 08:49:37 GMT",
            " Sun, 06 Nov 1994 08:49:37 GMT ",
        ] {
            assert_eq!(http_date(text, NOW), Some(EXAMPLE), "{text:?}");
        }
        assert_eq!(
            http_date("Thu Feb 29 23:59:59 2024", NOW),
            Some(1_709_251_199)
        );
        assert_eq!(
            http_date("Fri, 31 Dec 9999 23:59:60 GMT", NOW),
            Some(253_402_300_800)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT", NOW), Some(0));
        assert_eq!(http_date("Mon, 01 Jan 0001 00:00:00 GMT", NOW), Some(0));
    }

    #[test]
    fn a_two_digit_year_more_than_fifty_years_ahead_is_in_the_past() {
        let year = |text: &str| utc(http_date(text, NOW).unwrap()).year();
        assert_eq!(year("Monday, 01-Jan-76 00:00:00 GMT"), 2076);
        assert_eq!(year("Monday, 01-Jan-77 00:00:00 GMT"), 1977);
        assert_eq!(year("Monday, 01-Jan-26 00:00:00 GMT"), 2026);
        // a clock past any four-digit year does not overflow
        assert!(http_date("Monday, 01-Jan-26 00:00:00 GMT", u64::MAX).is_some());
    }

    #[test]
    fn what_is_not_an_http_date_is_refused() {
        for text in [
            "",
            "GMT",
            "tomorrow",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Someday, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37 94",
            "Sun Nov  6 08:49:37 1994 GMT",
            "Sun, -6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ] {
            assert_eq!(http_date(text, NOW), None, "{text:?}");
        }
    }

    /// `epoch` as an IMF-fixdate and as an asctime date.
    fn written(epoch: u64) -> [String; 2] {
        let at = utc(epoch);
        [
            at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            at.strftime("%a %b %e %H:%M:%S %Y").to_string(),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]
        /// Every moment from 1970 to the end of 9999, written either way, reads back as itself.
        #[test]
        fn every_moment_written_as_an_http_date_reads_back(epoch in 0u64..253_402_300_800) {
            for text in written(epoch) {
                proptest::prop_assert_eq!(http_date(&text, NOW), Some(epoch), "{}", text);
            }
        }

        /// Whatever a server sends, reading it ends without a panic.
        #[test]
        fn any_value_reads_without_panic(
            text in "[ -~]{0,40}",
            date in "[A-Za-z]{0,9}[, -]{0,2}[0-9 ]{0,3}[ -][A-Za-z]{0,4}[ -][0-9]{0,5} [0-9:]{0,9} [A-Z0-9]{0,4}",
            now in proptest::num::u64::ANY,
        ) {
            let _ = retry_after(&text, now);
            let _ = retry_after(&date, now);
            let _ = count(&text);
        }
    }

    #[test]
    fn retry_after_is_seconds_of_any_length_or_the_time_until_a_date() {
        let secs = Duration::from_secs;
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", Some(secs(0))),
            ("120", Some(secs(120))),
            ("99999999999999999999999", Some(secs(u64::MAX))),
            ("Tue, 01 Dec 2026 00:00:07 GMT", Some(secs(7))),
            ("Tuesday, 01-Dec-26 00:02:00 GMT", Some(secs(120))),
            ("Tue Dec  1 01:00:00 2026", Some(secs(3600))),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(secs(251_606_217_599))),
            // a date in the past: go now
            ("Mon, 30 Nov 2026 23:59:59 GMT", Some(secs(0))),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(secs(0))),
            ("-1", None),
            ("soon", None),
            ("1.5", None),
        ];
        for (text, expected) in cases {
            assert_eq!(retry_after(text, NOW), *expected, "{text:?}");
        }
    }
}
