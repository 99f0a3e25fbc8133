//! The words for the library's typed reasons: what the exporters write and
//! the CLI prints. Flag names (`--window`, `--alpha`) are the CLI's, so they
//! live here, not in the statistics; another front end (Python) reads the
//! typed values instead.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::text::{count, points};
use crate::trend::verdict::level_text;
use crate::trend::{Insufficient, Remedy, Shortfall};

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shortfall::NotCounts { run, events, trials } => {
                write!(f, "run {run} has {events} passes of {trials} decisions")
            }
            Shortfall::TooFewForALine { runs } => write!(
                f,
                "{} with a value (the proposal's rule fits a line through at least 2)",
                count(*runs, "run")
            ),
            Shortfall::TooFewRuns {
                runs,
                decisions,
                min_runs,
                min_decisions,
            } => write!(
                f,
                "{} with {} (at least {min_runs} runs and {min_decisions} decisions are needed)",
                count(*runs, "run"),
                count(usize::try_from(*decisions).unwrap_or(usize::MAX), "decision")
            ),
            Shortfall::NoTrendTest { why } => write!(f, "no trend test for these runs: {why}"),
            Shortfall::Underpowered {
                runs,
                detectable,
                worsening,
                level,
                min_drop,
            } => {
                let can = if *detectable >= 1.0 {
                    "cannot reveal even a change of 100 points".to_owned()
                } else {
                    format!("can only reveal a {worsening} of {} or more", points(*detectable))
                };
                write!(
                    f,
                    "these {} {can} (80% power at level {}); min-drop is {}",
                    count(*runs, "run"),
                    level_text(*level),
                    points(*min_drop),
                )
            }
            Shortfall::TooFewValues { runs, needed } => write!(
                f,
                "{} with a value (at least {needed} are needed)",
                count(*runs, "run")
            ),
            Shortfall::WideInterval { reach, runs, limit } => write!(
                f,
                "the 95% interval of the change reaches {:.1}% toward worse across these {}, more than 3 × min-drop ({:.1}%)",
                100.0 * reach,
                count(*runs, "run"),
                100.0 * limit
            ),
            Shortfall::WideWithinCases { reach, runs, limit } => write!(
                f,
                "the 95% interval of the change within the same cases reaches {} toward worse across these {}, more than 3 × min-drop ({})",
                points(*reach),
                count(*runs, "run"),
                points(*limit)
            ),
            Shortfall::AllZero => {
                f.write_str("the runs' values are all 0: no relative change can be measured")
            }
            Shortfall::SlopeUndefined => f.write_str(
                "Sen's slope is undefined: the runs' values differ by more than the largest float",
            ),
            Shortfall::RelativeOverflow => {
                f.write_str("the change relative to the level is past the largest float")
            }
        }
    }
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::CountsWithinTrials => f.write_str("pass counts of at most each run's decisions"),
            Remedy::MoreRuns => f.write_str("widen the window (--window) or wait for more runs"),
            Remedy::RunsWithDecisions => {
                f.write_str("widen the window (--window) so that several runs hold decisions")
            }
            Remedy::MoreDecisions { decisions, runs } => write!(
                f,
                "about {decisions} decisions are needed: widen the window to about {runs} runs, or pool traces into larger runs"
            ),
            Remedy::RaiseLevelOrMinDrop => f.write_str(
                "no realistic amount of data reveals it at this level: raise the level (--alpha) or the change that matters (--min-drop)",
            ),
            Remedy::LargerRuns => {
                f.write_str("pool traces into larger runs (--group-by) or widen the window")
            }
        }
    }
}

/// The JSON contract: `{"reason": "…", "remedy": "…"}`, in these words.
impl Serialize for Insufficient {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Insufficient", 2)?;
        out.serialize_field("reason", &self.reason.to_string())?;
        out.serialize_field("remedy", &self.remedy.to_string())?;
        out.end()
    }
}
