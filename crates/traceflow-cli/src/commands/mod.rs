//! One module per subcommand; this one dispatches, prints and exits.

use std::io::{self, Write};

use crate::args::{Cli, Command};
use crate::exit_codes;

pub(crate) mod cases;
pub(crate) mod compare;
mod db;
mod demo;
pub(crate) mod gate;
mod import;
pub(crate) mod list;
mod push;
pub(crate) mod show;
pub(crate) mod trend;

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> u8 {
    let stdout = io::stdout();
    let mut terminal = Out::terminal(&stdout);
    let result = match cli.command {
        Command::Trend(args) => trend::run(&args, &mut terminal),
        Command::Gate(args) => gate::run(&args, &mut terminal),
        Command::Cases(args) => cases::run(&args, &mut terminal),
        Command::Compare(args) => compare::run(&args, &mut terminal),
        Command::List(args) => list::run(&args, &mut terminal),
        Command::Show(args) => show::run(&args, &mut terminal),
        Command::Demo(args) => demo::run(&args),
        Command::Push(args) => push::run(&args),
        Command::Db(command) => db::run(&command),
        Command::Import(args) => import::run(&args),
        Command::Serve(args) => crate::serve::run(&args),
        Command::Watch(args) => crate::watch::run(&args),
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

/// Where a reading command writes: its report (stdout for the command, a
/// response body for the server), and whether its one-line messages and
/// spinner reach the terminal's stderr (the server's requests have none).
pub(crate) struct Out<'w> {
    report: Box<dyn Write + 'w>,
    terminal: bool,
}

impl<'w> Out<'w> {
    /// The command's: stdout, messages and spinner on stderr.
    fn terminal(stdout: &'w io::Stdout) -> Self {
        Out {
            report: Box::new(stdout.lock()),
            terminal: true,
        }
    }

    /// The report's bytes into `buffer`; no message, no spinner.
    pub(crate) fn buffer(buffer: &'w mut Vec<u8>) -> Self {
        Out {
            report: Box::new(buffer),
            terminal: false,
        }
    }

    /// Says a line on stderr, when this is the command's output.
    fn say(&self, line: &str) {
        if self.terminal {
            say(line);
        }
    }

    /// A spinner on stderr while the store is read, when this is the
    /// command's output and stderr a terminal.
    fn spinner(&self, store: &str) -> Option<crate::progress::Spinner> {
        if self.terminal {
            crate::progress::Spinner::on_terminal(store)
        } else {
            None
        }
    }

    /// Writes terminal text, through the sanitizer.
    fn print(&mut self, text: &str) -> io::Result<()> {
        self.report
            .write_all(traceflow::report::terminal::printable_lines(text).as_bytes())?;
        self.report.flush()
    }

    /// Streams a report to `--output`: here for `-`, else the file as
    /// [`traceflow::report::file::write_file`] writes it.
    pub(crate) fn write_report(
        &mut self,
        doc: traceflow::report::Document<'_>,
        args: &crate::args::ReportArgs,
        store: &crate::args::StoreArgs,
    ) -> anyhow::Result<()> {
        let format: traceflow::report::Format = args.format.into();
        if args.output.as_os_str() == "-" {
            return Ok(traceflow::report::file::write_to(
                doc,
                format,
                &mut self.report,
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
}

/// Writes one line to stdout through the terminal sanitizer, now (a
/// server's address, which a script waits for).
pub(crate) fn say_out(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "{}",
        traceflow::report::terminal::printable_lines(line)
    )?;
    stdout.flush()
}

/// Writes one line to stderr through the terminal sanitizer. A stderr that
/// cannot be written (`2>/dev/full`, a closed pipe) loses the line but not
/// the exit code: `eprintln!` would panic there.
pub(crate) fn say(line: &str) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn slopes_print_like_the_proposal_and_never_as_a_false_zero() {
        assert_eq!(super::per_run(-0.0234), "-0.023/run");
        assert_eq!(super::per_run(0.0), "0.000/run");
        assert_eq!(super::per_run(-0.00012), "-1.20e-4/run");
    }
}
