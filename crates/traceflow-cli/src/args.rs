//! Command-line arguments, and their one conversion into the library's types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use traceflow::cases::{CaseOptions, SplitAt};
use traceflow::compare::{CompareOptions, Selector};
use traceflow::report::{Format, RunListing};
use traceflow::stats::RepeatedOptions;
use traceflow::store::{ReadStore, StoreSpec};
use traceflow::timestamp::TimeBound;
use traceflow::trend::{
    CaseBy, GroupBy, Method, Metric, SegmentBy, SuiteOptions, VerdictOptions, Window, WindowOptions,
};
use traceflow::verdict::MAX_EVALUATIONS;

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
    Gate(GateArgs),
    /// Which cases (test inputs) broke: each case's pass rate before and
    /// after a split, tested per case, regressed ones first (exit 0, or 2
    /// on error).
    Cases(CasesArgs),
    /// A candidate's runs against a baseline's (a PR against main): the
    /// pass rate's difference, paired through the cases when they repeat,
    /// every metric's, and the cases that broke. Exits like `gate`.
    Compare(CompareArgs),
    /// List the newest traces.
    List(ListArgs),
    /// Show one trace with its steps and eval verdicts.
    Show(ShowArgs),
    /// Write a realistic demo store and print its trend.
    Demo(DemoArgs),
    /// Copy a local store's traces, steps and verdicts into a team's
    /// PostgreSQL database: idempotent, incremental, one transaction.
    Push(PushArgs),
    /// Create (`init`) or upgrade (`migrate`) a team database's schema.
    #[command(subcommand)]
    Db(DbCommand),
    /// Import other eval tools' results (OpenTelemetry GenAI evaluation
    /// events, promptfoo, Inspect AI, DeepEval, JUnit, traceflow's JSON
    /// lines) into a store: idempotent, one transaction per file.
    Import(ImportArgs),
    /// Serve the store over HTTP: the HTML reports as pages, and every
    /// reading command's JSON at /api/ (its flags as query parameters).
    /// Runs until Ctrl-C.
    Serve(ServeArgs),
    /// Evaluate the gate when the store changes and every --interval, and
    /// POST to each --alert-webhook when a regression opens or recovers.
    /// Runs until Ctrl-C (or once, with --once).
    Watch(WatchArgs),
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    #[command(flatten)]
    pub method: MethodArgs,
    #[command(flatten)]
    pub measure: MetricArgs,
    /// Where to POST when a verdict changes state (repeatable).
    #[arg(
        long = "alert-webhook",
        value_name = "URL",
        required = true,
        help_heading = "Alerts"
    )]
    pub webhooks: Vec<String>,
    /// The body: `json` (the change and the gate's JSON report) or `slack`
    /// (`{"text": ...}`, for a Slack or Mattermost incoming webhook).
    #[arg(long, value_enum, default_value_t = AlertFormatArg::Json, help_heading = "Alerts")]
    pub alert_format: AlertFormatArg,
    /// How often to evaluate even when the store has not changed (`30s`,
    /// `1m`, `5m`).
    #[arg(long, default_value = "1m", value_parser = parse_interval, help_heading = "Alerts")]
    pub interval: jiff::SignedDuration,
    /// The file that keeps which regressions are open, so a restart
    /// neither repeats nor loses an alert.
    #[arg(long, default_value = "traceflow-alerts.json", help_heading = "Alerts")]
    pub state: PathBuf,
    /// Evaluate once, alert if the state changed, and exit (for cron).
    #[arg(long, help_heading = "Alerts")]
    pub once: bool,
}

impl WatchArgs {
    /// The gate's arguments for each evaluation: the trend's, its report
    /// as JSON.
    pub fn trend(&self) -> TrendArgs {
        TrendArgs {
            store: self.store.clone(),
            window: self.window.clone(),
            rule: self.rule.clone(),
            method: self.method.clone(),
            measure: self.measure.clone(),
            report: ReportArgs {
                format: ReportFormatArg::Json,
                output: PathBuf::from("-"),
            },
            runs: None,
        }
    }
}

