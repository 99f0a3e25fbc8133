//! What a run is, and how traces split into segments.
//!
//! One TraceFlow Lite trace holds 1–3 gate decisions, far too few for a
//! trend; a run can instead pool the traces of an hour, a day, an ISO week,
//! or of one value of a `config_json` key (a git sha, a suite id).

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Serialize, Serializer};

/// How traces are pooled into runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum GroupBy {
    /// Each trace is a run (TraceFlow Lite's view).
    #[default]
    Trace,
    /// One run per UTC hour.
    Hour,
    /// One run per UTC day.
    Day,
    /// One run per ISO week (weeks start on Monday, UTC).
    Week,
    /// One run per value of a `config_json` key, ordered by each value's
    /// first trace. Traces without the key belong to no run. `run` is
    /// short for `config.run`, the source's run that `import` records.
    Config(String),
}

impl GroupBy {
    /// The run key of a trace started at `at` with the given value of the
    /// config key (`None`: the trace has no such key), or `None` when the
    /// trace belongs to no run. `Trace` keys are the trace ids.
    pub fn key(&self, trace_id: &str, at: Timestamp, config: Option<&str>) -> Option<String> {
        let civil = || at.to_zoned_datetime(TimeZone::UTC).datetime();
        match self {
            GroupBy::Trace => Some(trace_id.to_owned()),
            GroupBy::Hour => Some(civil().strftime("%Y-%m-%dT%H:00Z").to_string()),
            GroupBy::Day => Some(civil().strftime("%Y-%m-%d").to_string()),
            GroupBy::Week => {
                let week = civil().date().iso_week_date();
                Some(format!("{:04}-W{:02}", week.year(), week.week()))
            }
            GroupBy::Config(_) => config.map(str::to_owned),
        }
    }

    /// The `config_json` key this grouping reads, if any.
    pub fn config_key(&self) -> Option<&str> {
        match self {
            GroupBy::Config(key) => Some(key),
            _ => None,
        }
    }

    /// Whether runs are single traces.
    pub fn is_trace(&self) -> bool {
        matches!(self, GroupBy::Trace)
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupBy::Trace => f.write_str("trace"),
            GroupBy::Hour => f.write_str("hour"),
            GroupBy::Day => f.write_str("day"),
            GroupBy::Week => f.write_str("week"),
            GroupBy::Config(key) => write!(f, "config.{key}"),
        }
    }
}

impl Serialize for GroupBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A `--group-by` or `--segment-by` spelling that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {flag} {value:?} (expected one of: {expected})")]
pub struct UnknownGrouping {
    /// `grouping`, `segmentation` or `case identity`.
    pub flag: &'static str,
    /// The value as given.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

/// `config.<key>` with a non-empty key.
fn config_key(text: &str) -> Option<String> {
    text.strip_prefix("config.")
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

impl FromStr for GroupBy {
    type Err = UnknownGrouping;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(key) = config_key(text) {
            return Ok(GroupBy::Config(key));
        }
        match text.to_ascii_lowercase().as_str() {
            "trace" => Ok(GroupBy::Trace),
            "hour" => Ok(GroupBy::Hour),
            "day" => Ok(GroupBy::Day),
            "week" => Ok(GroupBy::Week),
            // The source's run, which `traceflow import` records.
            "run" => Ok(GroupBy::Config("run".to_owned())),
            _ => Err(UnknownGrouping {
                flag: "grouping",
                value: s.to_owned(),
                expected: "trace, hour, day, week, run, config.<key>",
            }),
        }
    }
}

/// How traces split into segments, each judged on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SegmentBy {
    /// The `model` column.
    Model,
    /// The `mode` column.
    Mode,
    /// The `provider` column.
    Provider,
    /// A `config_json` key; traces without it form the segment `(no KEY)`.
    Config(String),
}

/// The segment of traces whose config has no value for `key`: `(no KEY)`.
pub fn no_value_label(key: &str) -> String {
    format!("(no {key})")
}

impl SegmentBy {
    /// The `config_json` key this segmentation reads, if any.
    pub fn config_key(&self) -> Option<&str> {
        match self {
            SegmentBy::Config(key) => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for SegmentBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentBy::Model => f.write_str("model"),
            SegmentBy::Mode => f.write_str("mode"),
            SegmentBy::Provider => f.write_str("provider"),
            SegmentBy::Config(key) => write!(f, "config.{key}"),
        }
    }
}

