//! Compensated summation, so that long series sum as exactly as Python's
//! `math.fsum` to within a rounding of the result.

/// Neumaier's improved Kahan–Babuška sum.
///
/// Source: A. Neumaier, "Rundungsfehleranalyse einiger Verfahren zur
/// Summation endlicher Summen", ZAMM 54 (1974) 39–51. The error bound is
/// independent of the length of the series (2ε|Σ| + O(nε²)Σ|xᵢ|), unlike the
/// naive sum's O(nε)Σ|xᵢ|.
pub fn neumaier(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            compensation += (sum - t) + v;
        } else {
            compensation += (v - t) + sum;
        }
        sum = t;
    }
    sum + compensation
}

/// Σsᵢ / Σkᵢ for items (sᵢ, kᵢ), each the sum sᵢ of kᵢ observations: the
/// mean of all the observations; `None` without any, or when an sᵢ is not
/// finite.
///
/// Summed in order from 0, so ordinary data gives the same bits as a plain
/// running sum; only when that sum overflows (two values of 1e308) is it redone
/// on values scaled by a power of two, whose mean is finite.
///
/// The items are walked more than once (cloned), never collected: a run's
/// mean is measured each time a report's runs are read.
pub fn pooled_mean<I>(items: I) -> Option<f64>
where
    I: IntoIterator<Item = (f64, u64)>,
    I::IntoIter: Clone,
{
    let items = items.into_iter();
    let count: u64 = items.clone().map(|(_, k)| k).sum();
    if count == 0 || items.clone().any(|(s, _)| !s.is_finite()) {
        return None;
    }
    let sum = items.clone().fold(0.0, |sum, (s, _)| sum + s);
    if sum.is_finite() {
        return Some(sum / count as f64);
    }
    let scale = super::scale_of(items.clone().map(|(s, _)| s));
    let scaled = items.fold(0.0, |sum, (s, _)| sum + s / scale);
    Some(scaled / count as f64 * scale).filter(|m| m.is_finite())
}

/// The mean of values, as [`pooled_mean`] of single observations.
pub fn mean(values: &[f64]) -> Option<f64> {
    pooled_mean(values.iter().map(|&v| (v, 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_of_huge_values_do_not_overflow() {
        assert_eq!(mean(&[1e308, 1e308]), Some(1e308));
        assert_eq!(mean(&[f64::MAX, f64::MAX, -f64::MAX]), Some(f64::MAX / 3.0));
        assert_eq!(mean(&[0.1, 0.2, 0.3]), Some((0.1 + 0.2 + 0.3) / 3.0));
        let m = pooled_mean([(3e307, 2), (1.7e308, 1)]).unwrap();
        assert!((m / (2.0 / 3.0 * 1e308) - 1.0).abs() < 1e-15, "{m}");
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1.0, f64::INFINITY]), None);
        let m = pooled_mean([(1e308, 1); 3]).unwrap();
        assert!((m / 1e308 - 1.0).abs() < 1e-15, "{m}");
    }

    #[test]
    fn recovers_what_naive_summation_loses() {
        let values = [1.0, 1e100, 1.0, -1e100];
        assert_eq!(values.iter().sum::<f64>(), 0.0);
        assert_eq!(neumaier(values), 2.0);
    }

    #[test]
    fn empty_sums_to_zero() {
        assert_eq!(neumaier(std::iter::empty()), 0.0);
    }

    #[test]
    fn tenths_sum_exactly() {
        // Naively, ten 0.1s sum to 0.9999999999999999.
        assert_eq!(neumaier(std::iter::repeat_n(0.1, 10)), 1.0);
    }
}
