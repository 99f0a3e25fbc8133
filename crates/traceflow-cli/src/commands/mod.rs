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

/// Streams a report to `--output`: stdout for `-`; a regular file is
/// written to a temporary file beside it and renamed into place, so a
/// reader never sees half a report and two runs never share a scratch
/// file; anything else (`/dev/stdout`, a pipe) is written directly.
fn write_report(
    doc: traceflow::report::Document<'_>,
    args: &crate::args::TrendArgs,
) -> anyhow::Result<()> {
    use anyhow::Context as _;

    let format = args.format.into();
    let path = &args.output;
    let write = |out: &mut dyn Write| -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(1 << 16, out);
        traceflow::report::write(doc, format, &mut out)?;
        out.flush()
    };
    if path.as_os_str() == "-" {
        return Ok(write(&mut io::stdout().lock())?);
    }
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    let written = if special {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| write(&mut file))
    } else {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        // As File::create would: 0666 less the umask, not tempfile's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        // Dropped unpersisted (on any error), the temporary file is removed.
        builder
            .tempfile_in(dir)
            // Its error names the random scratch name; the directory says more.
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {}: {}", dir.display(), e.kind()),
                )
            })
            .and_then(|mut file| {
                write(file.as_file_mut())?;
                file.as_file().sync_all()?;
                file.persist(path).map(drop).map_err(|e| e.error)
            })
    };
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