/// The body of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertFormatArg {
    /// The change, and the gate's JSON report.
    Json,
    /// `{"text": ...}`.
    Slack,
}

/// An interval: `30s`, `1m`, `5m`, `2h` (at least a second).
fn parse_interval(text: &str) -> Result<jiff::SignedDuration, String> {
    let span: jiff::Span = text
        .trim()
        .parse()
        .map_err(|_| format!("expected an interval such as 30s, 1m or 5m, got {text:?}"))?;
    let interval = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| e.to_string())?;
    if interval < jiff::SignedDuration::from_secs(1) {
        return Err(format!("the interval {text:?} is under a second"));
    }
    Ok(interval)
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The address to listen on: loopback by default; any other needs a
    /// token. Port 0 takes a free one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8716", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// The token every request must carry (`Authorization: Bearer
    /// TOKEN`); required when --bind is not a loopback address.
    #[arg(long, env = "TRACEFLOW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Alert this webhook when a regression opens or recovers, as
    /// `traceflow watch` does (repeatable).
    #[arg(long = "alert-webhook", value_name = "URL", help_heading = "Alerts")]
    pub webhooks: Vec<String>,
    /// The gate the alerts watch, as a query string of its flags
    /// (`group-by=day&window=all&metric=cost`) [default: the gate's
    /// defaults].
    #[arg(
        long,
        value_name = "QUERY",
        default_value = "",
        help_heading = "Alerts"
    )]
    pub alert_gate: String,
    /// The alerts' body: `json` or `slack`.
    #[arg(long, value_enum, default_value_t = AlertFormatArg::Json, help_heading = "Alerts")]
    pub alert_format: AlertFormatArg,
    /// How often the alerts' gate is evaluated even when the store has not
    /// changed.
    #[arg(long, default_value = "1m", value_parser = parse_interval, help_heading = "Alerts")]
    pub alert_interval: jiff::SignedDuration,
    /// The file that keeps which regressions are open.
    #[arg(long, default_value = "traceflow-alerts.json", help_heading = "Alerts")]
    pub alert_state: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files, folders (read recursively) or `-` (stdin) to import.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The SQLite store to write, created (in TraceFlow Lite's layout) when
    /// missing. A team database gets imported results by `traceflow push`.
    #[arg(long, env = "TRACEFLOW_DB", default_value = "traceflow.db")]
    pub db: PathBuf,
    /// `--db` came from `$TRACEFLOW_DB`.
    #[arg(skip)]
    pub from_env: bool,
    /// The files' format: otlp, promptfoo, inspect, deepeval, junit or
    /// jsonl [default: detected from each file's content].
    #[arg(long)]
    pub format: Option<traceflow::import::Format>,
    /// A value attached to every imported result, as a config key
    /// (`--label git_sha=abc123`, then `--group-by config.git_sha`).
    /// Repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Import the files that read and list the others (exit 2 still),
    /// rather than refuse the whole import.
    #[arg(long)]
    pub keep_going: bool,
    /// Read and count the results; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluation NAME passes when its score is at least SCORE (`*` for
    /// every evaluation; repeatable), whatever its tool said.
    #[arg(long = "pass-at", value_name = "NAME=SCORE", help_heading = "Judging")]
    pub pass_at: Vec<String>,
    /// Evaluation NAME's label WORD (any letter case) says it passed (`*`
    /// for every evaluation; repeatable).
    #[arg(
        long = "pass-label",
        value_name = "NAME=WORD",
        help_heading = "Judging"
    )]
    pub pass_labels: Vec<String>,
    /// Evaluation NAME's label WORD says it failed (`*` for every
    /// evaluation; repeatable).
    #[arg(
        long = "fail-label",
        value_name = "NAME=WORD",
        help_heading = "Judging"
    )]
    pub fail_labels: Vec<String>,
}

