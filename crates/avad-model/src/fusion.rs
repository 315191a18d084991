//! The late-fusion net of Tariq et al. 2024, §3.3 and Table 4: per frame, the audio and the
//! video score in, the probability that the frame is anomalous out.
//!
//! ```text
//! [N, 2]    (audio anomaly score, video anomaly score) of each frame
//!   Dense 8, 16, 32, 64, 128, 256, 512, 1024, each LeakyReLU then batch norm
//!   Dense 1, sigmoid
//! [N, 1]    P(anomalous)
//! ```
//!
//! It learns from labels, so it must be trained on clips it is not evaluated on (avad's
//! `eval` fits one per held-out clip). Trained by [`crate::train::train`] on binary
//! cross-entropy.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

use crate::host_ops;
use crate::train::{
    train_in_memory, Objective, Part, Progress, Samples, TrainError, TrainSettings,
};
use crate::ModelError;

/// Hyper-parameters of the fusion net; the defaults are Table 4's.
#[derive(Config, Debug)]
pub struct FusionNetConfig {
    /// Scores per frame (audio and video: 2).
    #[config(default = 2)]
    pub inputs: usize,
    /// Units of the hidden dense layers.
    #[config(default = "vec![8, 16, 32, 64, 128, 256, 512, 1024]")]
    pub hidden: Vec<usize>,
    /// LeakyReLU slope (Keras' default).
    #[config(default = 0.3)]
    pub leaky_relu_slope: f64,
}

/// The fusion net.
#[derive(Module, Debug)]
pub struct FusionNet {
    /// The hidden dense layers.
    pub layers: Vec<Linear>,
    /// Batch norm after each hidden layer's activation.
    pub norms: Vec<BatchNorm>,
    /// The output unit.
    pub output: Linear,
    /// LeakyReLU slope.
    pub leaky_relu_slope: f64,
}

impl FusionNetConfig {
    /// Builds the net on `device`.
    pub fn init(&self, device: &Device) -> FusionNet {
        let mut layers = Vec::new();
        let mut norms = Vec::new();
        let mut width = self.inputs;
        for &h in &self.hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            norms.push(BatchNormConfig::new(h).with_epsilon(1e-3).init(device));
            width = h;
        }
        FusionNet {
            layers,
            norms,
            output: LinearConfig::new(width, 1).init(device),
            leaky_relu_slope: self.leaky_relu_slope,
        }
    }
}

impl FusionNet {
    /// P(anomalous) of each row of `x` `[n, inputs]`, as `[n, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut y = x;
        for (layer, norm) in self.layers.iter().zip(&self.norms) {
            // On the CPU each block is one host operation.
            y = host_ops::dense_block(layer, norm, y, self.leaky_relu_slope);
        }
        sigmoid(self.output.forward(y))
    }

    /// P(anomalous) of each frame of `scores` (rows of `inputs` values), in batches.
    pub fn predict(&self, scores: &[Vec<f64>], device: &Device) -> Result<Vec<f64>, ModelError> {
        let mut out = Vec::with_capacity(scores.len());
        for chunk in scores.chunks(1024) {
            let width = chunk.first().map_or(0, Vec::len);
            let data: Vec<f32> = chunk.iter().flatten().map(|&v| v as f32).collect();
            let x = Tensor::<2>::from_data(TensorData::new(data, [chunk.len(), width]), device);
            out.extend(
                crate::tensor_values(self.forward(x))?
                    .into_iter()
                    .map(f64::from),
            );
        }
        Ok(out)
    }
}

/// A batch: scores `[n, inputs]` and labels `[n, 1]` (1 = anomalous).
pub type FusionBatch = (Tensor<2>, Tensor<2>);

impl Objective for FusionNet {
    type Batch = FusionBatch;

    /// Mean binary cross-entropy.
    fn loss(&self, (x, y): FusionBatch) -> Result<Tensor<1>, ModelError> {
        let p = self.forward(x).clamp(1e-7, 1.0 - 1e-7);
        let ones = p.ones_like();
        let loss = y.clone() * p.clone().log() + (ones.clone() - y) * (ones - p).log();
        Ok(loss.mean().neg())
    }
}

/// Labelled frames: each row of scores with its label.
#[derive(Debug, Default)]
pub struct FusionSamples {
    /// Training rows.
    pub train: Vec<(Vec<f64>, bool)>,
    /// Validation rows (whole clips apart from the training ones).
    pub validation: Vec<(Vec<f64>, bool)>,
}

impl Samples for FusionSamples {
    type Batch = FusionBatch;

