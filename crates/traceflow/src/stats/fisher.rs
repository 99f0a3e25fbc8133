//! Fisher's exact test of a two-by-two table, one-sided toward worse.

use statrs::distribution::{DiscreteCDF, Hypergeometric};

/// The one-sided p-value of Fisher's exact test that `after` passes less
/// often than `before`, each `(passes, decisions)`; `None` when either side
/// has no decisions or a side has more passes than decisions.
///
/// Fisher (1935), "The logic of inductive inference": given the table's
/// margins, the passes after follow the hypergeometric law with N =
/// n_before + n_after, K = all passes, n = n_after draws, under equal pass
/// chances; p = P(X ≤ passes after). Exact for any counts, including the
/// zero cells and small decisions of a single test case, where the
/// normal approximation fails. When every decision passed or every one
/// failed, nothing can be worse than what was seen: p = 1.
///
/// Checked against Fisher's tea-tasting table (3 of 4 against 1 of 4: p =
/// 17/70) and an exact sum of binomial coefficients in integers (the tests
/// below); scipy's `fisher_exact(table, alternative="greater")` is the
/// same test.
pub fn fisher_worse(before: (u64, u64), after: (u64, u64)) -> Option<f64> {
    let ((a, n1), (b, n2)) = (before, after);
    if n1 == 0 || n2 == 0 || a > n1 || b > n2 {
        return None;
    }
    let passes = a + b;
    let law = Hypergeometric::new(n1 + n2, passes, n2).ok()?;
    // The sum of pmf terms can round past 1.
    Some(law.cdf(b).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tea_tasting_table() {
        // P(X ≤ 1) for N = 8, K = 4, n = 4: (1 + 16) / 70.
        let p = fisher_worse((3, 4), (1, 4)).unwrap();
        assert!((p - 17.0 / 70.0).abs() < 1e-12, "{p}");
        // Toward better is no evidence of worse.
        let p = fisher_worse((1, 4), (3, 4)).unwrap();
        assert!((p - 69.0 / 70.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn matches_the_exact_sum_on_a_case_that_broke() {
        // 19 of 20 passes before, 8 of 20 after: Σ_{i ≤ 8} C(27, i) C(13,
        // 20 − i) / C(40, 20), summed in integers by Python's math.comb.
        let p = fisher_worse((19, 20), (8, 20)).unwrap();
        assert!((p - 2.158_125_072_474_349e-4).abs() < 1e-12, "{p}");
    }

    #[test]
    fn a_side_without_decisions_is_untested_and_one_outcome_throughout_is_p_one() {
        assert_eq!(fisher_worse((0, 0), (1, 3)), None);
        assert_eq!(fisher_worse((2, 3), (0, 0)), None);
        assert_eq!(fisher_worse((4, 3), (1, 3)), None);
        assert_eq!(fisher_worse((5, 5), (3, 3)), Some(1.0));
        assert_eq!(fisher_worse((0, 5), (0, 3)), Some(1.0));
    }
}