impl ImportArgs {
    /// The rules for evaluations' pass or fail, each flag's error named.
    pub fn judging(&self) -> anyhow::Result<traceflow::import::Judging> {
        let mut judging = traceflow::import::Judging::default();
        for rule in &self.pass_at {
            judging
                .add_pass_at(rule)
                .map_err(|e| anyhow::anyhow!("--pass-at: {e}"))?;
        }
        for (rules, passes, flag) in [
            (&self.pass_labels, true, "--pass-label"),
            (&self.fail_labels, false, "--fail-label"),
        ] {
            for rule in rules {
                judging
                    .add_label(rule, passes)
                    .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
            }
        }
        Ok(judging)
    }
}

fn parse_label(text: &str) -> Result<(String, String), traceflow::error::InvalidValue> {
    traceflow::import::parse_label(text)
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The local TraceFlow Lite store to copy (read, never changed; rows
    /// still in its `-wal` come along).
    #[arg(long, default_value = "traceflow.db")]
    pub from: PathBuf,
    /// The team database: a `postgres://` URL or a libpq key=value string.
    #[arg(long, env = "TRACEFLOW_DB")]
    pub to: PathBuf,
    /// `--to` came from `$TRACEFLOW_DB`.
    #[arg(skip)]
    pub to_from_env: bool,
    /// Send and compare every row, even where the database has seen this
    /// store before.
    #[arg(long)]
    pub full: bool,
    /// Do the whole push, then roll it back: say what would move.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create traceflow's tables, keys and indexes in an empty database
    /// (a database that has them is left as it is).
    Init(DbArgs),
    /// Move an older traceflow schema forward to this version's.
    Migrate(DbArgs),
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The team database: a `postgres://` URL or a libpq key=value string.
    #[arg(long, env = "TRACEFLOW_DB")]
    pub db: PathBuf,
    /// `--db` came from `$TRACEFLOW_DB`.
    #[arg(skip)]
    pub from_env: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The store: a TraceFlow Lite file, or a team database as a
    /// `postgres://` URL or a libpq key=value string (never created or
    /// changed by reading).
    #[arg(long, env = "TRACEFLOW_DB", default_value = "traceflow.db")]
    pub db: PathBuf,
    /// `--db` came from `$TRACEFLOW_DB`.
    #[arg(skip)]
    pub from_env: bool,
}

impl StoreArgs {
    /// The store named, a PostgreSQL spec parsed (its password never shown).
    pub fn spec(&self) -> anyhow::Result<StoreSpec> {
        named_by_env(StoreSpec::parse(self.db.as_os_str()), self.from_env)
    }

    /// The store named, opened for reading.
    pub fn open(&self) -> anyhow::Result<(StoreSpec, Box<dyn ReadStore>)> {
        let spec = self.spec()?;
        let store = named_by_env(spec.open_read_only(), self.from_env)?;
        Ok((spec, store))
    }
}

/// An error about a store says so when `$TRACEFLOW_DB` named it: a user
/// who typed no `--db` would not know where the name came from.
pub fn named_by_env<T, E>(result: Result<T, E>, from_env: bool) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.map_err(|err| {
        let err = anyhow::Error::new(err);
        if from_env {
            err.context("$TRACEFLOW_DB")
        } else {
            err
        }
    })
}

impl Cli {
    /// Marks the store arguments whose value came from `$TRACEFLOW_DB`,
    /// as `matches` (what this command line parsed into) records it.
    pub fn mark_env(&mut self, matches: &clap::ArgMatches) {
        let mut deepest = matches;
        while let Some((_, sub)) = deepest.subcommand() {
            deepest = sub;
        }
        let from_env = |id: &str| {
            deepest.ids().any(|i| i.as_str() == id)
                && deepest.value_source(id) == Some(clap::parser::ValueSource::EnvVariable)
        };
        match &mut self.command {
            Command::Trend(args) | Command::Gate(GateArgs { trend: args, .. }) => {
                args.store.from_env = from_env("db");
            }
            Command::Cases(args) => args.store.from_env = from_env("db"),
            Command::Compare(args) => args.store.from_env = from_env("db"),
            Command::List(args) => args.store.from_env = from_env("db"),
            Command::Show(args) => args.store.from_env = from_env("db"),
            Command::Push(args) => args.to_from_env = from_env("to"),
            Command::Import(args) => args.from_env = from_env("db"),
            Command::Serve(args) => args.store.from_env = from_env("db"),
            Command::Watch(args) => args.store.from_env = from_env("db"),
            Command::Db(DbCommand::Init(args) | DbCommand::Migrate(args)) => {
                args.from_env = from_env("db");
            }
            Command::Demo(_) => {}
        }
    }
}

