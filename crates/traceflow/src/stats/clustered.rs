//! Binary outcomes that come in clusters (a trace's decisions): the design
//! effect, and counts scaled to the sample size they are worth.

/// The design effect of a proportion pooled over clusters `(passes,
/// decisions)`: how many times its variance exceeds the binomial one.
///
/// With p̂ = Σx/Σn over m clusters, the ratio estimator's variance
/// m/(m − 1) · Σ(xᵢ − p̂nᵢ)²/(Σn)², divided by p̂(1 − p̂)/Σn; at least 1.
/// Rao & Scott, "A simple method for the analysis of clustered binary
/// data", Biometrics 48 (1992) 577–585, who divide both counts by it
/// before a test made for independent trials. 1 for fewer than two
/// clusters, or when every decision is the same.
pub fn design_effect(clusters: &[(u64, u64)]) -> f64 {
    let m = clusters.len();
    let (x, n) = clusters
        .iter()
        .fold((0u64, 0u64), |(x, n), &(xi, ni)| (x + xi, n + ni));
    if m < 2 || n == 0 || x == 0 || x == n {
        return 1.0;
    }
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let ss: f64 = clusters
        .iter()
        .map(|&(xi, ni)| (xi as f64 - p * ni as f64).powi(2))
        .sum();
    let clustered = m as f64 / (m as f64 - 1.0) * ss / (n * n);
    let binomial = p * (1.0 - p) / n;
    let d = clustered / binomial;
    if d.is_finite() {
        d.max(1.0)
    } else {
        1.0
    }
}

/// `(passes, decisions)` divided by the design effect `d`, rounded, with
/// at least one decision: the independent trials the clusters are worth.
pub fn effective_counts((passes, decisions): (u64, u64), d: f64) -> (u64, u64) {
    let scale = |k: u64| (k as f64 / d.max(1.0)).round() as u64;
    let decisions_eff = scale(decisions).max(1);
    (scale(passes).min(decisions_eff), decisions_eff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_single_trials_have_no_design_effect() {
        // One decision per cluster: the ratio estimator's variance is the
        // binomial one times m/(m − 1).
        let clusters: Vec<(u64, u64)> = (0..100).map(|i| (u64::from(i % 4 != 0), 1)).collect();
        let d = design_effect(&clusters);
        assert!((d - 100.0 / 99.0).abs() < 1e-12, "{d}");
    }

    #[test]
    fn clusters_of_one_outcome_each_count_as_one_trial() {
        // Ten clusters of ten decisions, each all pass or all fail: the
        // 100 decisions are worth 10 trials.
        let clusters: Vec<(u64, u64)> = (0..10).map(|i| (if i < 7 { 10 } else { 0 }, 10)).collect();
        let d = design_effect(&clusters);
        assert!((d - 10.0 * 10.0 / 9.0).abs() < 1e-9, "{d}");
        assert_eq!(effective_counts((70, 100), d), (6, 9));
        assert_eq!(design_effect(&[(3, 3), (2, 2)]), 1.0);
        assert_eq!(design_effect(&[(1, 2)]), 1.0);
    }
}
