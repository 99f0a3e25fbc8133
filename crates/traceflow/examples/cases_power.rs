//! The pass-rate gate across all decisions against the same gate resting
//! on the trend within cases (`--case-by`), simulated on stores without a
//! shift of the case mix: the table "Power within the same cases" of
//! `docs/statistics.md`.
//!
//! ```text
//! cargo run --release --example cases_power                  # 1,000 stores a cell
//! cargo run --release --example cases_power -- --reps 200
//! ```
//!
//! Each store: 24 runs, 40 cases whose pass rates average 0.85 (logits
//! spread with standard deviation 1), a step at run 16. A suite asks every
//! case once in every run; traffic draws 40 cases a run at random.

use std::process::ExitCode;

use traceflow::simulation::{run_case_cell, Breaking, CaseCell, CaseLayout};

fn main() -> ExitCode {
    let (mut reps, mut seed, alpha) = (1_000u64, 2026u64, 0.01);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--reps", Some(v)) => reps = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: cases_power [--reps N] [--seed N]");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "Seed {seed}, {reps} stores a cell, α = {alpha}, min drop 0.05; 24 runs, 40 cases, mean pass rate 0.85, case sd 1 (logit), step at run 16. Rates in %.\n"
    );
    println!("| layout | what falls | across all decisions (± SE) | within the same cases (± SE) | within-case test used | φ > 1 within | mean CI width within / across |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut cell_index = 0u64;
    for layout in [CaseLayout::Suite, CaseLayout::Traffic(40)] {
        for breaking in [
            Breaking::None,
            Breaking::Quarter(0.10),
            Breaking::Quarter(0.15),
            Breaking::Every(0.10),
            Breaking::Every(0.15),
        ] {
            let cell = CaseCell {
                runs: 24,
                cases: 40,
                layout,
                p: 0.85,
                case_sd: 1.0,
                breaking,
                step_at: 16,
            };
            let r = run_case_cell(&cell, reps, alpha, seed ^ (cell_index * 7919));
            cell_index += 1;
            let with_se = |count: u64| {
                let p = r.rate(count);
                format!(
                    "{:.1} (± {:.1})",
                    100.0 * p,
                    100.0 * (p * (1.0 - p) / r.reps.max(1) as f64).sqrt()
                )
            };
            println!(
                "| {} | {} | {} | {} | {} of {} | {} | {:.2} |",
                layout.label(),
                breaking.label(),
                with_se(r.across),
                with_se(r.within),
                r.used,
                r.reps,
                r.dispersed,
                r.width_ratio / r.reps.max(1) as f64,
            );
        }
    }
    ExitCode::SUCCESS
}
