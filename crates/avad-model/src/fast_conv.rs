//! An exact reformulation of the visual model's output convolution, as a matmul with a good
//! shape plus a few whole-tensor pads, reshapes and adds, for devices where the host
//! operations (`host_conv` for inference, `host_ops` for training on the CPU) do not apply.
//!
//! It uses the layer's own parameter tensors (rearranged with differentiable
//! tensor ops on every call), so records, checkpoints and optimiser state are unchanged and
//! gradients flow to the layer's parameters through burn's autodiff.
//!
//! * [`conv2d_same_fast`], for a stride-1 'same' convolution with few output channels
//!   (the model's 32 → 1, 7x7 output layer): `Z = W x` as one matmul (`[Cout K², C] @
//!   [C, H W]` per frame), then the sum of the `K²` shifted tap planes with two 'skew'
//!   reshapes ([`conv2d_same_skew`]). The direct layer is a GEMV over a `C K²`-wide im2col
//!   buffer, and its weight gradient a convolution with a frame-sized kernel.
//!
//! Measured slower on flex and not kept: space-to-depth blocking of the output convolution
//! (burn copies its input to channels-last on one thread); for the stride-4 transposed
//! convolution, the sub-pixel form and a matmul followed by a per-axis 'col2im' fold (faster
//! than burn's layer in an earlier measurement, 0.88 s against 0.72 s forward and backward
//! at 240x240 now: the model uses burn's layer).

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::ops::PadMode;
use burn::tensor::Tensor;

/// Most output channels for which [`conv2d_same_fast`] uses the matmul + shift-add form
/// (its intermediate has `Cout K²` channels); beyond, the direct im2col GEMM is well shaped.
const MAX_SKEW_OUTPUTS: usize = 2;

/// Same result as `conv.forward(x)` for a stride-1, dilation-1, groups-1 Conv2d with
/// PaddingConfig2d::Same and odd kernel.
///
/// Uses the matmul + shift-add form ([`conv2d_same_skew`]) when the layer has at most
/// two output channels (any frame size, any kernel size); otherwise, and for any other
/// configuration, it calls `conv.forward(x)`.
pub fn conv2d_same_fast(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [channels_out, _, _, _] = conv.weight.dims();
    if same_conv_applies(conv) && channels_out <= MAX_SKEW_OUTPUTS {
        return conv2d_same_skew(conv, x);
    }
    conv.forward(x)
}

fn same_conv_applies(conv: &Conv2d) -> bool {
    conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.padding == PaddingConfig2d::Same
}

