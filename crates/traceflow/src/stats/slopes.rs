//! Order statistics of the pairwise slopes (yⱼ − yᵢ)/(j − i), i < j, of a
//! series, without materializing its n(n − 1)/2 pairs: time O(n log n) per
//! round of a few rounds, memory O(n).
//!
//! For a slope t, zₖ = yₖ − t·k orders the pairs: (yⱼ − yᵢ)/(j − i) < t
//! exactly when zⱼ < zᵢ, so the pairs with a slope below t are the
//! inversions of z in index order, counted with a Fenwick tree, and the
//! pairs with a slope between two values lo < hi are the pairs whose order
//! flips between z at lo and z at hi: the inversions of z(hi) listed in the
//! order of z(lo). z is computed in double-double arithmetic (yₖ − t·k to
//! about 2⁻¹⁰⁶ of its size), so that the counts are those of the exact
//! slopes, ties included.
//!
//! The selection narrows a bracket (lo, hi) around each wanted rank: it
//! draws pairs uniformly from the bracket (an inversion chosen by its
//! number, then found by a Fenwick tree's descent), takes sample slopes a
//! little below and above each rank's expected place as pivots, counts
//! the slopes below and at each pivot, and keeps the part that holds the
//! rank; a pivot whose tied slopes hold the rank is the answer. Once a
//! bracket holds a few times n pairs, they are listed and the rank is
//! selected among them. The sampling is seeded; it decides only how fast
//! the bracket narrows, not the answer (as in Matoušek, "Randomized optimal
//! algorithm for slope selection", Inf. Process. Lett. 39 (1991) 183–187,
//! and Dillencourt, Mount & Netanyahu, "A randomized algorithm for slope
//! selection", Int. J. Comput. Geom. Appl. 2 (1992) 1–27).
//!
//! The answer is the slope of a pair of that rank, computed as a direct
//! computation would, (yⱼ − yᵢ)/(j − i) in floating point: where those
//! quotients are exact, it is exactly what sorting them would give; where
//! they are rounded, pairs within an ulp of each other may be ranked by
//! their exact slopes instead, a difference of at most an ulp or two.

use std::rc::Rc;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::{midpoint, order_statistic};

/// How the selection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// List a bracket's pairs once it holds at most this many.
    pub enumerate_at_most: u64,
    /// Pairs drawn from a bracket per round.
    pub sample: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Plan {
    /// For a series of `n` values: brackets listed at 8n pairs (64n bytes
    /// of slopes), n pairs drawn per round, so each round narrows a bracket
    /// about √n/4-fold and 10⁶ values need three rounds.
    pub fn for_len(n: usize) -> Self {
        Plan {
            enumerate_at_most: (8 * n as u64).max(1 << 16),
            sample: n.max(4096),
            seed: 0x5365_6e73_736c_6f70,
        }
    }
}

/// Rounds after which a bracket is listed, or if it holds more than 16n
/// pairs answered by its sampled slope of the rank (only slopes within an
/// ulp of each other, which no pivot separates, come near this).
const MAX_ROUNDS: u32 = 64;

/// The slopes at 0-based `ranks` (each below n(n − 1)/2) in the ascending
/// order of all pairwise slopes of `y`, which must be finite and small
/// enough that 2·max|y|·n is finite.
pub(crate) fn order_statistics(y: &[f64], ranks: &[u64], plan: &Plan) -> Vec<f64> {
    let n = y.len();
    let mut out = vec![f64::NAN; ranks.len()];
    if n < 2 || ranks.is_empty() {
        return out;
    }
    let pairs = n as u64 * (n as u64 - 1) / 2;
    let mut selection = Selection {
        y,
        plan: *plan,
        rng: ChaCha8Rng::seed_from_u64(plan.seed),
    };
    let targets: Vec<(u64, usize)> = ranks
        .iter()
        .enumerate()
        .map(|(slot, &k)| (k.min(pairs - 1), slot))
        .collect();
    let mut tasks = vec![Task {
        lo: End {
            bound: Bound::Below,
            rank: Rc::new((0..n as u32).collect()),
            count: 0,
        },
        hi: End {
            bound: Bound::Above,
            rank: Rc::new((0..n as u32).rev().collect()),
            count: pairs,
        },
        targets,
        round: 0,
    }];
    while let Some(task) = tasks.pop() {
        selection.run(task, &mut out, &mut tasks);
    }
    out
}

