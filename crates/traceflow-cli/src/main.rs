//! The `traceflow` command: [`traceflow_cli::run`] on this process's
//! arguments.

/// Running out of memory exits with one line and code 2, not an abort.
#[global_allocator]
static ALLOCATOR: traceflow_cli::out_of_memory::ExitOnOutOfMemory =
    traceflow_cli::out_of_memory::ExitOnOutOfMemory;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(traceflow_cli::run(std::env::args_os()))
}