/// Which runs are judged: what a run is, how many of the newest, the time
/// bounds, and crashed traces (`trend`, `gate`, `cases`, `compare`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Window")]
pub struct WindowArgs {
    /// Most recent finished runs to analyze, or `all` [default: 500, as
    /// auto's test needs about 1,000 decisions to see a 15-point decline;
    /// 20 with `--method ols`, as the proposal had it].
    #[arg(long)]
    pub window: Option<Window>,
    /// What a run is: `trace` (each trace), `hour`, `day`, `week` (UTC,
    /// ISO weeks), `run` (the imported source's run: `config.run`), or
    /// `config.<key>` (one run per value of a config_json key, such as a
    /// git sha or suite id, ordered by its first trace).
    #[arg(long, default_value = "trace")]
    pub group_by: GroupBy,
    /// Only traces started at or after this: an age (`14d`, `36h`, `2w`)
    /// or a time (`2026-11-01`, RFC 3339).
    #[arg(long, value_parser = parse_time_bound)]
    pub since: Option<TimeBound>,
    /// Only traces started before this: an age or a time, as --since.
    #[arg(long, value_parser = parse_time_bound)]
    pub until: Option<TimeBound>,
    /// Count traces still `running` that started more than this long ago
    /// (`2h`, `1d`) as failed: runs that crashed without recording their
    /// end. Reported apart from the running traces left out. Off by
    /// default.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub stale_after: Option<jiff::SignedDuration>,
}

impl WindowArgs {
    /// The window asked for, or `method`'s default.
    pub fn window(&self, method: Method) -> Window {
        self.window.unwrap_or_else(|| method.default_window())
    }

    /// The library's window options, `method`'s default window unless one
    /// was given, ages resolved against `now`.
    pub fn options(&self, method: Method, now: jiff::Timestamp) -> Result<WindowOptions, String> {
        Ok(WindowOptions {
            runs: self.window(method),
            group_by: self.group_by.clone(),
            since: self
                .since
                .map(|b| b.resolve(now))
                .transpose()
                .map_err(text)?,
            until: self
                .until
                .map(|b| b.resolve(now))
                .transpose()
                .map_err(text)?,
            stale_before: self.stale_before(now)?,
        })
    }

    /// The instant before which a running trace is stale, if asked.
    pub fn stale_before(&self, now: jiff::Timestamp) -> Result<Option<jiff::Timestamp>, String> {
        self.stale_after
            .map(|age| TimeBound::Ago(age).resolve(now))
            .transpose()
            .map_err(text)
    }
}

/// The level every verdict is held to (`trend`, `gate`, `cases`,
/// `compare`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Verdict")]
pub struct RuleArgs {
    /// The chance of a false alarm (one-sided significance level); for
    /// `trend` and `gate`, over --evaluations successive gate runs.
    #[arg(long, default_value_t = 0.01, value_parser = parse_alpha)]
    pub alpha: f64,
    /// The smallest change toward worse that matters: for rates in points
    /// (0.05 = 5 points), for means (scores, cost, latency, tokens,
    /// revisions) relative to their level (0.05 = 5%).
    #[arg(long, default_value_t = 0.05, value_parser = parse_min_drop)]
    pub min_drop: f64,
}

impl RuleArgs {
    /// The verdict's options under `auto`, in the library's terms.
    pub fn verdict_options(&self) -> VerdictOptions {
        VerdictOptions {
            alpha: self.alpha,
            min_drop: self.min_drop,
            ..VerdictOptions::default()
        }
    }
}

