//! Timestamps as TraceFlow Lite stores hold them, read by their instant.
//!
//! Stores hold several spellings of the same instant (see the store format):
//! Python's `isoformat()` (`2026-11-27T07:18:40.823445+00:00`, the fraction
//! left out when zero), SQLite's `CURRENT_TIMESTAMP` (`2026-11-27 07:18:40`,
//! UTC), `Z`, other offsets, and values without an offset, which mean UTC.
//! Text order is not time order across these, so everything is compared as a
//! [`Timestamp`].

use crate::error::InvalidValue;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A stored value that is not a timestamp traceflow can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable timestamp {value:?} (expected RFC 3339 / ISO 8601, e.g. 2026-11-27T07:18:40.823445+00:00)")]
pub struct TimestampError {
    /// The value as found (text, or the number as written).
    pub value: String,
}

/// Parses one stored spelling to its instant.
///
/// Accepts RFC 3339 / ISO 8601 with `T` or a space between date and time, any
/// number of fraction digits, an offset (`+05:30`, `+0530`, `Z`) or none
/// (UTC), a bare date (midnight UTC), and RFC 2822 as some mail-era tools
/// write it.
pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    // No offset: TraceFlow Lite's column default and naive writers; UTC.
    if let Ok(ts) = text
        .parse::<DateTime>()
        .and_then(|dt| dt.to_zoned_datetime(TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
    {
        return Ok(ts);
    }
    jiff::fmt::rfc2822::parse(text)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| TimestampError {
            value: text.to_owned(),
        })
}

/// Parses stored bytes: text as [`parse`] reads it; bytes that are not
/// UTF-8 are no timestamp.
pub fn parse_bytes(bytes: &[u8]) -> Result<Timestamp, TimestampError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(_) => Err(TimestampError {
            value: String::from_utf8_lossy(bytes).into_owned(),
        }),
    }
}

/// A number of seconds since the Unix epoch (a column's numeric affinity
/// turns numeric text into numbers).
pub fn from_unix_seconds(secs: i64) -> Result<Timestamp, TimestampError> {
    Timestamp::from_second(secs).map_err(|_| TimestampError {
        value: secs.to_string(),
    })
}

/// Fractional seconds since the Unix epoch, kept to the microsecond as
/// Python keeps them.
pub fn from_unix_seconds_f64(secs: f64) -> Result<Timestamp, TimestampError> {
    let invalid = || TimestampError {
        value: secs.to_string(),
    };
    if !secs.is_finite() {
        return Err(invalid());
    }
    // The cast saturates and the range check rejects what saturated.
    let micros = (secs * 1e6).round() as i64;
    Timestamp::from_microsecond(micros).map_err(|_| invalid())
}

/// A value that is no timestamp at all (`NULL`, a BLOB), named as found.
pub fn not_a_timestamp(what: &str) -> TimestampError {
    TimestampError {
        value: what.to_owned(),
    }
}

/// Formats as Python's `datetime.isoformat()` does for a UTC time:
/// `2026-11-27T07:18:40.823445+00:00`, without the fraction when it is zero.
/// Sub-microsecond digits are dropped, as Python has none.
pub fn format_python(ts: Timestamp) -> String {
    let utc = ts.to_zoned_datetime(TimeZone::UTC);
    if utc.subsec_nanosecond() / 1000 == 0 {
        utc.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        utc.strftime("%Y-%m-%dT%H:%M:%S.%6f+00:00").to_string()
    }
}

/// The current time, truncated to microseconds as Python's clock gives it.
pub fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

/// A time bound as a user gives one (`--since`, a selector's `since=`, the
/// Python package's strings): an age, resolved against the clock when the
/// analysis runs, or an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeBound {
    /// This long before now.
    Ago(jiff::SignedDuration),
    /// This instant.
    At(Timestamp),
}

