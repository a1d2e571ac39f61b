//! The arithmetic of the figures: spreads and percentiles.

/// Largest minus smallest value; `None` when there is none.
pub fn spread(values: &[u64]) -> Option<u64> {
    let min = values.iter().min()?;
    let max = values.iter().max()?;
    Some(max - min)
}

/// Nearest-rank percentile (`percent` from 1 to 100): the smallest value with
/// at least `percent`% of the values at or below it. No interpolation, so the
/// figure is always one that was measured. `None` when `values` is empty.
pub fn percentile(values: &[u64], percent: u32) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    // rank = ceil(percent / 100 * n), in integers to avoid float rounding at exact ranks.
    let rank = (percent.clamp(1, 100) as usize * n).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_and_spread() {
        let hundred: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&hundred, 50), Some(50));
        assert_eq!(percentile(&hundred, 95), Some(95));
        assert_eq!(percentile(&hundred, 100), Some(100));
        // 20 values: rank ceil(0.95 * 20) = 19; 10 values: ceil(9.5) = 10.
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!((percentile(&twenty, 50), percentile(&twenty, 95)), (Some(10), Some(19)));
        let ten: Vec<u64> = (1..=10).map(|v| v * 10).collect();
        assert_eq!((percentile(&ten, 50), percentile(&ten, 95)), (Some(50), Some(100)));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);

        assert_eq!(spread(&[1_500, 1_000, 4_250]), Some(3_250));
        assert_eq!(spread(&[42]), Some(0));
        assert_eq!(spread(&[]), None);
    }
}