/// The trend's rule: the method, repeated gating and the proposal's
/// threshold (`trend`, `gate`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Verdict")]
pub struct MethodArgs {
    /// The rule behind the verdict.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// auto: for a gate run after every new run, how many successive runs
    /// --alpha covers. With 100, each evaluation is held to a smaller level
    /// (simulated) so that 100 evaluations of a stable history raise a false
    /// alarm with probability --alpha; with 1, every evaluation has its own
    /// --alpha (and 100 of them a 4–40% chance of one, measured: see
    /// docs/statistics.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_EVALUATIONS as i64))]
    pub evaluations: u32,
    /// ols: per-run slope beyond which the direction is called.
    #[arg(long, default_value_t = 0.01, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f64,
}

/// What the trend measures: its metrics, segments and flaky cases
/// (`trend`, `gate`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Metrics")]
pub struct MetricArgs {
    /// The metric to trend (repeatable): pass-rate (default),
    /// final-pass-rate, revise-rate, fallback-rate, avg-score,
    /// `score.<name>`, `pass-rate.<name>` (an imported evaluation's own
    /// pass rate), cost, latency, tokens, revisions.
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<Metric>,
    /// Trend every metric (plus any `--metric score.<name>` or
    /// `pass-rate.<name>`), one line each.
    #[arg(long)]
    pub all_metrics: bool,
    /// Judge each segment as well as the total: model, mode, provider or
    /// `config.<key>`. Holm's correction across segments and metrics keeps
    /// the chance of any false alarm at --alpha.
    #[arg(long)]
    pub segment_by: Option<SegmentBy>,
    /// Judge the pass rate within the same cases as well: `input` (the
    /// mode and the exact user_input, surrounding whitespace trimmed) or
    /// `config.<key>` (a case id in config_json; `case` is the imported
    /// source's case, `config.case`).
    #[arg(long)]
    pub case_by: Option<CaseBy>,
    /// Leave out the traces of flaky cases (by --case-by, default input):
    /// those that pass and fail under one model on one side of the split,
    /// as `traceflow cases --flaky` lists them. The report says how many.
    #[arg(long)]
    pub exclude_flaky: bool,
}

impl MetricArgs {
    /// Whether any of these was given: the report is a suite of metrics,
    /// segments or cases rather than the pass rate over traces.
    fn any(&self) -> bool {
        !self.metrics.is_empty()
            || self.all_metrics
            || self.segment_by.is_some()
            || self.case_by.is_some()
            || self.exclude_flaky
    }

    /// The metrics asked for, in order, each once: the pass rate unless
    /// another was asked for.
    fn metrics(&self) -> Vec<Metric> {
        let all = if self.all_metrics { Metric::ALL } else { &[] };
        Metric::asked(all.iter().chain(&self.metrics).cloned())
    }
}

/// How and where a report is written (`trend`, `gate`, `cases`,
/// `compare`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Table)]
    pub format: ReportFormatArg,
    /// Write the report to this file (`-`: standard output).
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    #[command(flatten)]
    pub method: MethodArgs,
    #[command(flatten)]
    pub measure: MetricArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// The table of a trace report: how many of the newest runs it lists,
    /// or `all` [default: 20]. The JSON always lists every run.
    #[arg(long, value_name = "N|all", value_parser = parse_runs, help_heading = "Output")]
    pub runs: Option<RunListing>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub trend: TrendArgs,
    /// Exit 3 instead of 0 when there is too little data to judge.
    #[arg(long, help_heading = "Verdict")]
    pub require_data: bool,
}