/// The matmul + shift-add form of [`conv2d_same_fast`]: `Z = W x` gives, per pixel, the
/// `Cout K²` products of every kernel tap; the output is `sum_{u,v} Z[u, v, i + u, j + v]`
/// over the zero-padded `Z`, computed with two 'skew' reshapes (flatten, pad the flat end,
/// re-read with one more element per row) that turn the per-tap shifts into one reshape.
/// Exposed for profiling; prefer [`conv2d_same_fast`].
#[doc(hidden)]
pub fn conv2d_same_skew(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    assert!(
        same_conv_applies(conv),
        "conv2d_same_skew: not a stride-1 'same' conv"
    );
    let [n, c, h, w] = x.dims();
    let weight = conv.weight.val();
    let [c_out, c_in, kh, kw] = weight.dims();
    assert_eq!(c_in, c, "conv2d_same_skew: input channels");
    let (pt, pl) = ((kh - 1) / 2, (kw - 1) / 2);
    let (hp, wp) = (h + kh - 1, w + kw - 1);
    // [1, (o, u, v), c] @ [n, c, h w] -> [n, (o, u, v), h w]
    let taps = weight
        .permute([0, 2, 3, 1])
        .reshape([1, c_out * kh * kw, c]);
    let z = taps.matmul(x.reshape([n, c, h * w]));
    let z = z.reshape([n * c_out, kh, kw, h, w]).pad(
        [(pt, kh - 1 - pt), (pl, kw - 1 - pl)],
        PadMode::Constant(0.0),
    );
    let rows = n * c_out;
    let len = hp * wp;
    // Stage over v: a[u, f] = sum_v z[u, v, f + v] (f flat over the padded frame).
    let a = z
        .reshape([rows * kh, kw * len])
        .pad([(0, kw)], PadMode::Constant(0.0))
        .reshape([rows * kh, kw, len + 1])
        .narrow(2, 0, len - (kw - 1))
        .sum_dim(1);
    let len_a = len - (kw - 1);
    // Stage over u: y[g] = sum_u a[u, g + u wp], g = i wp + j.
    let y = a
        .reshape([rows, kh * len_a])
        .pad([(0, kh * wp)], PadMode::Constant(0.0))
        .reshape([rows, kh, len_a + wp])
        .narrow(2, 0, h * wp)
        .sum_dim(1)
        .reshape([n, c_out, h, wp])
        .narrow(3, 0, w);
    match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, c_out, 1, 1]),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::values;
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution};

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    /// `|actual - expected| <= tolerance * max |expected|` elementwise.
    fn assert_rel_close<const D: usize>(
        actual: Tensor<D>,
        expected: Tensor<D>,
        tolerance: f32,
        what: &str,
    ) {
        assert_eq!(actual.dims(), expected.dims(), "{what}: shape");
        let (a, e) = (values(actual), values(expected));
        let scale = e
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        assert!(scale > 1e-6, "{what}: degenerate reference");
        let worst = a
            .iter()
            .zip(&e)
            .map(|(a, e)| (a - e).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= tolerance * scale,
            "{what}: max |diff| {worst} > {tolerance} * {scale}"
        );
    }

    fn conv_layer(c_in: usize, c_out: usize, k: usize, bias: bool, device: &Device) -> Conv2d {
        let mut conv = Conv2dConfig::new([c_in, c_out], [k, k])
            .with_padding(PaddingConfig2d::Same)
            .with_bias(bias)
            .init(device);
        // Non-trivial bias: burn may initialise it to zero-ish values.
        if let Some(b) = conv.bias.as_mut() {
            *b = Param::from_tensor(random([c_out], device));
        }
        conv
    }

    /// Forward outputs of the fast and skew paths against the layer.
    #[test]
    fn conv2d_same_fast_forward_matches_conv() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(11);
        // (input shape, c_out, kernel)
        let cases: [([usize; 4], usize, usize); 7] = [
            ([3, 32, 24, 16], 1, 7),
            ([2, 32, 8, 8], 1, 7),
            ([2, 5, 12, 20], 1, 5),
            ([1, 3, 4, 8], 2, 3),
            ([2, 4, 6, 10], 1, 7), // 2 x 2 blocks only
            ([2, 4, 8, 8], 3, 7),  // 3 outputs: conv2d_same_fast calls the layer
            ([1, 3, 7, 9], 1, 7),  // odd sides: no blocks
        ];
        for (shape, c_out, k) in cases {
            let conv = conv_layer(shape[1], c_out, k, true, &device);
            let x = random(shape, &device);
            let expected = conv.forward(x.clone());
            let what = format!("{shape:?} -> {c_out}, {k}x{k}");
            assert_rel_close(
                conv2d_same_fast(&conv, x.clone()),
                expected.clone(),
                1e-4,
                &what,
            );
            let skew = conv2d_same_skew(&conv, x.clone());
            assert_rel_close(skew, expected.clone(), 1e-4, &format!("{what} skew"));
        }
        // No bias.
        let conv = conv_layer(6, 1, 7, false, &device);
        let x = random([2, 6, 16, 8], &device);
        assert_rel_close(
            conv2d_same_fast(&conv, x.clone()),
            conv.forward(x),
            1e-4,
            "no bias",
        );
    }

    /// Gradients w.r.t. input, weight and bias of `sum(out * g)` for both computations.
    fn assert_same_grads<F, G>(
        x: Tensor<4>,
        weight: Tensor<4>,
        bias: Tensor<1>,
        direct: F,
        fast: G,
        what: &str,
    ) where
        F: Fn(Tensor<4>) -> Tensor<4>,
        G: Fn(Tensor<4>) -> Tensor<4>,
    {
        let x = x.require_grad();
        let expected = direct(x.clone());
        let g = random(expected.dims(), &x.device()).detach();
        let actual = fast(x.clone());
        assert_rel_close(
            actual.clone(),
            expected.clone(),
            1e-4,
            &format!("{what} forward"),
        );
        let grads_direct = (expected * g.clone()).sum().backward();
        let grads_fast = (actual * g).sum().backward();
        assert_rel_close(
            x.grad(&grads_fast).unwrap(),
            x.grad(&grads_direct).unwrap(),
            1e-3,
            &format!("{what} dx"),
        );
        assert_rel_close(
            weight.grad(&grads_fast).unwrap(),
            weight.grad(&grads_direct).unwrap(),
            1e-3,
            &format!("{what} dweight"),
        );
        assert_rel_close(
            bias.grad(&grads_fast).unwrap(),
            bias.grad(&grads_direct).unwrap(),
            1e-3,
            &format!("{what} dbias"),
        );
    }

    #[test]
    fn conv2d_same_fast_gradients_match_conv() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(13);
        let cases: [([usize; 4], usize, usize); 4] = [
            ([3, 32, 24, 16], 1, 7),
            ([2, 32, 8, 8], 1, 7),
            ([2, 4, 6, 10], 1, 7),
            ([1, 3, 4, 8], 2, 3),
        ];
        for (shape, c_out, k) in cases {
            let conv = conv_layer(shape[1], c_out, k, true, &device);
            let x = random(shape, &device);
            assert_same_grads(
                x.clone(),
                conv.weight.val(),
                conv.bias.as_ref().unwrap().val(),
                |x| conv.forward(x),
                |x| conv2d_same_skew(&conv, x),
                &format!("{shape:?} -> {c_out}, {k}x{k} skew"),
            );
            assert_same_grads(
                x.clone(),
                conv.weight.val(),
                conv.bias.as_ref().unwrap().val(),
                |x| conv.forward(x),
                |x| conv2d_same_fast(&conv, x),
                &format!("{shape:?} -> {c_out}, {k}x{k}"),
            );
        }
    }
}
