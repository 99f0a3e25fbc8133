//! The verdict rules' false alarms and power, simulated: the tables of
//! `docs/statistics.md`.
//!
//! ```text
//! cargo run --release --example simulate                 # full: 2,000 histories a cell
//! cargo run --example simulate -- --reps 100 --check     # CI's small size
//! ```
//!
//! `--family-reps` sets the histories of the segments table (2,000).
//!
//! `--check` exits 1 if a target of the statistics issue is missed:
//! `auto`'s false alarms ≤ α + 3 standard errors in every stable cell; its
//! power within 3 points of the oracle Cochran–Armitage test (and, in
//! step cells with ≥ 20 decisions per run, the step within ±2 runs in ≥ 80%
//! of detected steps).

use std::process::ExitCode;

use traceflow::simulation::{
    run_cell, run_family, run_gating, Cell, CellResult, Family, Gating, PerRun, Shape, GATING_RULES,
};

struct Args {
    reps: u64,
    gating_reps: u64,
    family_reps: u64,
    alpha: f64,
    seed: u64,
    check: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        reps: 2_000,
        gating_reps: 400,
        family_reps: 2_000,
        alpha: 0.01,
        seed: 2026,
        check: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--reps" => {
                args.reps = value("--reps")?
                    .parse()
                    .map_err(|e| format!("--reps: {e}"))?
            }
            "--gating-reps" => {
                args.gating_reps = value("--gating-reps")?
                    .parse()
                    .map_err(|e| format!("--gating-reps: {e}"))?
            }
            "--family-reps" => {
                args.family_reps = value("--family-reps")?
                    .parse()
                    .map_err(|e| format!("--family-reps: {e}"))?
            }
            "--alpha" => {
                args.alpha = value("--alpha")?
                    .parse()
                    .map_err(|e| format!("--alpha: {e}"))?
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--check" => args.check = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The grid of the statistics issue.
fn grid(shape: Shape) -> Vec<Cell> {
    let mut cells = Vec::new();
    for rho in [0.0, 0.1] {
        for per_run in [
            PerRun::Fixed(1),
            PerRun::Fixed(3),
            PerRun::Fixed(20),
            PerRun::Uniform(1, 50),
        ] {
            for runs in [10, 20, 40, 100] {
                for p in [0.7, 0.8, 0.95] {
                    cells.push(Cell {
                        p,
                        runs,
                        per_run,
                        rho,
                        shape,
                    });
                }
            }
        }
    }
    cells
}

/// Runs cells on every core; results in the cells' order.
fn simulate(cells: &[Cell], reps: u64, alpha: f64, seed: u64) -> Vec<CellResult> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = vec![CellResult::default(); cells.len()];
    let size = cells.len().div_ceil(threads).max(1);
    // The scope re-raises a worker's panic: no cell is left at its default.
    std::thread::scope(|scope| {
        for (c, (out, chunk)) in results.chunks_mut(size).zip(cells.chunks(size)).enumerate() {
            // The offset of the chunk's first cell in the whole grid: a
            // short last chunk must not reuse an earlier chunk's seeds.
            let offset = c * size;
            scope.spawn(move || {
                for (i, (slot, cell)) in out.iter_mut().zip(chunk).enumerate() {
                    // Each cell its own stream: results do not depend on
                    // the number of threads.
                    *slot = run_cell(cell, reps, alpha, seed ^ ((offset + i) as u64 * 7919));
                }
            });
        }
    });
    results
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let alpha = args.alpha;
    let mut misses: Vec<String> = Vec::new();
    println!(
        "Seed {}, {} histories a cell, α = {alpha}, min drop 0.05. Rates in %.\n",
        args.seed, args.reps
    );

    for (title, shape) in [
        ("Stable histories: false alarms", Shape::Stable),
        ("15-point ramp across the window: power", Shape::Ramp(0.15)),
        ("15-point step at the middle run: power", Shape::Step(0.15)),
    ] {
        let cells = grid(shape);
        let results = simulate(&cells, args.reps, alpha, args.seed);
        println!("### {title}\n");
        println!("| p | runs | decisions/run | ρ | ols | auto | oracle CA | auto − oracle | insufficient |{}", if matches!(shape, Shape::Step(_)) { " step found | within ±2 |" } else { "" });
        println!(
            "|---|---|---|---|---|---|---|---|---|{}",
            if matches!(shape, Shape::Step(_)) {
                "---|---|"
            } else {
                ""
            }
        );
        for (cell, r) in cells.iter().zip(&results) {
            let auto = r.rate(r.auto);
            let oracle = r.rate(r.oracle);
            let mut line = format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:+.1} | {} |",
                cell.p,
                cell.runs,
                cell.per_run.label(),
                cell.rho,
                pct(r.rate(r.ols)),
                pct(auto),
                pct(oracle),
                100.0 * (auto - oracle),
                pct(r.rate(r.insufficient)),
            );
            let name = format!(
                "{} p={} n={} k={} ρ={}",
                shape.label(),
                cell.p,
                cell.runs,
                cell.per_run.label(),
                cell.rho
            );
            match shape {
                Shape::Stable => {
                    let limit = alpha + 3.0 * (alpha * (1.0 - alpha) / r.reps as f64).sqrt();
                    if auto > limit {
                        misses.push(format!(
                            "{name}: false alarms {} > {}",
                            pct(auto),
                            pct(limit)
                        ));
                    }
                }
                Shape::Ramp(_) | Shape::Step(_) => {
                    if auto < oracle - 0.03 {
                        misses.push(format!(
                            "{name}: power {} vs oracle {}",
                            pct(auto),
                            pct(oracle)
                        ));
                    }
                }
            }
            if let Shape::Step(_) = shape {
                let near = r.steps_near as f64 / r.steps.max(1) as f64;
                line.push_str(&format!(
                    " {} | {} |",
                    pct(r.rate(r.steps)),
                    if r.steps > 0 {
                        pct(near)
                    } else {
                        "–".to_owned()
                    }
                ));
                if cell.per_run.least() >= 20 || matches!(cell.per_run, PerRun::Uniform(..)) {
                    // "runs with ≥ 20 decisions": k = 20 and 1–50 (mean 25.5).
                    if r.steps >= 20 && near < 0.8 {
                        misses.push(format!(
                            "{name}: step within ±2 in {} of {} found",
                            pct(near),
                            r.steps
                        ));
                    }
                }
            }
            println!("{line}");
        }
        println!();
    }

    println!("### A gate run after every run: 100 evaluations of a sliding window\n");
    println!(
        "{} histories each; p = 0.8. False alarms: histories with any alarm when nothing changed. Delay: runs after a 15-point drop until the first alarm (median; share found within 100 runs).\n",
        args.gating_reps
    );
    println!("| window | decisions/run | any alarm: ols | auto | auto --evaluations 100 | delay: ols | auto | auto --evaluations 100 |");
    println!("|---|---|---|---|---|---|---|---|");
    for (window, per_run) in [
        (20, PerRun::Fixed(3)),
        (100, PerRun::Fixed(3)),
        (100, PerRun::Fixed(20)),
        (500, PerRun::Uniform(1, 3)),
    ] {
        let base = Gating {
            p: 0.8,
            window,
            per_run,
            evaluations: 100,
            drop: 0.0,
        };
        let stable = run_gating(&base, args.gating_reps, alpha, args.seed);
        let dropped = run_gating(
            &Gating { drop: 0.15, ..base },
            args.gating_reps / 2,
            alpha,
            args.seed + 1,
        );
        let mut line = format!("| {window} | {} |", per_run.label());
        for rule in 0..GATING_RULES.len() {
            line.push_str(&format!(
                " {} |",
                pct(stable.any_alarm[rule] as f64 / stable.reps as f64)
            ));
        }
        for rule in 0..GATING_RULES.len() {
            let mut at = dropped.first_alarm[rule].clone();
            at.sort_unstable();
            let found = at.len() as f64 / dropped.reps as f64;
            let median = if at.len() * 2 > dropped.reps as usize {
                // The median over all histories, counting misses as late.
                at[dropped.reps as usize / 2].to_string()
            } else {
                "> 100".to_owned()
            };
            line.push_str(&format!(" {median} ({}%) |", pct(found)));
        }
        println!("{line}");
    }
    println!();

    println!("### Segments and metrics: any false regression in a family of stable reports\n");
    println!(
        "{} stable histories a row, p = 0.8; a report per segment and metric plus the total's. \
         Before: any report a regression at its own α; after: after Holm's correction across the family.\n",
        args.family_reps
    );
    println!("| family | reports | any regression, before | after Holm |");
    println!("|---|---:|---:|---:|");
    let mut row = 0u64;
    for means in [false, true] {
        for segments in [1, 3, 10] {
            let family = Family {
                segments,
                runs: 42,
                per_run: PerRun::Fixed(100),
                rate: 0.8,
                means,
            };
            row += 1;
            let result = run_family(
                &family,
                args.family_reps,
                alpha,
                args.seed ^ (row * 104_729),
            );
            let rate = |k: u64| k as f64 / result.reps.max(1) as f64;
            let after = rate(result.any_corrected);
            println!(
                "| {} | {} | {} | {} |",
                family.label(),
                result.reports,
                pct(rate(result.any_uncorrected)),
                pct(after)
            );
            let se = (alpha * (1.0 - alpha) / result.reps.max(1) as f64).sqrt();
            if after > alpha + 3.0 * se {
                misses.push(format!(
                    "{}: any false regression after Holm {} > α + 3 SE",
                    family.label(),
                    pct(after)
                ));
            }
        }
    }
    println!();

    if misses.is_empty() {
        println!("All targets met.");
        ExitCode::SUCCESS
    } else {
        println!("Targets missed ({}):", misses.len());
        for miss in &misses {
            println!("- {miss}");
        }
        if args.check {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}
