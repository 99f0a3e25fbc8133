//! Benjamini–Hochberg's false-discovery-rate adjustment, for many cases
//! tested at once.

/// Benjamini–Hochberg q-values, in the order given.
///
/// Benjamini & Hochberg (1995), "Controlling the false discovery rate": sort
/// the m p-values ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎; the q-value of the i-th is
/// min over j ≥ i of min(1, m p₍ⱼ₎ / j). Calling discoveries where q ≤ q*
/// keeps the expected share of false ones among them at most q* (for
/// independent or positively dependent tests). Unlike Holm's correction
/// (which bounds the chance of any false alarm) it keeps its power as the
/// cases grow into the thousands. `None` entries (cases that could not be
/// tested) are not counted in m and stay `None`.
///
/// Checked against values computed by hand (the tests below); R's
/// `p.adjust(p, "BH")` computes the same adjustment.
pub fn benjamini_hochberg(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let order = super::holm::ascending(p_values);
    let m = order.len();
    let mut adjusted = vec![None; p_values.len()];
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        let p = p_values[i].unwrap_or(1.0).clamp(0.0, 1.0);
        running = running.min(m as f64 * p / (rank + 1) as f64);
        adjusted[i] = Some(running);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::super::holm::tests::close;
    use super::*;

    #[test]
    fn q_values_step_up_from_the_largest_p() {
        // Sorted: 0.005 × 4/1 = 0.02, 0.01 × 4/2 = 0.02, 0.03 × 4/3 = 0.04,
        // 0.04 × 4/4 = 0.04 (R: p.adjust(c(.01, .04, .03, .005), "BH")).
        let q = benjamini_hochberg(&[Some(0.01), Some(0.04), Some(0.03), Some(0.005)]);
        close(&q, &[Some(0.02), Some(0.04), Some(0.04), Some(0.02)]);
    }

    #[test]
    fn a_larger_p_can_lift_no_q_above_one_and_untested_cases_are_not_counted() {
        // m = 2: 0.6 × 2/1 = 1.2 is capped by the step-up at 0.9 × 2/2.
        let q = benjamini_hochberg(&[Some(0.9), None, Some(0.6)]);
        close(&q, &[Some(0.9), None, Some(0.9)]);
        assert!(benjamini_hochberg(&[]).is_empty());
        close(&benjamini_hochberg(&[Some(1.0)]), &[Some(1.0)]);
    }
}