impl TimeBound {
    /// `14d`, `36h`, `2w`, `90m`, `1 week` (jiff's friendly durations, days
    /// of 24 hours), or a time as the store's timestamps are read
    /// ([`parse`]).
    pub fn parse(text: &str) -> Result<TimeBound, InvalidValue> {
        if let Ok(span) = text.trim().parse::<jiff::Span>() {
            let age = span
                .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|e| InvalidValue::new(e.to_string()))?;
            if age.is_negative() {
                return Err(InvalidValue::new("expected an age of 0 or more, e.g. 14d"));
            }
            return Ok(TimeBound::Ago(age));
        }
        parse(text).map(TimeBound::At).map_err(|_| {
            InvalidValue::new(format!(
                "expected an age (14d, 36h, 2w) or a time (2026-11-01, RFC 3339), got {text:?}"
            ))
        })
    }

    /// The instant, with ages taken back from `now`.
    pub fn resolve(self, now: Timestamp) -> Result<Timestamp, InvalidValue> {
        match self {
            TimeBound::At(at) => Ok(at),
            TimeBound::Ago(age) => now
                .checked_sub(age)
                .map_err(|e| InvalidValue::new(format!("{age:?} before now is out of range: {e}"))),
        }
    }

    /// The instant `text` names, an age taken back from `now`: what a
    /// front end does with a `since` it is given.
    pub fn instant(text: &str, now: Timestamp) -> Result<Timestamp, InvalidValue> {
        TimeBound::parse(text)?.resolve(now)
    }
}

impl std::str::FromStr for TimeBound {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TimeBound::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(text: &str) -> Timestamp {
        parse(text).unwrap()
    }

    #[test]
    fn every_store_spelling_reads_as_its_instant() {
        let expected: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for text in [
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00.000000+00:00",
            "2026-01-01 00:00:00",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00Z",
            "2026-01-01t00:00:00z",
            "2026-01-01T05:30:00+05:30",
            "2026-01-01T05:30:00+0530",
            "2025-12-31T16:00:00-08:00",
            "2026-01-01",
            "Thu, 01 Jan 2026 00:00:00 +0000",
            " 2026-01-01 00:00:00 ",
        ] {
            assert_eq!(instant(text), expected, "{text}");
        }
    }

    #[test]
    fn instants_order_where_text_does_not() {
        // As text the first sorts after the second; as instants it is earlier.
        let a = "2026-01-01T09:00:00+05:30";
        let b = "2026-01-01T04:00:00Z";
        assert!(a > b);
        assert!(instant(a) < instant(b));
        // SQLite's default spelling against Python's, one microsecond apart.
        assert!(instant("2026-01-01 00:00:00") < instant("2026-01-01T00:00:00.000001+00:00"));
    }

    #[test]
    fn nonsense_is_an_error_that_quotes_the_value() {
        let err = parse("yesterday").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
        assert!(parse("").is_err());
        assert!(parse("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn numbers_are_unix_seconds() {
        assert_eq!(
            from_unix_seconds(1_767_225_600).unwrap(),
            instant("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            from_unix_seconds_f64(1_767_225_600.5).unwrap(),
            instant("2026-01-01T00:00:00.5Z")
        );
        assert!(from_unix_seconds_f64(f64::NAN).is_err());
        assert!(from_unix_seconds_f64(1e300).is_err());
        assert!(from_unix_seconds(i64::MAX).is_err());
        assert!(parse_bytes(b"\xff").is_err());
    }

    #[test]
    fn formats_as_python_isoformat() {
        assert_eq!(
            format_python(instant("2026-11-27T07:18:40.823445Z")),
            "2026-11-27T07:18:40.823445+00:00"
        );
        assert_eq!(
            format_python(instant("2026-11-27T07:18:40Z")),
            "2026-11-27T07:18:40+00:00"
        );
        assert_eq!(
            format_python(instant("2026-11-27T09:18:40.5+02:00")),
            "2026-11-27T07:18:40.500000+00:00"
        );
    }

    #[test]
    fn time_bounds_take_ages_and_times() {
        assert_eq!(
            TimeBound::parse("14d"),
            Ok(TimeBound::Ago(jiff::SignedDuration::from_hours(14 * 24)))
        );
        assert_eq!(
            TimeBound::parse("2w"),
            Ok(TimeBound::Ago(jiff::SignedDuration::from_hours(14 * 24)))
        );
        assert_eq!(
            TimeBound::parse("36h"),
            Ok(TimeBound::Ago(jiff::SignedDuration::from_hours(36)))
        );
        let at: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(TimeBound::parse("2026-11-01"), Ok(TimeBound::At(at)));
        let now: jiff::Timestamp = "2026-11-15T00:00:00Z".parse().unwrap();
        assert_eq!(TimeBound::parse("14d").unwrap().resolve(now), Ok(at));
        assert!(TimeBound::parse("soon").is_err());
        assert!(TimeBound::parse("-3d").is_err());
    }
}
