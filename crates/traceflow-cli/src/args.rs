//! Command-line arguments, and their one conversion into the library's types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use traceflow::report::Format;
use traceflow::stats::RepeatedOptions;
use traceflow::trend::{Method, VerdictOptions, Window, MIN_RUNS};

/// Is your agent getting better or worse? Cross-run trends and a CI gate over
/// TraceFlow Lite trace stores.
#[derive(Debug, Parser)]
#[command(
    name = "traceflow",
    version,
    after_help = "Exit codes: 0 done (gate: no regression), 1 gate found a regression, 2 error (nothing judged), 3 gate --require-data found too little data."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the pass-rate trend across runs (exit 0, or 2 on error).
    Trend(TrendArgs),
    /// Like `trend`, but exit 1 on a regression: for CI pipelines.
    Gate(TrendArgs),
    /// List the newest traces.
    List(ListArgs),
    /// Show one trace with its steps and eval verdicts.
    Show(ShowArgs),
    /// Write a realistic demo store and print its trend.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The TraceFlow Lite store (never created or changed by reading).
    #[arg(long, env = "TRACEFLOW_DB", default_value = "traceflow.db")]
    pub db: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Most recent finished runs to analyze, or `all` [default: 500 for
    /// auto, whose test needs about 1,000 decisions to see a 15-point
    /// decline; 20 for ols, as the proposal had it].
    #[arg(long, value_parser = parse_window)]
    pub window: Option<Window>,
    /// The rule behind the verdict.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// auto: the chance of a false alarm (one-sided significance level), over
    /// --evaluations successive gate runs.
    #[arg(long, default_value_t = 0.01, value_parser = parse_alpha)]
    pub alpha: f64,
    /// The smallest decline across the window that matters, as a rate
    /// (0.05 = 5 points).
    #[arg(long, default_value_t = 0.05, value_parser = parse_min_drop)]
    pub min_drop: f64,
    /// gate: exit 3 instead of 0 when there is too little data to judge.
    #[arg(long)]
    pub require_data: bool,
    /// auto: for a gate run after every new run, how many successive runs
    /// --alpha covers. With 100, each evaluation is held to a smaller level
    /// (simulated) so that 100 evaluations of a stable history raise a false
    /// alarm with probability --alpha; with 1, every evaluation has its own
    /// --alpha (and 100 of them a 4–40% chance of one, measured: see
    /// docs/statistics.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub evaluations: u32,
    /// ols: per-run slope beyond which the direction is called.
    #[arg(long, default_value_t = 0.01, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// How many of the newest traces.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The trace's id, or its start as the trend table shows it.
    pub trace_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo store. The default file is replaced on every
    /// run; any other existing file is kept unless --force is given.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Replace --db if it exists.
    #[arg(long)]
    pub force: bool,
    /// Days of history.
    #[arg(long, default_value_t = 42, value_parser = clap::value_parser!(u32).range(2..=3650))]
    pub days: u32,
    /// Runs per day, on average.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub runs_per_day: u32,
    /// Seed of the random history.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Last day of the history (default: today, UTC).
    #[arg(long, value_parser = parse_day)]
    pub end: Option<jiff::Timestamp>,
}

/// The default demo file, replaced on every run.
pub const DEMO_DB: &str = "traceflow-demo.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Significance-tested trend (Cochran–Armitage) with a minimum drop, the
    /// run where a decline started, and "insufficient data" when the data
    /// cannot tell.
    Auto,
    /// The proposal's rule: OLS slope of pass rate against ±threshold per
    /// run, with no error control.
    Ols,
}

impl From<MethodArg> for Method {
    fn from(method: MethodArg) -> Self {
        match method {
            MethodArg::Auto => Method::Auto,
            MethodArg::Ols => Method::Ols,
        }
    }
}

impl TrendArgs {
    /// The window asked for, or the method's default.
    pub fn window(&self) -> Window {
        self.window
            .unwrap_or_else(|| Method::from(self.method).default_window())
    }

    /// The verdict's options, in the library's terms.
    pub fn verdict_options(&self) -> VerdictOptions {
        let defaults = VerdictOptions::default();
        VerdictOptions {
            method: self.method.into(),
            alpha: self.alpha,
            min_drop: self.min_drop,
            threshold: self.threshold,
            repeated: RepeatedOptions {
                evaluations: self.evaluations as usize,
                ..defaults.repeated
            },
            ..defaults
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A table for people.
    Table,
    /// JSON for scripts (see the README for the layout).
    Json,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
        }
    }
}

fn parse_window(text: &str) -> Result<Window, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(Window::All);
    }
    match text.parse::<usize>() {
        Ok(n) if n >= MIN_RUNS => Ok(Window::Last(n)),
        _ => Err(format!("expected a number of runs >= {MIN_RUNS}, or `all`")),
    }
}

fn parse_threshold(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err("expected a finite number >= 0 (a slope per run, e.g. 0.01)".to_owned()),
    }
}

fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(a) if a > 0.0 && a < 0.5 => Ok(a),
        _ => Err("expected a level between 0 and 0.5, e.g. 0.01".to_owned()),
    }
}

fn parse_min_drop(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(d) if d > 0.0 && d < 1.0 => Ok(d),
        _ => Err("expected a rate above 0 and below 1, e.g. 0.05 for 5 points".to_owned()),
    }
}

fn parse_day(text: &str) -> Result<jiff::Timestamp, String> {
    traceflow::timestamp::parse(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_takes_counts_and_all() {
        assert_eq!(parse_window("20"), Ok(Window::Last(20)));
        assert_eq!(parse_window("ALL"), Ok(Window::All));
        assert!(parse_window("1").is_err());
        assert!(parse_window("-3").is_err());
        assert!(parse_window("twenty").is_err());
    }

    #[test]
    fn threshold_rejects_negative_and_nan() {
        assert_eq!(parse_threshold("0.02"), Ok(0.02));
        assert!(parse_threshold("-0.01").is_err());
        assert!(parse_threshold("NaN").is_err());
        assert!(parse_threshold("inf").is_err());
    }

    #[test]
    fn alpha_and_min_drop_are_rates() {
        assert_eq!(parse_alpha("0.05"), Ok(0.05));
        assert!(parse_alpha("0").is_err());
        assert!(parse_alpha("0.5").is_err());
        assert_eq!(parse_min_drop("0.1"), Ok(0.1));
        assert!(parse_min_drop("0").is_err());
        assert!(parse_min_drop("5").is_err());
        assert!(parse_min_drop("NaN").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
