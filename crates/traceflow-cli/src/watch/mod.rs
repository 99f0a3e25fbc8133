//! `traceflow watch`: the gate evaluated when the store changes and every
//! `--interval`, and a webhook called when a verdict changes state — a
//! regression opens, or one that was open recovers. Never on every
//! evaluation: a team hears of a change once.
//!
//! Which regressions are open is kept in `--state` (written whole, then
//! renamed into place) after every alert is delivered, so a restart
//! neither repeats an alert nor loses one: an alert that could not be
//! delivered (after retries with backoff) leaves the state as it was, and
//! the next evaluation tries again.

mod deliver;
mod state;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use traceflow::report::RunListing;
use traceflow::trend::Verdict;

use crate::args::{AlertFormatArg, WatchArgs};
use crate::commands::trend::{analyze, Analysis};
use crate::commands::Out;
use crate::exit_codes;
use state::State;

/// How often the store's version is looked at between evaluations.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Runs until killed, or once with `--once`.
pub fn run(args: &WatchArgs) -> anyhow::Result<u8> {
    check(args)?;
    let mut state = State::load(&args.state)?;
    let store_file = args.store.spec()?.file().map(std::path::Path::to_path_buf);
    let version = || crate::serve::Version::of(store_file.as_deref());
    let interval = args.interval.unsigned_abs();
    loop {
        let seen = version();
        let delivered = match evaluate(args, &mut state) {
            Ok(delivered) => delivered,
            Err(err) if !args.once => {
                // Watching goes on: the next evaluation tries again.
                crate::commands::say(&format!("error: {}", crate::commands::one_line(&err)));
                false
            }
            Err(err) => return Err(err),
        };
        if args.once {
            return Ok(if delivered {
                exit_codes::SUCCESS
            } else {
                exit_codes::ERROR
            });
        }
        // Until the interval ends or the store changes.
        let since = Instant::now();
        while since.elapsed() < interval {
            std::thread::sleep(LOOK_EVERY.min(interval));
            if version() != seen {
                break;
            }
        }
    }
}

/// What would stop the alerts later, said before they start: a webhook
/// that is no http URL, a state file that cannot be read or kept (one
/// that cannot be kept would repeat every alert).
pub fn check(args: &WatchArgs) -> anyhow::Result<()> {
    for hook in &args.webhooks {
        deliver::check(hook)?;
    }
    State::load(&args.state)?;
    State::check_writable(&args.state)
}

/// Evaluates the gate and alerts on a change of state; whether every
/// alert due was delivered. An evaluation that fails (a store that cannot
/// be read) is said and changes nothing.
fn evaluate(args: &WatchArgs, state: &mut State) -> anyhow::Result<bool> {
    let trend = args.trend();
    let mut report = Vec::new();
    let analysis = {
        let mut out = Out::buffer(&mut report);
        match analyze(&trend, &out).and_then(|analysis| {
            out.write_report(
                analysis.document(RunListing::default()),
                &trend.report,
                &trend.store,
            )?;
            Ok(analysis)
        }) {
            Ok(analysis) => analysis,
            Err(err) => {
                crate::commands::say(&format!("error: {}", crate::commands::one_line(&err)));
                return Ok(false);
            }
        }
    };
    let now = open_regressions(&analysis);
    let opened: Vec<&Open> = now
        .iter()
        .filter(|o| !state.open.contains(&o.key))
        .collect();
    let recovered: Vec<String> = state
        .open
        .iter()
        .filter(|key| !now.iter().any(|o| &o.key == *key))
        .cloned()
        .collect();
    if opened.is_empty() && recovered.is_empty() {
        return Ok(true);
    }
    let store = args.store.spec()?.to_string();
    let change = Change {
        store: &store,
        opened: &opened,
        recovered: &recovered,
        open: &now,
        report: &report,
    };
    let body = match args.alert_format {
        AlertFormatArg::Json => change.json()?,
        AlertFormatArg::Slack => change.slack(),
    };
    let mut all = true;
    for hook in &args.webhooks {
        if let Err(why) = deliver::post(hook, &body) {
            crate::commands::say(&format!(
                "error: alert not delivered to {}: {why}",
                deliver::shown(hook)
            ));
            all = false;
        }
    }
    if all {
        crate::commands::say(&change.line());
        state.open = now.iter().map(|o| o.key.clone()).collect();
        state.save(&args.state)?;
    }
    Ok(all)
}

