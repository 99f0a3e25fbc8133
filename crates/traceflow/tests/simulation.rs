//! The verdict rules' error rates at a size CI can afford: a few cells of
//! the grid in `docs/statistics.md`, seeded (the full table comes from
//! `cargo run --release --example simulate`).

use traceflow::simulation::{run_cell, run_gating, Cell, Gating, PerRun, Shape};

const ALPHA: f64 = 0.01;
const REPS: u64 = 400;

fn cell(p: f64, runs: usize, per_run: PerRun, shape: Shape) -> Cell {
    Cell {
        p,
        runs,
        per_run,
        rho: 0.0,
        shape,
    }
}

#[test]
fn auto_keeps_its_level_where_the_proposal_does_not() {
    let limit = ALPHA + 3.0 * (ALPHA * (1.0 - ALPHA) / REPS as f64).sqrt();
    for (i, c) in [
        cell(0.8, 20, PerRun::Fixed(3), Shape::Stable),
        cell(0.95, 40, PerRun::Fixed(20), Shape::Stable),
        cell(0.7, 100, PerRun::Uniform(1, 50), Shape::Stable),
    ]
    .iter()
    .enumerate()
    {
        let r = run_cell(c, REPS, ALPHA, i as u64);
        assert!(r.rate(r.auto) <= limit, "{c:?}: {r:?}");
    }
    // The proposal's rule on 20 runs of 3 decisions: a false alarm in
    // about one history of eight.
    let r = run_cell(
        &cell(0.8, 20, PerRun::Fixed(3), Shape::Stable),
        REPS,
        ALPHA,
        9,
    );
    assert!(r.rate(r.ols) > 0.08, "{r:?}");
}

#[test]
fn auto_is_about_as_powerful_as_the_oracle_and_finds_the_step() {
    let ramp = run_cell(
        &cell(0.8, 40, PerRun::Fixed(20), Shape::Ramp(0.15)),
        REPS,
        ALPHA,
        3,
    );
    assert!(
        ramp.rate(ramp.auto) >= ramp.rate(ramp.oracle) - 0.03,
        "{ramp:?}"
    );
    let step = run_cell(
        &cell(0.8, 40, PerRun::Fixed(20), Shape::Step(0.15)),
        REPS,
        ALPHA,
        4,
    );
    assert!(
        step.rate(step.auto) >= step.rate(step.oracle) - 0.03,
        "{step:?}"
    );
    assert!(step.steps > 100, "{step:?}");
    assert!(
        step.steps_near as f64 >= 0.8 * step.steps as f64,
        "{step:?}"
    );
}

#[test]
fn a_bounded_gate_rarely_alarms_over_100_evaluations() {
    let gating = Gating {
        p: 0.8,
        window: 100,
        per_run: PerRun::Fixed(3),
        evaluations: 100,
        drop: 0.0,
    };
    let r = run_gating(&gating, 100, ALPHA, 5);
    let share = |rule: usize| r.any_alarm[rule] as f64 / r.reps as f64;
    // auto at α per evaluation piles up false alarms; bounded, it does not.
    assert!(share(1) > 0.1, "{r:?}");
    assert!(share(2) <= 0.04, "{r:?}");
}

#[test]
fn holm_keeps_a_family_of_segments_near_alpha() {
    use traceflow::simulation::{run_family, Family};
    // Ten stable segments and their total: uncorrected, some report raises
    // a false regression in about 7% of histories (measured, docs).
    let family = Family {
        segments: 10,
        runs: 42,
        per_run: PerRun::Fixed(100),
        rate: 0.8,
        means: false,
    };
    let result = run_family(&family, 200, 0.01, 7);
    assert_eq!(result.reports, 11);
    assert!(result.any_uncorrected >= 5, "{result:?}");
    // At most 6 of 200 (3%): a binomial(200, 0.01) exceeds that with
    // probability below 0.5%.
    assert!(result.any_corrected <= 6, "{result:?}");
}
