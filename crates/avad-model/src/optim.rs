//! Adam as the trainer runs it: burn's `Adam`, with its update on the CPU as one host pass
//! per parameter ([`crate::host_ops::HostOps::adam_update`]).
//!
//! burn's `Adam` updates a parameter in about ten whole-tensor operations, each reading and
//! writing the tensor again; the host pass reads the parameter, its gradient and the two
//! moments once and writes the three results once. It computes burn's f32 operations in
//! burn's order, so a training run gives the same weights to the bit either way (tested),
//! and it keeps burn's state type, so optimizer checkpoints load into either.

use burn::backend::Dispatch;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{Device, Tensor};

use crate::host_ops::{on_host, AdamFactors, HostOps};

/// Adam with β1, β2 and ε; [`Optimizer::step`] runs the host pass on the CPU device and
/// burn's `Adam` elsewhere.
#[derive(Clone)]
pub struct HostAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    burn: Adam,
}

impl HostAdam {
    /// Adam with these constants (burn's `AdamConfig` for the other devices).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let burn = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        HostAdam {
            beta_1,
            beta_2,
            epsilon,
            burn,
        }
    }

    /// As a module optimizer, for [`ModuleOptimizer::step`].
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }

    /// The step's scalars, computed as burn's `AdaptiveMomentum::transform` computes them.
    fn factors(&self, time: usize, lr: LearningRate) -> AdamFactors {
        let t = time as i32;
        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
        AdamFactors {
            first: time == 1,
            beta_1: (self.beta_1, 1.0 - self.beta_1),
            beta_2: (self.beta_2, 1.0 - self.beta_2),
            combined: bias_correction2_sqrt / (1.0 - self.beta_1.powi(t)),
            epsilon: self.epsilon * bias_correction2_sqrt,
            // burn multiplies by the learning rate as an f32 scalar.
            learning_rate: lr as f32,
        }
    }
}

impl Optimizer for HostAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        let host = !device.is_autodiff()
            && on_host(&device, tensor.dtype())
            && grad.device() == device
            && grad.dtype() == tensor.dtype()
            && state
                .as_ref()
                .is_none_or(|s| s.momentum.max_moment_2.is_none());
        if !host {
            return self.burn.step(lr, tensor, grad, state);
        }
        // The first step reads no moments: the gradient stands in for them.
        let (time, moment_1, moment_2) = match state {
            Some(s) => (
                s.momentum.time + 1,
                s.momentum.moment_1,
                s.momentum.moment_2,
            ),
            None => (1, grad.clone(), grad.clone()),
        };
        let (param, moment_1, moment_2) = <Dispatch as HostOps>::adam_update(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            moment_1.into_dispatch(),
            moment_2.into_dispatch(),
            self.factors(time, lr),
        );
        let momentum = AdaptiveMomentumState::new(
            time,
            Tensor::from_dispatch(moment_1),
            Tensor::from_dispatch(moment_2),
        );
        (Tensor::from_dispatch(param), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::FusionNetConfig;
    use burn::optim::GradientsParams;
    use burn::tensor::Distribution;

    /// The parameters' bits after some steps of `optim` on the fusion net, from one seed.
    fn train(mut optim: ModuleOptimizer, steps: usize) -> Vec<u32> {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(21);
        let mut net = FusionNetConfig::new()
            .with_hidden(vec![8, 64, 300])
            .init(&device);
        for _ in 0..steps {
            let x = Tensor::<2>::random([32, 2], Distribution::Uniform(0.0, 1.0), &device);
            let loss = net.forward(x).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(1e-2, net, grads);
        }
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
        let mut all = bits(crate::tensor_values(net.layers[2].weight.val()).unwrap());
        all.extend(bits(
            crate::tensor_values(net.layers[0].bias.clone().unwrap().val()).unwrap(),
        ));
        all.extend(bits(
            crate::tensor_values(net.norms[1].gamma.val()).unwrap(),
        ));
        all.extend(bits(crate::tensor_values(net.output.weight.val()).unwrap()));
        all
    }

    /// The host pass gives burn's `Adam` to the bit, over several steps (the first, which
    /// starts the moments, and the later ones), on a parameter large enough to be split over
    /// the threads; a parameter that moved is checked too.
    #[test]
    fn equals_burns_adam_to_the_bit() {
        let burn = AdamConfig::new().with_epsilon(1e-7).init();
        let ours = HostAdam::new(0.9, 0.999, 1e-7).init();
        let start = train(burn.clone(), 0);
        let (a, b) = (train(ours, 4), train(burn, 4));
        assert_eq!(a.len(), b.len());
        assert_ne!(a, start, "the parameters moved");
        for (k, (p, q)) in a.iter().zip(&b).enumerate() {
            assert_eq!(
                p,
                q,
                "value {k}: {} vs {}",
                f32::from_bits(*p),
                f32::from_bits(*q)
            );
        }
    }
}
