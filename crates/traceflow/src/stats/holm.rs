//! Holm's step-down correction for testing several hypotheses at once.

/// Holm-adjusted p-values, in the order given.
///
/// Holm (1979), "A simple sequentially rejective multiple test procedure":
/// sort the m p-values ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎; the adjusted value of
/// the i-th is max over j ≤ i of min(1, (m − j + 1) p₍ⱼ₎). Rejecting where
/// the adjusted p is below α keeps the chance of any false rejection at α
/// for any dependence between the tests, and rejects at least what
/// Bonferroni does. `None` entries (tests that could not be computed) are
/// not counted in m and stay `None`. Ties keep their input order, which
/// does not change the adjusted values.
///
/// Checked against values computed by hand (the tests below); statsmodels'
/// `multipletests(p, method="holm")` computes the same adjustment.
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let order = ascending(p_values);
    let m = order.len();
    let mut adjusted = vec![None; p_values.len()];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let p = p_values[i].unwrap_or(1.0).clamp(0.0, 1.0);
        running = running.max(((m - rank) as f64 * p).min(1.0));
        adjusted[i] = Some(running);
    }
    adjusted
}

/// The indices of the defined (not `None`, not NaN) p-values, smallest
/// first; ties keep their input order.
pub(super) fn ascending(p_values: &[Option<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p_values.len())
        .filter(|&i| p_values[i].is_some_and(|p| !p.is_nan()))
        .collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (p_values[a].unwrap_or(1.0), p_values[b].unwrap_or(1.0));
        pa.total_cmp(&pb)
    });
    order
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Adjusted p-values equal to 1e-15, `None` where `None`.
    pub(in crate::stats) fn close(a: &[Option<f64>], b: &[Option<f64>]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            match (x, y) {
                (Some(x), Some(y)) => assert!((x - y).abs() < 1e-15, "{a:?} vs {b:?}"),
                (None, None) => {}
                _ => panic!("{a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn matches_the_step_down_by_hand() {
        // m = 4: sorted 0.001, 0.01, 0.02, 0.5 → 0.004, 0.03, max(0.03,
        // 0.04) = 0.04, max(0.04, 0.5) = 0.5.
        let p = [Some(0.02), Some(0.001), Some(0.5), Some(0.01)];
        close(&holm(&p), &[Some(0.04), Some(0.004), Some(0.5), Some(0.03)]);
    }

    #[test]
    fn adjusted_values_are_monotone_and_capped_at_one() {
        // 3 × 0.3 = 0.9 would be below 2 × 0.6 = 1.2 → 1; the last can
        // never fall below the one before.
        let p = [Some(0.3), Some(0.6), Some(0.9)];
        close(&holm(&p), &[Some(0.9), Some(1.0), Some(1.0)]);
    }

    #[test]
    fn missing_tests_are_not_counted() {
        let p = [None, Some(0.01), None, Some(0.04)];
        close(&holm(&p), &[None, Some(0.02), None, Some(0.04)]);
        assert!(holm(&[]).is_empty());
        close(&holm(&[Some(0.003)]), &[Some(0.003)]);
    }
}