impl Serialize for SegmentBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for SegmentBy {
    type Err = UnknownGrouping;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(key) = config_key(text) {
            return Ok(SegmentBy::Config(key));
        }
        match text.to_ascii_lowercase().as_str() {
            "model" => Ok(SegmentBy::Model),
            "mode" => Ok(SegmentBy::Mode),
            "provider" => Ok(SegmentBy::Provider),
            _ => Err(UnknownGrouping {
                flag: "segmentation",
                value: s.to_owned(),
                expected: "model, mode, provider, config.<key>",
            }),
        }
    }
}

/// What makes two traces the same case (the same test input), for the
/// per-case analysis and the trend within cases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CaseBy {
    /// The `mode` and the exact `user_input`, surrounding whitespace
    /// trimmed: an eval suite asks the same questions again and again.
    Input,
    /// A `config_json` key (a case id the harness records); traces without
    /// it belong to no case. `case` is short for `config.case`, the
    /// source's case that `import` records.
    Config(String),
}

impl CaseBy {
    /// The `config_json` key this case identity reads, if any.
    pub fn config_key(&self) -> Option<&str> {
        match self {
            CaseBy::Config(key) => Some(key),
            CaseBy::Input => None,
        }
    }
}

impl fmt::Display for CaseBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseBy::Input => f.write_str("input"),
            CaseBy::Config(key) => write!(f, "config.{key}"),
        }
    }
}

impl Serialize for CaseBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for CaseBy {
    type Err = UnknownGrouping;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(key) = config_key(text) {
            return Ok(CaseBy::Config(key));
        }
        if text.eq_ignore_ascii_case("input") {
            return Ok(CaseBy::Input);
        }
        // The source's case, which `traceflow import` records.
        if text.eq_ignore_ascii_case("case") {
            return Ok(CaseBy::Config("case".to_owned()));
        }
        Err(UnknownGrouping {
            flag: "case identity",
            value: s.to_owned(),
            expected: "input, case, config.<key>",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn time_buckets_are_utc_and_weeks_are_iso() {
        // 23:30 at -05:00 is 04:30 UTC the next day.
        let t = at("2026-12-31T23:30:00-05:00");
        assert_eq!(
            GroupBy::Hour.key("x", t, None).unwrap(),
            "2027-01-01T04:00Z"
        );
        assert_eq!(GroupBy::Day.key("x", t, None).unwrap(), "2027-01-01");
        // 1 January 2027 is a Friday: ISO week 53 of 2026.
        assert_eq!(GroupBy::Week.key("x", t, None).unwrap(), "2026-W53");
        assert_eq!(
            GroupBy::Week
                .key("x", at("2027-01-04T00:00:00Z"), None)
                .unwrap(),
            "2027-W01"
        );
        assert_eq!(GroupBy::Trace.key("abc", t, None).unwrap(), "abc");
    }

    #[test]
    fn config_groups_need_the_key() {
        let by = "config.git_sha".parse::<GroupBy>().unwrap();
        assert_eq!(by.config_key(), Some("git_sha"));
        assert_eq!(by.key("x", Timestamp::UNIX_EPOCH, None), None);
        assert_eq!(
            by.key("x", Timestamp::UNIX_EPOCH, Some("abc")).as_deref(),
            Some("abc")
        );
        assert_eq!(by.to_string(), "config.git_sha");
    }

    #[test]
    fn spellings_parse_and_unknown_ones_say_what_is_accepted() {
        assert_eq!("DAY".parse::<GroupBy>().unwrap(), GroupBy::Day);
        assert_eq!("model".parse::<SegmentBy>().unwrap(), SegmentBy::Model);
        assert_eq!(
            "config.suite".parse::<SegmentBy>().unwrap(),
            SegmentBy::Config("suite".to_owned())
        );
        let err = "month".parse::<GroupBy>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown grouping \"month\" (expected one of: trace, hour, day, week, run, config.<key>)"
        );
        // The imported source's run and case.
        assert_eq!(
            "run".parse::<GroupBy>().unwrap(),
            GroupBy::Config("run".to_owned())
        );
        assert_eq!(
            "Case".parse::<CaseBy>().unwrap(),
            CaseBy::Config("case".to_owned())
        );
        assert!("config.".parse::<SegmentBy>().is_err());
        assert_eq!("Input".parse::<CaseBy>().unwrap(), CaseBy::Input);
        assert_eq!(
            "config.case_id".parse::<CaseBy>().unwrap().config_key(),
            Some("case_id")
        );
        assert_eq!(
            "inputs".parse::<CaseBy>().unwrap_err().to_string(),
            "unknown case identity \"inputs\" (expected one of: input, case, config.<key>)"
        );
    }
}
