//! One module per subcommand; this one dispatches, prints and exits.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::args::{Cli, Command};
use crate::exit_codes;

mod demo;
mod gate;
mod list;
mod show;
mod trend;

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Trend(args) => trend::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::List(args) => list::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // `traceflow trend | head` closes the pipe: not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::from(exit_codes::SUCCESS),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(exit_codes::for_error(&err))
        }
    }
}

/// The error and its causes on one line: `a: b: c`.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // Some sources render their own cause too; do not say it twice.
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text.lines().next().unwrap_or_default());
    }
    line
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes text to stdout.
fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Streams a trend report to stdout.
fn print_report(
    report: &traceflow::trend::TraceTrendReport,
    format: traceflow::report::Format,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    traceflow::report::write(report, format, &mut out)?;
    out.flush()
}