/// The median of the pairwise slopes (the mean of the middle two for an
/// even count), with the slopes at `ranks`.
pub(crate) fn median_and(y: &[f64], ranks: &[u64], plan: &Plan) -> (f64, Vec<f64>) {
    let n = y.len() as u64;
    let pairs = n * n.saturating_sub(1) / 2;
    let mut wanted = ranks.to_vec();
    let middle = if pairs % 2 == 1 {
        wanted.push(pairs / 2);
        1
    } else {
        wanted.extend([pairs / 2 - 1, pairs / 2]);
        2
    };
    let mut found = order_statistics(y, &wanted, plan);
    let median = match middle {
        1 => found[ranks.len()],
        _ => midpoint(found[ranks.len()], found[ranks.len() + 1]),
    };
    found.truncate(ranks.len());
    (median, found)
}

/// A slope bound: −∞, a slope, or +∞.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Below,
    At(f64),
    Above,
}

impl Bound {
    /// Whether the bound is below `v`.
    fn is_below(self, v: f64) -> bool {
        match self {
            Bound::Below => true,
            Bound::At(b) => b < v,
            Bound::Above => false,
        }
    }

    /// Whether the bound is above `v`.
    fn is_above(self, v: f64) -> bool {
        match self {
            Bound::Below => false,
            Bound::At(b) => b > v,
            Bound::Above => true,
        }
    }
}

/// One end of a bracket: its bound, each value's rank of zₖ = yₖ − t·k at
/// it (equal z, equal rank), and the pairs at or below it (the lower end)
/// or below it (the upper end).
#[derive(Clone)]
struct End {
    bound: Bound,
    rank: Rc<Vec<u32>>,
    count: u64,
}

/// A bracket and the ranks (with their output slots) it holds.
struct Task {
    lo: End,
    hi: End,
    targets: Vec<(u64, usize)>,
    round: u32,
}

struct Selection<'a> {
    y: &'a [f64],
    plan: Plan,
    rng: ChaCha8Rng,
}

