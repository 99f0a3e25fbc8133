//! What is trended: the gate's rates, scores, and the cost of a run.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

pub(crate) mod measure;

pub use crate::model::PASSED_PREFIX;

/// A per-run quantity whose trend is judged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Metric {
    /// PASS decisions / all decisions (every attempt counts).
    PassRate,
    /// Traces whose last decision is PASS / traces: what users got.
    FinalPassRate,
    /// REVISE decisions / all decisions.
    ReviseRate,
    /// FALLBACK decisions / all decisions.
    FallbackRate,
    /// Mean of every finite score value of the run's decisions.
    AvgScore,
    /// Mean of one named score (`score.<name>`).
    Score(String),
    /// One evaluation's pass rate (`pass-rate.<name>`): the share of the
    /// executions it judged that it passed, from the `passed:<name>`
    /// indicators an import records beside the scores.
    EvaluationPassRate(String),
    /// Mean cost of a trace, in US dollars (sum of its steps).
    Cost,
    /// Mean wall time of a trace, in milliseconds (sum of its steps).
    Latency,
    /// Mean tokens of a trace (sum of its steps).
    Tokens,
    /// Mean REVISE decisions per trace.
    Revisions,
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Worse {
    /// A decline is a regression (pass rate, scores).
    Lower,
    /// A rise is a regression (revise rate, cost, latency).
    Higher,
}

impl Worse {
    /// "decline" or "rise": a move toward worse.
    pub fn worsening(self) -> &'static str {
        match self {
            Worse::Lower => "decline",
            Worse::Higher => "rise",
        }
    }
}

/// How a metric is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Counts of events among trials: Cochran–Armitage on pooled counts,
    /// the step test, the minimum detectable change.
    Rate,
    /// A per-run mean of a measurement: Mann–Kendall with Sen's slope.
    Mean,
}

impl Metric {
    /// The metrics a front end was asked for, in the order asked, each
    /// once; the pass rate when none was.
    pub fn asked(metrics: impl IntoIterator<Item = Metric>) -> Vec<Metric> {
        let mut asked: Vec<Metric> = Vec::new();
        for metric in metrics {
            if !asked.contains(&metric) {
                asked.push(metric);
            }
        }
        if asked.is_empty() {
            asked.push(Metric::PassRate);
        }
        asked
    }

