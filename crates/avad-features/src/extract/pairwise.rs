//! numpy's float32 pairwise summation, per lane.

use super::{Lanes, LANES};

/// One step of numpy's float32 pairwise summation of `n` values, in the order it adds
/// them: a leaf block summed directly, or the sum of the last two results.
#[derive(Debug, Clone, Copy)]
pub(super) enum PairOp {
    Leaf { start: usize, len: usize },
    Add,
}

/// numpy's `pairwise_sum` (`loops_utils.h`) flattened into postfix order: blocks of up
/// to 128 are leaves; above that, the first half (rounded down to a multiple of 8) and
/// the rest, then their sum.
pub(super) fn pairwise_plan(n: usize) -> Vec<PairOp> {
    fn go(start: usize, n: usize, plan: &mut Vec<PairOp>) {
        if n <= 128 {
            plan.push(PairOp::Leaf { start, len: n });
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            go(start, n2, plan);
            go(start + n2, n - n2, plan);
            plan.push(PairOp::Add);
        }
    }
    let mut plan = Vec::new();
    go(0, n, &mut plan);
    plan
}

/// numpy's float32 `add.reduce` of each lane over `a`'s rows, following `plan`
/// ([`pairwise_plan`] of `a.len()`). Not recursive, so it inlines into (and vectorises
/// with) the AVX2 block.
#[inline(always)]
pub(super) fn pairwise_sum_lanes(plan: &[PairOp], a: &[Lanes]) -> Lanes {
    let mut stack = [[0f32; LANES]; 64];
    let mut depth = 0;
    for op in plan {
        match *op {
            PairOp::Leaf { start, len } => {
                stack[depth] = pairwise_leaf(&a[start..start + len]);
                depth += 1;
            }
            PairOp::Add => {
                depth -= 1;
                let b = stack[depth];
                let s = &mut stack[depth - 1];
                for l in 0..LANES {
                    s[l] += b[l];
                }
            }
        }
    }
    stack[0]
}

/// numpy's pairwise sum of at most 128 rows, per lane: eight interleaved accumulators,
/// plain loop below 8.
#[inline(always)]
fn pairwise_leaf(a: &[Lanes]) -> Lanes {
    let n = a.len();
    let mut res = [0f32; LANES];
    if n < 8 {
        for row in a {
            for l in 0..LANES {
                res[l] += row[l];
            }
        }
        return res;
    }
    let mut r = [[0f32; LANES]; 8];
    r.copy_from_slice(&a[..8]);
    let body = n - n % 8;
    for block in a[8..body].chunks_exact(8) {
        for (acc, row) in r.iter_mut().zip(block) {
            for l in 0..LANES {
                acc[l] += row[l];
            }
        }
    }
    for l in 0..LANES {
        res[l] = ((r[0][l] + r[1][l]) + (r[2][l] + r[3][l]))
            + ((r[4][l] + r[5][l]) + (r[6][l] + r[7][l]));
    }
    for row in &a[body..] {
        for l in 0..LANES {
            res[l] += row[l];
        }
    }
    res
}

/// numpy's float32 `add.reduce` over a contiguous axis (`pairwise_sum` in
/// `loops_utils.h`): eight interleaved accumulators for blocks of up to 128, split in
/// halves (rounded down to a multiple of 8) above that, plain loop below 8. The
/// reference the lane version is tested against.
#[cfg(test)]
pub(super) fn pairwise_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |acc, &v| acc + v)
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let body = n - n % 8;
        for block in a[8..body].chunks_exact(8) {
            for (acc, &v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[body..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_f32(&a[..n2]) + pairwise_sum_f32(&a[n2..])
    }
}
