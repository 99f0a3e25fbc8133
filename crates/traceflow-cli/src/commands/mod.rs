//! One module per subcommand; this one dispatches, prints and exits.

use std::io::{self, Write};

use crate::args::{Cli, Command};
use crate::exit_codes;

mod cases;
pub(crate) mod compare;
mod db;
mod demo;
pub(crate) mod gate;
mod import;
mod list;
mod push;
mod show;
mod trend;

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Trend(args) => trend::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Cases(args) => cases::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::List(args) => list::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Push(args) => push::run(&args),
        Command::Db(command) => db::run(&command),
        Command::Import(args) => import::run(&args),
    };
    match result {
        Ok(code) => code,
        // `traceflow trend | head` closes the pipe: not an error.
        Err(err) if is_broken_pipe(&err) => exit_codes::SUCCESS,
        Err(err) => {
            say(&format!("error: {}", one_line(&err)));
            exit_codes::for_error(&err)
        }
    }
}

/// Writes one line to stderr through the terminal sanitizer. A stderr that
/// cannot be written (`2>/dev/full`, a closed pipe) loses the line but not
/// the exit code: `eprintln!` would panic there.
fn say(line: &str) {
    let text = traceflow::report::terminal::printable_lines(line);
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{text}").and_then(|()| stderr.flush());
}

/// The error and its causes on one line: `a: b: c`
/// ([`traceflow::error::one_line`]), options named by their flags.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    traceflow::error::one_line_with(err.as_ref(), &flag_words)
}

/// The command's words for the library's errors that name an option.
fn flag_words(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use traceflow::trend::{TrendError, MAX_SEGMENTS};
    use traceflow::window::WindowError;
    if let Some(WindowError::EmptyTimeRange { since, until }) = traceflow::error::window_error(err)
    {
        return Some(format!(
            "--since {since} is not before --until {until}: no trace can match"
        ));
    }
    if let Some(TrendError::TooManySegments { segment_by, found }) = err.downcast_ref() {
        return Some(format!(
            "--segment-by {segment_by} splits the window into {found} segments; at most {MAX_SEGMENTS} can be judged (segment by a key with few values: a model, a mode, a suite)"
        ));
    }
    None
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

/// Store text for one table cell or line: no control characters (a line
/// break would split the row), no bidirectional overrides.
fn cell(text: &str) -> String {
    traceflow::report::terminal::printable(text).into_owned()
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

/// Writes terminal text to stdout, through the sanitizer.
fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(traceflow::report::terminal::printable_lines(text).as_bytes())?;
    stdout.flush()
}

/// Streams a report to `--output`: stdout for `-`, else the file as
/// [`traceflow::report::file::write_file`] writes it.
fn write_report(
    doc: traceflow::report::Document<'_>,
    args: &crate::args::ReportArgs,
    store: &crate::args::StoreArgs,
) -> anyhow::Result<()> {
    let format: traceflow::report::Format = args.format.into();
    if args.output.as_os_str() == "-" {
        return Ok(traceflow::report::file::write_to(
            doc,
            format,
            &mut io::stdout().lock(),
        )?);
    }
    // Nothing stops the command's write but the process's end.
    let stop = std::sync::atomic::AtomicBool::new(false);
    Ok(traceflow::report::file::write_file(
        doc,
        format,
        &args.output,
        store.spec()?.file(),
        &stop,
    )?)
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