    fn len(&self, part: Part) -> usize {
        match part {
            Part::Train => self.train.len(),
            Part::Validation => self.validation.len(),
        }
    }

    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<FusionBatch, ModelError> {
        let rows = match part {
            Part::Train => &self.train,
            Part::Validation => &self.validation,
        };
        let width = rows.first().map_or(0, |r| r.0.len());
        let mut x = Vec::with_capacity(indices.len() * width);
        let mut y = Vec::with_capacity(indices.len());
        for &i in indices {
            let (s, l) = rows
                .get(i)
                .ok_or_else(|| ModelError::Data(format!("sample {i} out of range")))?;
            x.extend(s.iter().map(|&v| v as f32));
            y.push(if *l { 1.0f32 } else { 0.0 });
        }
        Ok((
            Tensor::from_data(TensorData::new(x, [indices.len(), width]), device),
            Tensor::from_data(TensorData::new(y, [indices.len(), 1]), device),
        ))
    }
}

/// Held while a net's first weights are drawn: burn's CPU backend keeps one random
/// generator for the whole process, so nets fitted side by side on threads must seed it and
/// draw from it one at a time to start exactly as they would one after another.
static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains a fusion net on `samples` with `settings` on an autodiff `device` (in memory: it
/// takes seconds); returns it in validation mode. Nets may be fitted on several threads at
/// once: each starts from the weights its seed gives, as when fitted alone.
pub fn fit_fusion(
    samples: &FusionSamples,
    settings: &TrainSettings,
    device: &Device,
    progress: &mut dyn Progress,
) -> Result<FusionNet, TrainError> {
    let net = {
        let _drawing = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(settings.seed);
        let net = FusionNetConfig::new().init(device);
        // burn draws a parameter's weights when it is first read; read them all now, in
        // the order the first forward pass would (each dense layer, then the output).
        net.visit(&mut DrawWeights);
        net
    };
    Ok(train_in_memory(net, samples, settings, device, progress)?.model)
}

/// Reads every float parameter, which makes burn draw its lazily initialised weights.
struct DrawWeights;

impl burn::module::ModuleVisitor for DrawWeights {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Silent;

    /// Frames are anomalous when either score is high: a rule no single score captures,
    /// which the net learns from examples.
    #[test]
    fn learns_an_or_of_two_scores() {
        let _rng = crate::fixtures::rng_lock();
        let mut rng = crate::train::SplitMix64::new(5);
        let mut rows = Vec::new();
        for _ in 0..600 {
            let a = (rng.next_u64() % 1000) as f64 / 1000.0;
            let v = (rng.next_u64() % 1000) as f64 / 1000.0;
            rows.push((vec![a, v], a > 0.7 || v > 0.7));
        }
        let samples = FusionSamples {
            train: rows[..500].to_vec(),
            validation: Vec::new(),
        };
        let settings = TrainSettings {
            epochs: 15,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 0,
            seed: 1,
        };
        let device = Device::flex().autodiff();
        let net = fit_fusion(&samples, &settings, &device, &mut Silent).unwrap();
        let plain = Device::flex();
        let net = crate::train::copy_weights(&net, FusionNetConfig::new().init(&plain))
            .unwrap()
            .valid();
        let test = &rows[500..];
        let p = net
            .predict(
                &test.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
                &plain,
            )
            .unwrap();
        let correct = p
            .iter()
            .zip(test)
            .filter(|(p, r)| (**p >= 0.5) == r.1)
            .count();
        assert!(correct >= 90, "{correct}/100 held-out frames right");
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    /// Nets fitted on several threads at once come out as each would alone: burn's random
    /// generator is one for the process, so seeding and drawing must not interleave.
    #[test]
    fn nets_fitted_side_by_side_are_the_nets_fitted_alone() {
        let _rng = crate::fixtures::rng_lock();
        let mut rng = crate::train::SplitMix64::new(9);
        let rows: Vec<(Vec<f64>, bool)> = (0..200)
            .map(|_| {
                let a = (rng.next_u64() % 1000) as f64 / 1000.0;
                let v = (rng.next_u64() % 1000) as f64 / 1000.0;
                (vec![a, v], a + v > 1.0)
            })
            .collect();
        let samples = FusionSamples {
            train: rows,
            validation: Vec::new(),
        };
        let x: Vec<Vec<f64>> = samples.train.iter().take(50).map(|r| r.0.clone()).collect();
        let fit = |seed: u64| {
            let settings = TrainSettings {
                epochs: 2,
                batch_size: 64,
                learning_rate: 1e-3,
                patience: 0,
                seed,
            };
            let net =
                fit_fusion(&samples, &settings, &Device::flex().autodiff(), &mut Silent).unwrap();
            let plain = Device::flex();
            crate::train::copy_weights(&net, FusionNetConfig::new().init(&plain))
                .unwrap()
                .valid()
                .predict(&x, &plain)
                .unwrap()
        };
        let alone = [fit(3), fit(4)];
        assert_ne!(alone[0], alone[1], "the seed matters");
        let side_by_side: Vec<(u64, Vec<f64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = [3, 4, 3, 4, 3, 4]
                .into_iter()
                .map(|seed| scope.spawn(move || (seed, fit(seed))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (seed, p) in side_by_side {
            assert_eq!(p, alone[(seed - 3) as usize], "seed {seed}");
        }
    }
}
