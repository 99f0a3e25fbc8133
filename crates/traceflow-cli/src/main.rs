//! The `traceflow` command: [`traceflow_cli::run`] on this process's
//! arguments.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(traceflow_cli::run(std::env::args_os()))
}
