//! The ConvLSTM step's host loops, and the fast exponential they use.

use crate::host_conv;

simd_kernel! {
/// One plane of a ConvLSTM step: the new hidden and cell states from the four gates'
/// pre-activations and the previous cell state.
pub(super) fn lstm_plane(hidden: &mut [f32], cell: &mut [f32], gates: [&[f32]; 4], prev: &[f32]) {
    let [gi, gf, gg, go] = gates;
    for p in 0..hidden.len().min(cell.len()) {
        let c = logistic(gf[p]) * prev[p] + logistic(gi[p]) * fast_tanh(gg[p]);
        cell[p] = c;
        hidden[p] = logistic(go[p]) * fast_tanh(c);
    }
}
}

simd_kernel! {
/// One plane of a ConvLSTM step's backward: the gradients of the four gates' pre-activations
/// and of the previous cell state, from those of the hidden and cell outputs.
pub(super) fn lstm_plane_backward(out: [&mut [f32]; 5], gates: [&[f32]; 4], prev: &[f32], dh: &[f32], dc: &[f32]) {
    let [oi, of, og, oo, oc] = out;
    let [gi, gf, gg, go] = gates;
    for p in 0..prev.len() {
        let (i, f, g, o) = (logistic(gi[p]), logistic(gf[p]), fast_tanh(gg[p]), logistic(go[p]));
        let c = f * prev[p] + i * g;
        let tc = fast_tanh(c);
        let dct = dc[p] + dh[p] * o * (1.0 - tc * tc);
        oi[p] = dct * g * i * (1.0 - i);
        of[p] = dct * prev[p] * f * (1.0 - f);
        og[p] = dct * i * (1.0 - g * g);
        oo[p] = dh[p] * tc * o * (1.0 - o);
        oc[p] = dct * f;
    }
}
}

simd_kernel! {
/// In place, the logistic function of each value.
pub(super) fn logistic_in_place(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v = logistic(*v);
    }
}
}

simd_kernel! {
/// In place, the logistic function's gradient: `grad · y (1 − y)` from its output `y`.
pub(super) fn logistic_grad(grad: &mut [f32], y: &[f32]) {
    for (g, &y) in grad.iter_mut().zip(y) {
        *g *= y * (1.0 - y);
    }
}
}

/// `(batch, hidden channels, plane)` of a ConvLSTM step's gates and cell shapes.
pub(super) fn lstm_shape(gates: &[usize], cell: &[usize]) -> (usize, usize, usize) {
    assert!(
        gates.len() >= 2
            && gates.len() == cell.len()
            && gates[0] == cell[0]
            && gates[1] == 4 * cell[1]
            && gates[2..] == cell[2..],
        "host_ops: ConvLSTM gates {gates:?} and cell {cell:?}"
    );
    (cell[0], cell[1], cell[2..].iter().product())
}

/// `e^x` to about 2 ulp (Cephes' `expf`: `x = n ln 2 + r`, a degree-6 polynomial in `r`),
/// branch-free so that loops of it vectorise; saturates beyond ±88.
#[inline(always)]
pub(super) fn fast_exp(x: f32) -> f32 {
    let (e, shifted) = exp_reduced(x);
    // The sum's low mantissa bits hold n itself, which gives 2^n without a float-to-int
    // cast (Rust's saturating `as i32` does not vectorise).
    let power = shifted
        .to_bits()
        .wrapping_sub(EXP_SHIFT.to_bits())
        .wrapping_add(127)
        << 23;
    e * f32::from_bits(power)
}

/// `1.5 · 2^23`: added to `x / ln 2`, it rounds to an integer `n` held in the sum's low
/// mantissa bits (no rounding instruction needed).
pub(super) const EXP_SHIFT: f32 = 12_582_912.0;

/// [`fast_exp`]'s reduction of `x` (clamped to ±88) to `n ln 2 + r`: `e^r` by the
/// polynomial, and the rounding sum `x / ln 2 + EXP_SHIFT`, whose value less `EXP_SHIFT`
/// is `n`.
#[inline(always)]
// The polynomial's coefficients as Cephes gives them (the last rounds to 0.5 in f32).
#[allow(clippy::excessive_precision)]
pub(super) fn exp_reduced(x: f32) -> (f32, f32) {
    let x = x.clamp(-87.3, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + EXP_SHIFT;
    let n = shifted - EXP_SHIFT;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    (p * r * r + r + 1.0, shifted)
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// `tanh x = 2 σ(2x) − 1`.
#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    2.0 * logistic(2.0 * x) - 1.0
}