impl Selection<'_> {
    /// Answers a task's ranks, or splits it into narrower tasks.
    fn run(&mut self, task: Task, out: &mut [f64], tasks: &mut Vec<Task>) {
        let inside = Inside::new(&task.lo.rank, &task.hi.rank);
        if inside.total == 0 {
            answer_in_empty(&task, out);
            return;
        }
        let places = Places {
            below: task.lo.count,
            total: inside.total,
        };
        if places.total <= self.plan.enumerate_at_most {
            self.select_listed(&inside, &task.targets, places, out);
            return;
        }
        let sample = self.draw(&task, &inside);
        // Pivots strictly inside the bracket (a slope rounded onto an end
        // cannot narrow it).
        let inner: Vec<f64> = sample
            .iter()
            .copied()
            .filter(|&s| task.lo.bound.is_below(s) && task.hi.bound.is_above(s))
            .collect();
        if inner.is_empty() || task.round >= MAX_ROUNDS {
            self.settle(&inside, &task.targets, places, &sample, out);
            return;
        }
        let ends = self.ends_at(&pivots(&inner, &task.targets, places));
        let groups = split_targets(&task.targets, &ends, out);
        narrow(&task, &ends, groups, tasks);
    }

    /// Lists a bracket's pairs and selects each rank among them.
    fn select_listed(
        &self,
        inside: &Inside,
        targets: &[(u64, usize)],
        places: Places,
        out: &mut [f64],
    ) {
        let mut slopes = inside.pairs(self.y, None);
        for &(k, slot) in targets {
            out[slot] = order_statistic(&mut slopes, places.want(k) as usize);
        }
    }

    /// [`Plan::sample`] slopes drawn uniformly from a bracket's pairs,
    /// sorted.
    fn draw(&mut self, task: &Task, inside: &Inside) -> Vec<f64> {
        let mut sample = if (task.lo.bound, task.hi.bound) == (Bound::Below, Bound::Above) {
            // Every pair is inside: two distinct random values are a
            // uniform pair, without the bracket's machinery.
            let n = self.y.len();
            (0..self.plan.sample)
                .map(|_| loop {
                    let (a, b) = (self.rng.random_range(0..n), self.rng.random_range(0..n));
                    if a != b {
                        let (i, j) = (a.min(b), a.max(b));
                        break (self.y[j] - self.y[i]) / (j - i) as f64;
                    }
                })
                .collect()
        } else {
            inside.pairs(self.y, Some((self.plan.sample, &mut self.rng)))
        };
        sample.sort_unstable_by(f64::total_cmp);
        sample
    }

    /// Answers the ranks of a bracket no pivot narrows (or that ran out of
    /// rounds): the bracket's pairs have exact slopes just inside its ends
    /// and float slopes on them (the pivots are rounded slopes). Lists
    /// them if they are not too many; else every one is within an ulp of
    /// an end, and the sampled slope of the rank is as good.
    fn settle(
        &self,
        inside: &Inside,
        targets: &[(u64, usize)],
        places: Places,
        sample: &[f64],
        out: &mut [f64],
    ) {
        if places.total <= self.plan.enumerate_at_most.max(16 * self.y.len() as u64) {
            self.select_listed(inside, targets, places, out);
            return;
        }
        for &(k, slot) in targets {
            out[slot] = sample[places.place(k, sample.len()).min(sample.len() - 1)];
        }
    }

    /// The ends at the pivots, each with the pairs at or below it.
    fn ends_at(&self, pivots: &[f64]) -> Vec<(End, u64)> {
        pivots
            .iter()
            .map(|&v| {
                let rank = ranks_at(self.y, v);
                let (below, tied) = count_below_and_tied(&rank);
                (
                    End {
                        bound: Bound::At(v),
                        rank: Rc::new(rank),
                        count: below,
                    },
                    below + tied,
                )
            })
            .collect()
    }
}

/// Where a rank falls in a bracket.
#[derive(Debug, Clone, Copy)]
struct Places {
    /// The pairs at or below the bracket's lower end.
    below: u64,
    /// The pairs inside it (at least one).
    total: u64,
}

impl Places {
    /// A rank's place among the bracket's pairs.
    fn want(self, k: u64) -> u64 {
        k.saturating_sub(self.below).min(self.total - 1)
    }

    /// A rank's expected place among `len` slopes drawn from the bracket.
    fn place(self, k: u64, len: usize) -> usize {
        ((self.want(k) as f64 + 0.5) / self.total as f64 * len as f64).floor() as usize
    }
}

/// Answers the ranks of a bracket with no pair inside: only rounding
/// could leave ranks there, and the nearest finite end is the answer to
/// within it.
fn answer_in_empty(task: &Task, out: &mut [f64]) {
    let value = match (task.lo.bound, task.hi.bound) {
        (Bound::At(v), _) | (_, Bound::At(v)) => v,
        _ => 0.0,
    };
    for &(_, slot) in &task.targets {
        out[slot] = value;
    }
}

