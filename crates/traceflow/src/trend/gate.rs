//! The gate's decision: what a CI job acts on, computed here so that every
//! front end (the CLI's exit codes, the Python package, a dashboard) decides
//! alike.

use super::{SuiteReport, TraceTrendReport, Verdict};

/// What the gate decides, with the reports behind it (indices into
/// [`SuiteReport::reports`]; a trace report is one report, index 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateOutcome {
    /// At least one report is a regression (after Holm's correction): these.
    Regression {
        /// The reports that are regressions.
        reports: Vec<usize>,
    },
    /// No regression, but a report of the total has too little data to
    /// judge (segments may well be small; the total is what a team gates
    /// on). A front end decides whether that passes (`--require-data`).
    TooLittleData {
        /// The reports of the total with too little data.
        reports: Vec<usize>,
    },
    /// No regression, and the total could be judged.
    NoRegression,
}

impl GateOutcome {
    /// The gate over a suite of reports.
    pub fn of_suite(suite: &SuiteReport) -> Self {
        let regressions: Vec<usize> = suite
            .reports
            .iter()
            .enumerate()
            .filter(|(_, r)| r.statistics.verdict == Verdict::Regression)
            .map(|(k, _)| k)
            .collect();
        if !regressions.is_empty() {
            return GateOutcome::Regression {
                reports: regressions,
            };
        }
        let short: Vec<usize> = suite
            .reports
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.segment.is_none() && r.statistics.verdict == Verdict::InsufficientData
            })
            .map(|(k, _)| k)
            .collect();
        if short.is_empty() {
            GateOutcome::NoRegression
        } else {
            GateOutcome::TooLittleData { reports: short }
        }
    }

    /// The gate over the proposal's report: its one verdict.
    pub fn of_trace(report: &TraceTrendReport) -> Self {
        if report.any_regression {
            GateOutcome::Regression { reports: vec![0] }
        } else if report.statistics.verdict == Verdict::InsufficientData {
            GateOutcome::TooLittleData { reports: vec![0] }
        } else {
            GateOutcome::NoRegression
        }
    }

    /// Whether the gate fails: a regression, or too little data when
    /// `require_data`.
    pub fn fails(&self, require_data: bool) -> bool {
        match self {
            GateOutcome::Regression { .. } => true,
            GateOutcome::TooLittleData { .. } => require_data,
            GateOutcome::NoRegression => false,
        }
    }
}

/// The exit codes of a CI gate: a contract with pipelines, the same for
/// `traceflow gate`, `traceflow compare` and the Python package's
/// `exit_code`. (An error, nothing judged, is each front end's own: the
/// command exits 2.)
pub mod exit_code {
    /// No regression (or too little data, unless data is required).
    pub const PASS: u8 = 0;
    /// A regression.
    pub const REGRESSION: u8 = 1;
    /// Too little data to judge, when data is required.
    pub const INSUFFICIENT_DATA: u8 = 3;
}

impl GateOutcome {
    /// The gate's exit code: `require_data` turns too little data into a
    /// failure of its own.
    pub fn exit_code(&self, require_data: bool) -> u8 {
        match self {
            GateOutcome::Regression { .. } => exit_code::REGRESSION,
            GateOutcome::TooLittleData { .. } if require_data => exit_code::INSUFFICIENT_DATA,
            GateOutcome::TooLittleData { .. } | GateOutcome::NoRegression => exit_code::PASS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EvalDecision, RunStatus};
    use crate::store::memory::testing::{eval, trace};
    use crate::store::{MemoryStore, WriteStore};
    use crate::trend::{
        GroupBy, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, TraceTrendAnalyzer,
        VerdictOptions, Window, WindowOptions,
    };

    /// Model a passes every day for 30 days; model b passes for 15 days and
    /// then fails: ten traces a day each.
    fn store() -> MemoryStore {
        let mut store = MemoryStore::new();
        for day in 0..30 {
            for k in 0..10 {
                for model in ["a", "b"] {
                    let id = format!("{model}-{day}-{k}");
                    let at = format!("2026-01-01T{k:02}:00:00Z");
                    let mut t = trace(&id, RunStatus::Done, &at, model);
                    t.created_at = t
                        .created_at
                        .checked_add(jiff::SignedDuration::from_hours(24 * day))
                        .unwrap();
                    store.create_trace(&t).unwrap();
                    let pass = model == "a" || day < 15;
                    let decision = if pass {
                        EvalDecision::Pass
                    } else {
                        EvalDecision::Fallback
                    };
                    store.insert_eval(&eval(&id, 1, decision)).unwrap();
                }
            }
        }
        store
    }

    fn suite(store: &MemoryStore, segment: bool, window: Window) -> SuiteReport {
        SuiteAnalyzer::new(
            store,
            SuiteOptions {
                window: WindowOptions {
                    group_by: GroupBy::Day,
                    runs: window,
                    ..WindowOptions::default()
                },
                metrics: vec![Metric::PassRate],
                segment_by: segment.then_some(SegmentBy::Model),
                ..SuiteOptions::default()
            },
        )
        .analyze()
        .unwrap()
    }

    #[test]
    fn a_regression_names_its_reports() {
        let store = store();
        let report = suite(&store, true, Window::All);
        let gate = GateOutcome::of_suite(&report);
        let GateOutcome::Regression { reports } = &gate else {
            panic!("{gate:?}");
        };
        let segments: Vec<Option<&str>> = reports
            .iter()
            .map(|&k| report.reports[k].segment.as_deref())
            .collect();
        // Model b fell (and so did the total); model a did not.
        assert!(segments.contains(&Some("b")), "{segments:?}");
        assert!(!segments.contains(&Some("a")), "{segments:?}");
        assert!(gate.fails(false));
    }

    #[test]
    fn too_little_data_fails_only_when_data_is_required() {
        let store = store();
        let few = GateOutcome::of_suite(&suite(&store, false, Window::Last(2)));
        assert_eq!(few, GateOutcome::TooLittleData { reports: vec![0] });
        assert!(!few.fails(false));
        assert!(few.fails(true));

        let report = TraceTrendAnalyzer::with_options(&store, VerdictOptions::default())
            .analyze(Window::Last(3))
            .unwrap();
        assert_eq!(
            GateOutcome::of_trace(&report),
            GateOutcome::TooLittleData { reports: vec![0] }
        );
    }

    #[test]
    fn a_stable_history_passes() {
        let mut store = MemoryStore::new();
        for day in 0..30 {
            let id = format!("t{day}");
            let at = format!("2026-01-{:02}T00:00:00Z", day + 1);
            store
                .create_trace(&trace(&id, RunStatus::Done, &at, "a"))
                .unwrap();
            for seq in 0..20 {
                store
                    .insert_eval(&eval(&id, seq, EvalDecision::Pass))
                    .unwrap();
            }
        }
        let gate = GateOutcome::of_suite(&suite(&store, false, Window::All));
        assert_eq!(gate, GateOutcome::NoRegression);
        assert!(!gate.fails(true));
    }
}
