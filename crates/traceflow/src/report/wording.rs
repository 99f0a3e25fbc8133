//! The words for the library's typed reasons: what the exporters write and
//! the CLI prints. Flag names (`--window`, `--alpha`) are the CLI's, so they
//! live here, not in the statistics; another front end (Python) reads the
//! typed values instead.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::text::{count, points};
use crate::trend::{Insufficient, Remedy, Shortfall};
use crate::verdict::level_text;

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

/// What a front end calls the options a [`Remedy`] points at: the
/// command's flags ([`OptionNames::FLAGS`], which `Display` uses), or
/// another front end's own (Python's keywords), through [`Remedy::words`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionNames<'a> {
    /// The window of runs analyzed (`--window`).
    pub window: &'a str,
    /// The test's level (`--alpha`).
    pub alpha: &'a str,
    /// The change that matters (`--min-drop`).
    pub min_drop: &'a str,
    /// What pools traces into a run (`--group-by`).
    pub group_by: &'a str,
}

impl OptionNames<'static> {
    /// The command's flags.
    pub const FLAGS: Self = OptionNames {
        window: "--window",
        alpha: "--alpha",
        min_drop: "--min-drop",
        group_by: "--group-by",
    };
}

impl Remedy {
    /// What would fix the data, naming the options as `names` does.
    pub fn words(&self, names: &OptionNames<'_>) -> String {
        let OptionNames {
            window,
            alpha,
            min_drop,
            group_by,
        } = names;
        match self {
            Remedy::CountsWithinTrials => "pass counts of at most each run's decisions".to_owned(),
            Remedy::MoreRuns => format!("widen the window ({window}) or wait for more runs"),
            Remedy::RunsWithDecisions => {
                format!("widen the window ({window}) so that several runs hold decisions")
            }
            Remedy::MoreDecisions { decisions, runs } => format!(
                "about {decisions} decisions are needed: widen the window to about {runs} runs, or pool traces into larger runs"
            ),
            Remedy::RaiseLevelOrMinDrop => format!(
                "no realistic amount of data reveals it at this level: raise the level ({alpha}) or the change that matters ({min_drop})",
            ),
            Remedy::LargerRuns => {
                format!("pool traces into larger runs ({group_by}) or widen the window")
            }
        }
    }
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words(&OptionNames::FLAGS))
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

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: [Remedy; 6] = [
        Remedy::CountsWithinTrials,
        Remedy::MoreRuns,
        Remedy::RunsWithDecisions,
        Remedy::MoreDecisions {
            decisions: 1000,
            runs: 500,
        },
        Remedy::RaiseLevelOrMinDrop,
        Remedy::LargerRuns,
    ];

    #[test]
    fn another_front_end_words_a_remedy_without_flags() {
        let names = OptionNames {
            window: "window=",
            alpha: "alpha=",
            min_drop: "min_drop=",
            group_by: "group_by=",
        };
        for remedy in EVERY {
            let words = remedy.words(&names);
            assert!(!words.contains("--"), "{words}");
            assert_eq!(remedy.to_string(), remedy.words(&OptionNames::FLAGS));
        }
        assert_eq!(
            Remedy::MoreRuns.words(&names),
            "widen the window (window=) or wait for more runs"
        );
        assert_eq!(
            Remedy::RaiseLevelOrMinDrop.to_string(),
            "no realistic amount of data reveals it at this level: raise the level (--alpha) or the change that matters (--min-drop)"
        );
    }
}