/// The pivots for a bracket's ranks, from the sample slopes strictly
/// inside it: the ends of each rank's window of sample places, about four
/// standard deviations of a sample rank either side of its expected
/// place, overlapping windows merged (the median's two ranks share one).
fn pivots(inner: &[f64], targets: &[(u64, usize)], places: Places) -> Vec<f64> {
    let spread = (2.0 * (inner.len() as f64).sqrt()).ceil() as usize + 1;
    let last = inner.len() - 1;
    let mut windows: Vec<(usize, usize)> = targets
        .iter()
        .map(|&(k, _)| {
            let at = places.place(k, inner.len());
            (at.saturating_sub(spread).min(last), (at + spread).min(last))
        })
        .collect();
    windows.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(windows.len());
    for (from, to) in windows {
        match merged.last_mut() {
            Some(window) if from <= window.1 => window.1 = window.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    let mut pivots: Vec<f64> = merged
        .into_iter()
        .flat_map(|(from, to)| [inner[from], inner[to]])
        .collect();
    pivots.sort_unstable_by(f64::total_cmp);
    pivots.dedup();
    pivots
}

/// Sorts a bracket's ranks into the narrower brackets between
/// consecutive ends (lo, the pivots, hi); a rank that a pivot's tied
/// slopes hold is answered by the pivot instead.
fn split_targets(
    targets: &[(u64, usize)],
    ends: &[(End, u64)],
    out: &mut [f64],
) -> Vec<Vec<(u64, usize)>> {
    let mut groups: Vec<Vec<(u64, usize)>> = vec![Vec::new(); ends.len() + 1];
    'target: for &(k, slot) in targets {
        for (i, (end, at_or_below)) in ends.iter().enumerate() {
            if k < end.count {
                groups[i].push((k, slot));
                continue 'target;
            }
            if k < *at_or_below {
                if let Bound::At(v) = end.bound {
                    out[slot] = v;
                }
                continue 'target;
            }
        }
        groups[ends.len()].push((k, slot));
    }
    groups
}

/// Queues a task per narrower bracket that holds ranks, for the next
/// round.
fn narrow(task: &Task, ends: &[(End, u64)], groups: Vec<Vec<(u64, usize)>>, tasks: &mut Vec<Task>) {
    for (i, group) in groups.into_iter().enumerate() {
        if group.is_empty() {
            continue;
        }
        let lower = match i {
            0 => task.lo.clone(),
            _ => {
                let (end, at_or_below) = &ends[i - 1];
                End {
                    count: *at_or_below,
                    ..end.clone()
                }
            }
        };
        let upper = match ends.get(i) {
            Some((end, _)) => end.clone(),
            None => task.hi.clone(),
        };
        tasks.push(Task {
            lo: lower,
            hi: upper,
            targets: group,
            round: task.round + 1,
        });
    }
}

/// The pairs strictly between two ends: the pairs whose z order differs
/// between them, as inversions of the upper end's ranks listed in the
/// lower end's order.
struct Inside {
    /// The values in the order of (rank at lo, rank at hi).
    order: Vec<u32>,
    /// Each position's rank at hi.
    upper: Vec<u32>,
    /// Each position's inversions with earlier positions.
    before: Vec<u32>,
    /// All of them: the pairs in the bracket.
    total: u64,
    /// Positions grouped by their rank at hi, each group in position order.
    by_rank: Vec<u32>,
    /// Where each rank's group starts in `by_rank`.
    start: Vec<u32>,
}

impl Inside {
    fn new(lo: &[u32], hi: &[u32]) -> Self {
        let n = lo.len();
        let mut keyed: Vec<u64> = Vec::with_capacity(n);
        keyed.extend((0..n).map(|e| (u64::from(lo[e]) << 32) | u64::from(hi[e])));
        // Elements share a key only when tied at both ends; their order
        // among themselves is immaterial (they form no inversion), so
        // sorting (key, element) and sorting the keys agree on it.
        let mut order: Vec<(u64, u32)> = keyed.into_iter().zip(0..n as u32).collect();
        order.sort_unstable();
        let order: Vec<u32> = order.into_iter().map(|(_, e)| e).collect();
        let upper: Vec<u32> = order.iter().map(|&e| hi[e as usize]).collect();
        let mut tree = Fenwick::new(n);
        let mut before = Vec::with_capacity(n);
        let mut total = 0u64;
        for (q, &v) in upper.iter().enumerate() {
            let greater = q as u32 - tree.prefix(v as usize + 1);
            before.push(greater);
            total += u64::from(greater);
            tree.add(v as usize);
        }
        let mut start = vec![0u32; n + 1];
        for &v in &upper {
            start[v as usize + 1] += 1;
        }
        for r in 0..n {
            start[r + 1] += start[r];
        }
        let mut fill = start.clone();
        let mut by_rank = vec![0u32; n];
        for (p, &v) in upper.iter().enumerate() {
            by_rank[fill[v as usize] as usize] = p as u32;
            fill[v as usize] += 1;
        }
        Inside {
            order,
            upper,
            before,
            total,
            by_rank,
            start,
        }
    }

    /// The slopes of every pair in the bracket, or of `count` pairs drawn
    /// uniformly (with replacement) with `rng`.
    fn pairs(&self, y: &[f64], draw: Option<(usize, &mut ChaCha8Rng)>) -> Vec<f64> {
        let n = self.order.len();
        // The wanted pairs by number, ascending; None lists them all.
        let mut numbers: Option<Vec<u64>> = draw.map(|(count, rng)| {
            let mut numbers: Vec<u64> = (0..count)
                .map(|_| rng.random_range(0..self.total))
                .collect();
            numbers.sort_unstable();
            numbers
        });
        let capacity = numbers
            .as_ref()
            .map_or(self.total as usize, std::vec::Vec::len);
        let mut slopes = Vec::with_capacity(capacity);
        let slope = |a: u32, b: u32| {
            let (i, j) = (a.min(b) as usize, a.max(b) as usize);
            (y[j] - y[i]) / (j - i) as f64
        };
        let mut tree = Fenwick::new(n);
        let mut next = 0usize;
        let mut first = 0u64;
        for q in 0..n {
            let v = self.upper[q] as usize;
            let count = u64::from(self.before[q]);
            if count > 0 {
                // Inserted positions (all p < q) at or below v come first in
                // (rank, position) order; the inversions are the rest.
                let at_or_below = u64::from(tree.prefix(v + 1));
                let element = self.order[q];
                let mut take = |index: u64| {
                    let (rank, preceding) = tree.find(index as u32);
                    let offset = index as u32 - preceding;
                    let p = self.by_rank[(self.start[rank] + offset) as usize];
                    slopes.push(slope(self.order[p as usize], element));
                };
                match numbers.as_mut() {
                    None => (0..count).for_each(|r| take(at_or_below + r)),
                    Some(numbers) => {
                        while next < numbers.len() && numbers[next] < first + count {
                            take(at_or_below + numbers[next] - first);
                            next += 1;
                        }
                    }
                }
            }
            first += count;
            tree.add(v);
        }
        slopes
    }
}

/// Each value's rank of zₖ = yₖ − t·k, equal z sharing a rank.
fn ranks_at(y: &[f64], t: f64) -> Vec<u32> {
    let mut keyed: Vec<(f64, f64, u32)> = y
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let (hi, lo) = offset(v, t, k);
            (hi, lo, k as u32)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut rank = vec![0u32; y.len()];
    let mut r = 0u32;
    for i in 0..keyed.len() {
        if i > 0 && (keyed[i].0, keyed[i].1) != (keyed[i - 1].0, keyed[i - 1].1) {
            r += 1;
        }
        rank[keyed[i].2 as usize] = r;
    }
    rank
}

/// Pairs i < j with rank[j] < rank[i] (a slope below the pivot) and with
/// rank[j] = rank[i] (the pivot's own slope).
fn count_below_and_tied(rank: &[u32]) -> (u64, u64) {
    let mut tree = Fenwick::new(rank.len());
    let (mut below, mut tied) = (0u64, 0u64);
    for (j, &r) in rank.iter().enumerate() {
        let at_or_below = tree.prefix(r as usize + 1);
        let strictly_below = tree.prefix(r as usize);
        below += u64::from(j as u32 - at_or_below);
        tied += u64::from(at_or_below - strictly_below);
        tree.add(r as usize);
    }
    (below, tied)
}

/// y − t·k as a normalized double-double (hi, lo), zeros unsigned: t·k =
/// p + e exactly by a fused multiply-add, y − p = s + f exactly by Knuth's
/// two-sum, and f − e rounded once.
fn offset(y: f64, t: f64, k: usize) -> (f64, f64) {
    let k = k as f64;
    let p = t * k;
    let e = t.mul_add(k, -p);
    let (s, f) = two_sum(y, -p);
    let (hi, lo) = two_sum(s, f - e);
    (hi + 0.0, lo + 0.0)
}

/// a + b = s + e exactly (Knuth, TAOCP vol. 2, §4.2.2).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Counts of ranks 0..n, with prefix sums and search by cumulative count.
struct Fenwick {
    tree: Vec<u32>,
    /// The largest power of two ≤ n.
    top: usize,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        let top = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        Fenwick {
            tree: vec![0; n + 1],
            top,
        }
    }

    /// Counts one of rank r.
    fn add(&mut self, r: usize) {
        let mut i = r + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// Counted ranks below r.
    fn prefix(&self, r: usize) -> u32 {
        let mut i = r;
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i &= i - 1;
        }
        sum
    }

    /// The rank of the index-th counted one (0-based, in rank order), and
    /// how many are counted below that rank.
    fn find(&self, index: u32) -> (usize, u32) {
        let (mut at, mut below) = (0usize, 0u32);
        let mut step = self.top;
        while step > 0 {
            let next = at + step;
            if next < self.tree.len() && below + self.tree[next] <= index {
                at = next;
                below += self.tree[next];
            }
            step >>= 1;
        }
        (at, below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every slope, sorted: the definition.
    fn all_slopes(y: &[f64]) -> Vec<f64> {
        let mut slopes = Vec::new();
        for i in 0..y.len() {
            for j in i + 1..y.len() {
                slopes.push((y[j] - y[i]) / (j - i) as f64);
            }
        }
        slopes.sort_unstable_by(f64::total_cmp);
        slopes
    }

    #[test]
    fn the_fenwick_tree_finds_by_cumulative_count() {
        let mut tree = Fenwick::new(10);
        for r in [3, 3, 7, 0, 9] {
            tree.add(r);
        }
        assert_eq!(tree.prefix(4), 3);
        assert_eq!(tree.find(0), (0, 0));
        assert_eq!(tree.find(1), (3, 1));
        assert_eq!(tree.find(2), (3, 1));
        assert_eq!(tree.find(3), (7, 3));
        assert_eq!(tree.find(4), (9, 4));
    }

    #[test]
    fn counts_at_a_pivot_are_those_of_the_slopes() {
        let y = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        let slopes = all_slopes(&y);
        for t in [-2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 4.0] {
            let (below, tied) = count_below_and_tied(&ranks_at(&y, t));
            assert_eq!(
                below,
                slopes.iter().filter(|&&s| s < t).count() as u64,
                "{t}"
            );
            assert_eq!(
                tied,
                slopes.iter().filter(|&&s| s == t).count() as u64,
                "{t}"
            );
        }
    }

    #[test]
    fn a_bracket_lists_its_pairs_and_draws_from_them() {
        let y = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        let (lo, hi) = (-0.5, 1.5);
        let inside = Inside::new(&ranks_at(&y, lo), &ranks_at(&y, hi));
        let mut listed = inside.pairs(&y, None);
        listed.sort_unstable_by(f64::total_cmp);
        let expected: Vec<f64> = all_slopes(&y)
            .into_iter()
            .filter(|&s| s > lo && s < hi)
            .collect();
        assert_eq!(listed, expected);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let drawn = inside.pairs(&y, Some((500, &mut rng)));
        assert_eq!(drawn.len(), 500);
        assert!(drawn.iter().all(|s| expected.contains(s)));
    }
}