#[derive(Debug, Args)]
pub struct CasesArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    /// What makes traces the same case: `input` (the mode and the exact
    /// user_input, surrounding whitespace trimmed), `case` (the imported
    /// source's case, `config.case`) or `config.<key>` (a case id in
    /// config_json).
    #[arg(long, default_value = "input", help_heading = "Cases")]
    pub case_by: CaseBy,
    /// Where "after" starts: a run's index in the window (0 the oldest,
    /// as the trend's `run_index`), or a time (the runs started at or
    /// after it; an age or a time, as --since). Default: the total's step
    /// when the trend found one, else the middle of the window.
    #[arg(long, value_name = "RUN|TIME", value_parser = parse_split_at, help_heading = "Cases")]
    pub split_at: Option<SplitAtArg>,
    /// The false-discovery rate regressed cases are held to (the expected
    /// share of false ones among them).
    #[arg(long, default_value_t = traceflow::cases::DEFAULT_FDR, value_parser = parse_fdr, help_heading = "Cases")]
    pub fdr: f64,
    /// Compare one imported evaluation's pass rate (`pass-rate.<name>`):
    /// the cases that evaluation failed, rather than the cases that failed.
    #[arg(long, value_name = "NAME", help_heading = "Cases")]
    pub evaluation: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// List every case, not only the regressed and newly failing ones (the
    /// JSON always lists every case).
    #[arg(long, conflicts_with = "flaky", help_heading = "Output")]
    pub all: bool,
    /// List the flaky cases: those that pass and fail under one model on
    /// one side of the split, the 95% interval of their pass chance inside
    /// 20–80%.
    #[arg(long, help_heading = "Output")]
    pub flaky: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Exit 3 instead of 0 when there is too little data to judge.
    #[arg(long, help_heading = "Verdict")]
    pub require_data: bool,
    /// The baseline: comma-joined conditions `config.KEY=VALUE`,
    /// `model=NAME`, `mode=NAME`, `provider=NAME`, `since=TIME`,
    /// `until=TIME` (as --since takes them), `last=N` (the newest N runs).
    /// A selector chooses among every trace (within --since/--until), and
    /// --window bounds each side to its newest runs (`last=N` sets a
    /// side's own). Default: the traces the candidate does not select.
    #[arg(long, value_name = "SELECTOR", help_heading = "Comparison")]
    pub baseline: Option<String>,
    /// The candidate, as --baseline. Default: the traces the baseline does
    /// not select; with neither given, the newer half of the window
    /// against its older half (with --group-by trace), or the newest run
    /// against the runs before it (pooled runs).
    #[arg(long, value_name = "SELECTOR", help_heading = "Comparison")]
    pub candidate: Option<String>,
    /// What makes traces the same case: `input` (the mode and the exact
    /// user_input, surrounding whitespace trimmed), `case` (the imported
    /// source's case, `config.case`) or `config.<key>` (a case id in
    /// config_json).
    #[arg(long, default_value = "input", help_heading = "Comparison")]
    pub case_by: CaseBy,
    /// The false-discovery rate of the per-case table.
    #[arg(long, default_value_t = traceflow::cases::DEFAULT_FDR, value_parser = parse_fdr, help_heading = "Comparison")]
    pub fdr: f64,
    /// Compare the pooled pass rates even when the cases could pair them
    /// (paired is the default when half the decisions or more are in cases
    /// both sides asked).
    #[arg(long, help_heading = "Comparison")]
    pub unpaired: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    /// List every case, not only the regressed and newly failing ones.
    #[arg(long, help_heading = "Output")]
    pub all: bool,
}

impl CompareArgs {
    /// The comparison's options, with ages resolved against `now`.
    pub fn compare_options(&self, now: jiff::Timestamp) -> Result<CompareOptions, String> {
        let selector = |flag: &str, text: &Option<String>| -> Result<Option<Selector>, String> {
            text.as_deref()
                .map(|t| Selector::parse_at(t, now).map_err(|e| format!("--{flag}: {e}")))
                .transpose()
        };
        Ok(CompareOptions {
            window: self.window.options(Method::Auto, now)?,
            verdict: self.rule.verdict_options(),
            baseline: selector("baseline", &self.baseline)?,
            candidate: selector("candidate", &self.candidate)?,
            case_by: self.case_by.clone(),
            fdr: self.fdr,
            unpaired: self.unpaired,
        })
    }
}

