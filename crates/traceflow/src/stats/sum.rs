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

#[cfg(test)]
mod tests {
    use super::*;

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