    /// Every metric `--all-metrics` reports (named scores only when asked).
    pub const ALL: &'static [Metric] = &[
        Metric::PassRate,
        Metric::FinalPassRate,
        Metric::ReviseRate,
        Metric::FallbackRate,
        Metric::AvgScore,
        Metric::Cost,
        Metric::Latency,
        Metric::Tokens,
        Metric::Revisions,
    ];

    /// The spellings `--metric` accepts, for help texts.
    pub const NAMES: &'static str = "pass-rate, final-pass-rate, revise-rate, fallback-rate, avg-score, score.<name>, pass-rate.<name>, cost, latency, tokens, revisions";

    /// Which way is worse.
    pub fn worse(&self) -> Worse {
        match self {
            Metric::PassRate
            | Metric::FinalPassRate
            | Metric::AvgScore
            | Metric::Score(_)
            | Metric::EvaluationPassRate(_) => Worse::Lower,
            Metric::ReviseRate
            | Metric::FallbackRate
            | Metric::Cost
            | Metric::Latency
            | Metric::Tokens
            | Metric::Revisions => Worse::Higher,
        }
    }

    /// How it is tested.
    pub fn kind(&self) -> MetricKind {
        match self {
            Metric::PassRate
            | Metric::FinalPassRate
            | Metric::ReviseRate
            | Metric::FallbackRate
            | Metric::EvaluationPassRate(_) => MetricKind::Rate,
            _ => MetricKind::Mean,
        }
    }

    /// The key of the decisions' scores object it reads, if it reads one:
    /// `<name>` for `score.<name>`, `passed:<name>` for `pass-rate.<name>`.
    pub fn score_key(&self) -> Option<String> {
        match self {
            Metric::Score(name) => Some(name.clone()),
            Metric::EvaluationPassRate(name) => Some(format!("{PASSED_PREFIX}{name}")),
            _ => None,
        }
    }

    /// Whether `key` is the scores-object key it reads ([`Metric::score_key`]),
    /// without building the key: a run's measurement asks per trace.
    pub fn reads_score(&self, key: &str) -> bool {
        match self {
            Metric::Score(name) => key == name,
            Metric::EvaluationPassRate(name) => key.strip_prefix(PASSED_PREFIX) == Some(name),
            _ => false,
        }
    }

    /// Whether it is a pass rate: of every decision, or of one evaluation.
    /// Its trend can rest on the same cases across runs.
    pub fn is_pass_rate(&self) -> bool {
        matches!(self, Metric::PassRate | Metric::EvaluationPassRate(_))
    }

    /// Whether the metric needs `trace_steps`' usage columns.
    pub fn needs_steps(&self) -> bool {
        matches!(self, Metric::Cost | Metric::Latency | Metric::Tokens)
    }

    /// Its name in sentences: "pass rate", "cost per trace".
    pub fn noun(&self) -> String {
        match self {
            Metric::PassRate => "pass rate".to_owned(),
            Metric::FinalPassRate => "final pass rate".to_owned(),
            Metric::ReviseRate => "revise rate".to_owned(),
            Metric::FallbackRate => "fallback rate".to_owned(),
            Metric::AvgScore => "average score".to_owned(),
            Metric::Score(name) => format!("score {name:?}"),
            Metric::EvaluationPassRate(name) => format!("pass rate of {name:?}"),
            Metric::Cost => "cost per trace".to_owned(),
            Metric::Latency => "latency per trace".to_owned(),
            Metric::Tokens => "tokens per trace".to_owned(),
            Metric::Revisions => "revisions per trace".to_owned(),
        }
    }

    /// The unit of its values: `rate`, `score`, `usd`, `ms`, `tokens`,
    /// `revisions`.
    pub fn unit(&self) -> &'static str {
        match self {
            Metric::PassRate
            | Metric::FinalPassRate
            | Metric::ReviseRate
            | Metric::FallbackRate
            | Metric::EvaluationPassRate(_) => "rate",
            Metric::AvgScore | Metric::Score(_) => "score",
            Metric::Cost => "usd",
            Metric::Latency => "ms",
            Metric::Tokens => "tokens",
            Metric::Revisions => "revisions",
        }
    }

    /// A value in its unit, for people: `84.2%`, `$0.0123`, `812 ms`.
    pub fn format_value(&self, value: f64) -> String {
        match self.unit() {
            "rate" => format!("{:.1}%", 100.0 * value),
            "usd" => format!("${}", crate::text::significant(value, 3)),
            "ms" => format!("{value:.0} ms"),
            "tokens" => format!("{value:.0}"),
            _ => format!("{value:.3}"),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::PassRate => f.write_str("pass-rate"),
            Metric::FinalPassRate => f.write_str("final-pass-rate"),
            Metric::ReviseRate => f.write_str("revise-rate"),
            Metric::FallbackRate => f.write_str("fallback-rate"),
            Metric::AvgScore => f.write_str("avg-score"),
            Metric::Score(name) => write!(f, "score.{name}"),
            Metric::EvaluationPassRate(name) => write!(f, "pass-rate.{name}"),
            Metric::Cost => f.write_str("cost"),
            Metric::Latency => f.write_str("latency"),
            Metric::Tokens => f.write_str("tokens"),
            Metric::Revisions => f.write_str("revisions"),
        }
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A `--metric` spelling that names no metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?} (expected one of: {names})", names = Metric::NAMES)]
pub struct UnknownMetric(pub String);

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(name) = text.strip_prefix("score.") {
            if name.is_empty() {
                return Err(UnknownMetric(s.to_owned()));
            }
            return Ok(Metric::Score(name.to_owned()));
        }
        if let Some(name) = text.strip_prefix("pass-rate.") {
            if name.is_empty() {
                return Err(UnknownMetric(s.to_owned()));
            }
            return Ok(Metric::EvaluationPassRate(name.to_owned()));
        }
        Metric::ALL
            .iter()
            .find(|m| m.to_string().eq_ignore_ascii_case(text))
            .cloned()
            .ok_or_else(|| UnknownMetric(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_knows_which_way_is_worse() {
        for metric in Metric::ALL {
            assert_eq!(&metric.to_string().parse::<Metric>().unwrap(), metric);
        }
        assert_eq!(
            "score.groundedness".parse::<Metric>().unwrap(),
            Metric::Score("groundedness".to_owned())
        );
        assert_eq!(Metric::Cost.worse(), Worse::Higher);
        assert_eq!(Metric::FinalPassRate.worse(), Worse::Lower);
        assert_eq!(Metric::ReviseRate.kind(), MetricKind::Rate);
        assert_eq!(Metric::Latency.kind(), MetricKind::Mean);
        let of = "pass-rate.faithfulness".parse::<Metric>().unwrap();
        assert_eq!(of, Metric::EvaluationPassRate("faithfulness".to_owned()));
        assert_eq!(of.to_string(), "pass-rate.faithfulness");
        assert_eq!(of.kind(), MetricKind::Rate);
        assert_eq!(of.worse(), Worse::Lower);
        assert_eq!(of.score_key().as_deref(), Some("passed:faithfulness"));
        assert!(of.reads_score("passed:faithfulness"));
        assert!(!of.reads_score("faithfulness"));
        assert!(Metric::Score("faithfulness".into()).reads_score("faithfulness"));
        assert!("pass-rate.".parse::<Metric>().is_err());
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        let err = "pass_rate".parse::<Metric>().unwrap_err().to_string();
        assert!(err.starts_with("unknown metric \"pass_rate\" (expected one of: pass-rate"));
        assert!("score.".parse::<Metric>().is_err());
    }

    #[test]
    fn the_metrics_asked_keep_their_order_once_each_and_default_to_the_pass_rate() {
        assert_eq!(Metric::asked([]), [Metric::PassRate]);
        let asked = Metric::asked([Metric::Cost, Metric::PassRate, Metric::Cost]);
        assert_eq!(asked, [Metric::Cost, Metric::PassRate]);
        let all = Metric::asked(Metric::ALL.iter().cloned().chain([Metric::Latency]));
        assert_eq!(all, Metric::ALL);
    }
}
