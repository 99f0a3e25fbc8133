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
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.lines().next().unwrap_or_default();
        // SQLite's errors come twice (its message, then "Error code 26: "
        // and the same message): say each thing once.
        if parts
            .last()
            .is_some_and(|last| last.ends_with(text) || text.ends_with(last.as_str()))
        {
            continue;
        }
        parts.push(text.to_owned());
    }
    parts.join(": ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// A slope as the proposal prints it, `-0.023/run`, with more digits when
/// three decimals would show a nonzero slope as zero.
fn per_run(slope: f64) -> String {
    if slope != 0.0 && slope.abs() < 0.0005 {
        format!("{slope:.2e}/run")
    } else {
        format!("{slope:.3}/run")
    }
}

/// A borderless table, as the trend report prints.
fn plain_table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

/// A table's text without trailing blanks, newline-terminated.
fn table_text(table: &comfy_table::Table) -> String {
    table
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

/// Writes text to stdout.
fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Streams a report to `--output`: stdout for `-`, else the file, which
/// is written beside its final name and renamed into place, so a reader
/// never sees half a report.
fn write_report(
    doc: traceflow::report::Document<'_>,
    args: &crate::args::TrendArgs,
) -> anyhow::Result<()> {
    use anyhow::Context as _;

    let format = args.format.into();
    if args.output.as_os_str() == "-" {
        let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        traceflow::report::write(doc, format, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let path = &args.output;
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let written = (|| -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&partial)?);
        traceflow::report::write(doc, format, &mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if written.is_err() {
        // Nothing half-written is left behind; the error says why.
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slopes_print_like_the_proposal_and_never_as_a_false_zero() {
        assert_eq!(super::per_run(-0.0234), "-0.023/run");
        assert_eq!(super::per_run(0.0), "0.000/run");
        assert_eq!(super::per_run(-0.00012), "-1.20e-4/run");
    }
}