/// A split as given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitAtArg {
    /// A run's index.
    Run(usize),
    /// A time bound, resolved when the command runs.
    Time(TimeBound),
}

impl CasesArgs {
    /// The comparison's options, with ages resolved against `now`.
    pub fn case_options(&self, now: jiff::Timestamp) -> Result<CaseOptions, String> {
        let split_at = match self.split_at {
            None => None,
            Some(SplitAtArg::Run(run)) => Some(SplitAt::Run(run)),
            Some(SplitAtArg::Time(bound)) => Some(SplitAt::Time(bound.resolve(now).map_err(text)?)),
        };
        Ok(CaseOptions {
            window: self.window.options(Method::Auto, now)?,
            verdict: self.rule.verdict_options(),
            case_by: self.case_by.clone(),
            split_at,
            fdr: self.fdr,
            evaluation: self.evaluation.clone(),
        })
    }
}

/// The formats of a trend report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// A terminal table.
    Table,
    /// JSON (schema: schema/trend-report.schema.json).
    Json,
    /// Markdown, for $GITHUB_STEP_SUMMARY and pull-request comments.
    Markdown,
    /// JUnit XML: one test case per metric and segment.
    Junit,
    /// A self-contained HTML page with charts.
    Html,
}

impl From<ReportFormatArg> for Format {
    fn from(format: ReportFormatArg) -> Self {
        match format {
            ReportFormatArg::Table => Format::Table,
            ReportFormatArg::Json => Format::Json,
            ReportFormatArg::Markdown => Format::Markdown,
            ReportFormatArg::Junit => Format::Junit,
            ReportFormatArg::Html => Format::Html,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// How many of the newest traces.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Only traces with this status: running, done or failed.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<traceflow::model::RunStatus>,
    /// Only traces of this model (exactly as stored).
    #[arg(long)]
    pub model: Option<String>,
    /// Only traces started at or after this: an age (`14d`, `36h`) or a
    /// time, as for `trend --since`.
    #[arg(long, value_parser = parse_time_bound)]
    pub since: Option<TimeBound>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormatArg::Table)]
    pub format: ListFormatArg,
}

/// The formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormatArg {
    /// A table for people.
    Table,
    /// JSON for scripts (see the README for the layout).
    Json,
    /// A Markdown table, for a pull-request comment or a job summary.
    Markdown,
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
    #[arg(long, default_value_t = traceflow::demo::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(2..=3650))]
    pub days: u32,
    /// Runs per day, on average.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub runs_per_day: u32,
    /// Seed of the random history.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// When the history ends: its last day is the one before this time's
    /// (UTC). Fixed by default, so the demo store is the same on any day;
    /// `--end now` (or a date) moves it.
    #[arg(long, value_name = "TIME", default_value_t = traceflow::demo::DEFAULT_END, value_parser = parse_end)]
    pub end: jiff::Timestamp,
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

/// Runs a trace report's table lists unless `--runs` says otherwise: the
/// proposal's window, so its rule's report lists every run as it did.
pub const DEFAULT_TABLE_RUNS: usize = 20;

impl TrendArgs {
    /// The runs the table lists: `--runs`, else the newest
    /// [`DEFAULT_TABLE_RUNS`]; an error when `--runs` is given where no
    /// table of runs is written (another format, a suite).
    pub fn run_listing(&self) -> Result<RunListing, String> {
        match self.runs {
            Some(_) if self.report.format != ReportFormatArg::Table || self.is_suite() => {
                Err("--runs picks the rows of trend's and gate's run table (--format table, without --group-by, --metric, --all-metrics, --segment-by, --case-by or --exclude-flaky); the JSON lists every run".to_owned())
            }
            Some(runs) => Ok(runs),
            None => Ok(RunListing::Newest(DEFAULT_TABLE_RUNS)),
        }
    }

    /// The method asked for.
    pub fn method(&self) -> Method {
        self.method.method.into()
    }