/// A regression open now: its key (`metric` or `metric [segment]`) and
/// its sentence.
struct Open {
    key: String,
    summary: String,
}

/// The regressions the gate finds now.
fn open_regressions(analysis: &Analysis) -> Vec<Open> {
    match analysis {
        Analysis::Trace(report) => {
            if report.any_regression {
                vec![Open {
                    key: "pass-rate".to_owned(),
                    summary: report.statistics.summary.clone(),
                }]
            } else {
                Vec::new()
            }
        }
        Analysis::Suite(suite) => suite
            .reports
            .iter()
            .filter(|r| r.statistics.verdict == Verdict::Regression)
            .map(|r| Open {
                key: match &r.segment {
                    Some(segment) => format!("{} [{segment}]", r.metric),
                    None => r.metric.to_string(),
                },
                summary: r.statistics.summary.clone(),
            })
            .collect::<Vec<_>>(),
    }
}

/// Text for Slack's markup: `&`, `<` and `>` escaped, control and
/// bidirectional characters replaced.
fn slack_text(text: &str) -> String {
    traceflow::report::terminal::printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What changed, for the alert's body.
struct Change<'a> {
    store: &'a str,
    opened: &'a [&'a Open],
    recovered: &'a [String],
    open: &'a [Open],
    report: &'a [u8],
}

impl Change<'_> {
    fn event(&self) -> &'static str {
        match (self.opened.is_empty(), self.recovered.is_empty()) {
            (false, true) => "regression_opened",
            (true, false) => "regression_recovered",
            _ => "regressions_changed",
        }
    }

    /// `{"event", "store", "opened": [{"key", "summary"}], "recovered",
    /// "open", "report"}`.
    fn json(&self) -> anyhow::Result<Vec<u8>> {
        let report: serde_json::Value = serde_json::from_slice(self.report)?;
        let opened: Vec<serde_json::Value> = self
            .opened
            .iter()
            .map(|o| serde_json::json!({"key": o.key, "summary": o.summary}))
            .collect();
        let open: BTreeSet<&str> = self.open.iter().map(|o| o.key.as_str()).collect();
        Ok(serde_json::to_vec(&serde_json::json!({
            "event": self.event(),
            "store": self.store,
            "opened": opened,
            "recovered": self.recovered,
            "open": open,
            "report": report,
        }))?)
    }

    /// `{"text": "..."}`, one line per change.
    ///
    /// Store text is escaped as Slack's markup requires (`&`, `<`, `>`: no
    /// `<!channel>`, no disguised link) and made printable (no
    /// bidirectional override).
    fn slack(&self) -> Vec<u8> {
        let mut text = format!("traceflow ({}):", slack_text(self.store));
        for o in self.opened {
            text.push_str(&format!(
                "\nRegression: {}: {}",
                slack_text(&o.key),
                slack_text(&o.summary)
            ));
        }
        for key in self.recovered {
            text.push_str(&format!("\nRecovered: {}", slack_text(key)));
        }
        serde_json::json!({ "text": text }).to_string().into_bytes()
    }

    /// The line the command prints when it alerted.
    fn line(&self) -> String {
        let keys: Vec<&str> = self.opened.iter().map(|o| o.key.as_str()).collect();
        format!(
            "alerted: {} (opened: {}; recovered: {})",
            self.event(),
            if keys.is_empty() {
                "none".to_owned()
            } else {
                keys.join(", ")
            },
            if self.recovered.is_empty() {
                "none".to_owned()
            } else {
                self.recovered.join(", ")
            },
        )
    }
}
