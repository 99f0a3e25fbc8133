//! The verdict in words: the report's one-sentence summary.

// The verdict's parts share its imports and helpers.
use super::*;

/// The plain sentence of the report.
pub(super) fn summary(stats: &Statistics, subject: Subject<'_>) -> String {
    let runs = count(stats.runs, "run");
    let Phrases { change, size, step } = phrases(stats, &runs);
    let worsening = subject.worsening();
    let detectable = stats
        .min_detectable_drop
        .filter(|&m| m < 1.0)
        .map(|m| {
            format!(
                " These runs could reveal a {worsening} of {} or more.",
                points(m)
            )
        })
        .unwrap_or_default();
    let p = stats.p_worse;
    let noun = subject.noun;
    let sentence = |text: String| {
        let mut chars = text.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    };
    match (stats.method, stats.verdict) {
        (_, Verdict::InsufficientData) => match &stats.insufficient {
            Some(i) => format!("Too little data to judge: {}. To fix: {}.", i.reason, i.remedy),
            None => "Too little data to judge.".to_owned(),
        },
        (Method::Ols, verdict) => {
            let slope = stats.evidence.ols().map_or(0.0, |o| o.slope);
            format!(
                "The proposal's rule: an OLS slope of {slope:+.4}/run is {} (no significance test).",
                match verdict {
                    Verdict::Regression => "worsening",
                    Verdict::Improvement => "improving",
                    _ => "stable",
                }
            )
        }
        (Method::Auto, Verdict::Regression | Verdict::NotSignificant) => sentence(format!(
            "the {noun} {} {}; a {worsening} like this arises by chance with probability {}.{}",
            subject.moved(false),
            size.unwrap_or_default(),
            p.map_or_else(String::new, p_text),
            step.unwrap_or_default()
        )),
        (Method::Auto, Verdict::Improvement) => sentence(format!(
            "the {noun} {} {}; by chance with probability {}.",
            subject.moved(true),
            size.unwrap_or_default(),
            p.map_or_else(String::new, |p| p_text(1.0 - p))
        )),
        (Method::Auto, Verdict::Stable) => match change {
            Some(change) => format!(
                "No {worsening} that matters: the {noun} moved {change}, p({worsening}) = {}.{detectable}",
                p.map_or_else(String::new, p_text)
            ),
            None => format!("Every decision of the {runs} had the same outcome: nothing moved."),
        },
    }
}

/// The change in words: signed (`change`), unsigned after "fell" or
/// "rose" (`size`), and a step the change stated leaves out (`step`).
struct Phrases {
    change: Option<String>,
    size: Option<String>,
    step: Option<String>,
}

fn phrases(stats: &Statistics, runs: &str) -> Phrases {
    let ci = |ca: &CochranArmitageStats| {
        format!(
            "across {runs} (95% CI {:+.1} to {:+.1})",
            100.0 * ca.predicted_change_ci[0],
            100.0 * ca.predicted_change_ci[1],
        )
    };
    // A step that explains the runs is the change stated; the fitted
    // line's only for a gradual trend (then the step, if any, follows).
    let stepped = stats
        .evidence
        .change_point()
        .filter(|_| stats.change.is_some_and(|c| c.kind == ChangeKind::Step));
    let step_size = |c: &ChangePoint| {
        format!(
            "from {:.1}% to {:.1}% at run {} ({}, 95% CI {:+.1} to {:+.1}; step test p = {})",
            100.0 * c.before.rate,
            100.0 * c.after.rate,
            c.run_index,
            signed_points(c.change),
            100.0 * c.change_ci[0],
            100.0 * c.change_ci[1],
            p_text(c.p_value)
        )
    };
    let change = match stepped {
        Some(c) => Some(step_size(c)),
        None => stats
            .evidence
            .cochran_armitage()
            .map(|ca| format!("{} {}", signed_points(ca.predicted_change), ci(ca))),
    };
    let size = match stepped {
        Some(c) => Some(step_size(c)),
        None => stats
            .evidence
            .cochran_armitage()
            .map(|ca| format!("by {} {}", points(ca.predicted_change.abs()), ci(ca))),
    };
    let step = stats
        .evidence
        .change_point()
        .filter(|_| stepped.is_none())
        .map(|c| {
            format!(
                " It stepped from {:.1}% to {:.1}% at run {} (step test p = {}).",
                100.0 * c.before.rate,
                100.0 * c.after.rate,
                c.run_index,
                p_text(c.p_value)
            )
        });
    Phrases { change, size, step }
}

/// A test's level: 4 decimals, or 2 significant digits below 0.0001 (a
/// level is chosen, and `--alpha 1e-6` must not read as "below 0.0001").
pub(crate) fn level_text(level: f64) -> String {
    if level < 1e-4 {
        format!("{level:.1e}")
    } else {
        format!("{level:.4}")
    }
}

/// A p-value with 4 decimals, or "below 0.0001".
/// A p-value after its name: "= 0.0123", or "< 0.0001".
pub(crate) fn p_equals(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".to_owned()
    } else {
        format!("= {p:.4}")
    }
}

pub(crate) fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "below 0.0001".to_owned()
    } else {
        format!("{p:.4}")
    }
}