    /// The window asked for, or the method's default.
    pub fn window(&self) -> Window {
        self.window.window(self.method())
    }

    /// Whether the analysis asked for is a suite (pooled runs, several
    /// metrics, segments, cases) rather than the proposal's, the pass rate
    /// over traces: it decides the report's layout (README, "JSON"). Time
    /// bounds do not: both reports hold them.
    pub fn is_suite(&self) -> bool {
        !self.window.group_by.is_trace() || self.measure.any()
    }

    /// The suite's options, with ages resolved against `now`.
    pub fn suite_options(&self, now: jiff::Timestamp) -> Result<SuiteOptions, String> {
        Ok(SuiteOptions {
            window: self.window.options(self.method(), now)?,
            verdict: self.verdict_options(),
            metrics: self.measure.metrics(),
            segment_by: self.measure.segment_by.clone(),
            case_by: self.measure.case_by.clone(),
            exclude_flaky: self.measure.exclude_flaky,
        })
    }

    /// The verdict's options, in the library's terms.
    pub fn verdict_options(&self) -> VerdictOptions {
        let rule = self.rule.verdict_options();
        VerdictOptions {
            method: self.method(),
            threshold: self.method.threshold,
            repeated: RepeatedOptions {
                evaluations: self.method.evaluations as usize,
                ..rule.repeated
            },
            ..rule
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

fn parse_runs(text: &str) -> Result<RunListing, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(RunListing::All);
    }
    text.parse::<usize>()
        .map(RunListing::Newest)
        .map_err(|_| "expected a number of runs, or `all`".to_owned())
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

/// `--since` and the like: [`TimeBound::parse`].
fn parse_time_bound(text: &str) -> Result<TimeBound, String> {
    TimeBound::parse(text).map_err(|e| e.to_string())
}

/// The library's error as the argument error's text.
fn text(err: traceflow::error::InvalidValue) -> String {
    err.to_string()
}

/// A run index (digits alone), else a time bound as --since takes it.
fn parse_split_at(text: &str) -> Result<SplitAtArg, String> {
    if let Ok(run) = text.trim().parse::<usize>() {
        return Ok(SplitAtArg::Run(run));
    }
    parse_time_bound(text)
        .map(SplitAtArg::Time)
        .map_err(|_| format!("expected a run index (40) or a time or age as --since takes (2026-11-01, 3d), got {text:?}"))
}

fn parse_fdr(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(q) if q > 0.0 && q < 1.0 => Ok(q),
        _ => Err("expected a rate above 0 and below 1, e.g. 0.05".to_owned()),
    }
}

fn parse_status(text: &str) -> Result<traceflow::model::RunStatus, String> {
    text.parse()
        .map_err(|_| format!("expected running, done or failed, got {text:?}"))
}

/// An age alone, as --since takes one.
fn parse_age(text: &str) -> Result<jiff::SignedDuration, String> {
    match parse_time_bound(text) {
        Ok(TimeBound::Ago(age)) => Ok(age),
        _ => Err(format!("expected an age such as 2h or 1d, got {text:?}")),
    }
}

/// A time (`2026-11-30`, RFC 3339), or `now`.
fn parse_end(text: &str) -> Result<jiff::Timestamp, String> {
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(jiff::Timestamp::now());
    }
    traceflow::timestamp::parse(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_split_is_a_run_index_or_a_time() {
        assert_eq!(parse_split_at("40"), Ok(SplitAtArg::Run(40)));
        let at: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            parse_split_at("2026-11-01"),
            Ok(SplitAtArg::Time(TimeBound::At(at)))
        );
        assert_eq!(
            parse_split_at("3d"),
            Ok(SplitAtArg::Time(TimeBound::Ago(
                jiff::SignedDuration::from_hours(72)
            )))
        );
        assert!(parse_split_at("later").is_err());
        assert!(parse_fdr("0").is_err() && parse_fdr("1").is_err());
        assert_eq!(parse_fdr("0.1"), Ok(0.1));
    }

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
