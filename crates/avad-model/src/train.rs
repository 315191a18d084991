//! One trainer for every model of avad (the visual and audio autoencoders on their mean
//! squared reconstruction error, the fusion net on its cross-entropy): Adam, mini-batches
//! in a seeded order,
//! a validation loss after every epoch, early stopping on it, and a checkpoint after every
//! epoch from which [`train`] resumes exactly where a killed run stopped.
//!
//! The trainer knows nothing of frames or sounds: a model says how it computes its loss on
//! a batch ([`Objective`]) and a sample source says how to build a batch from sample
//! indices ([`Samples`]).
//!
//! Checkpoint folder (written after each epoch; `checkpoint.json` is written last and
//! names the files of its epoch, so a run killed at any moment leaves a consistent one):
//!
//! ```text
//! checkpoint.json          settings, history, best epoch, files below
//! epoch-NNNN.model.bpk     weights after epoch NNNN (burnpack)
//! epoch-NNNN.optim.bpk     Adam's moments after epoch NNNN
//! best.model.bpk           weights of the epoch with the lowest validation loss so far
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use avad_atomic::write_atomic;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};

use crate::optim::HostAdam;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Optimisation settings, as a preset file gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Most epochs to run (Table 6 for the paper preset).
    pub epochs: usize,
    /// Sequences per mini-batch (the paper trains with 10).
    pub batch_size: usize,
    /// Adam's learning rate (Keras' default, 1e-3, where the paper gives none).
    pub learning_rate: f64,
    /// Stop after this many epochs without a lower validation loss (0: never stop early).
    pub patience: usize,
    /// Seed of the weight initialisation and of the batch order.
    pub seed: u64,
}

/// Which samples a batch is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Samples the weights are fitted on.
    Train,
    /// Held-out samples (whole clips) for the validation loss, early stopping and calibration.
    Validation,
}

/// A model with the loss it is trained to lower.
pub trait Objective: Module + Sized {
    /// A batch of inputs (and targets, where they are not the inputs), e.g. `Tensor<5>` of
    /// frame sequences.
    type Batch;
    /// The mean loss over `batch` (the autoencoders: squared reconstruction error), a
    /// one-element tensor.
    fn loss(&self, batch: Self::Batch) -> Result<Tensor<1>, ModelError>;
}

/// Where batches come from.
pub trait Samples {
    /// What [`batch`](Samples::batch) builds.
    type Batch;
    /// Number of samples in `part`.
    fn len(&self, part: Part) -> usize;
    /// The samples `indices` of `part` as one batch on `device`.
    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<Self::Batch, ModelError>;
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub train_loss: f64,
    /// Mean validation loss after the epoch, when there are validation samples.
    pub validation_loss: Option<f64>,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
}

/// Reports training as it goes (the CLI draws a progress bar from it).
pub trait Progress {
    /// An epoch of `batches` training batches starts.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Training batch `batch` (1-based) of the current epoch is done with this loss.
    fn batch_done(&mut self, _batch: usize, _loss: f64) {}
    /// The epoch is done; `best` when its validation loss is the lowest so far.
    fn epoch_done(&mut self, _record: &EpochRecord, _best: bool) {}
    /// A checkpoint was resumed at the end of `epoch`.
    fn resumed(&mut self, _epoch: usize) {}
}

/// A [`Progress`] that reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// The result of [`train`].
#[derive(Debug)]
pub struct Trained<M> {
    /// The weights of the epoch with the lowest validation loss (training loss without
    /// validation samples), in validation mode.
    pub model: M,
    /// One record per epoch run, including those of a resumed run's earlier part.
    pub history: Vec<EpochRecord>,
    /// The epoch `model` comes from (1-based).
    pub best_epoch: usize,
    /// True when early stopping ended the run before `settings.epochs`.
    pub stopped_early: bool,
}

/// The checkpoint's index, `checkpoint.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointIndex {
    settings: TrainSettings,
    train_samples: usize,
    validation_samples: usize,
    history: Vec<EpochRecord>,
    best_epoch: usize,
    best_loss: f64,
    model_file: String,
    optimizer_file: String,
}

/// Errors of training and of checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model refused a batch.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A checkpoint file could not be read or written.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A checkpoint of an earlier run is where this run would write its own, and the run
    /// was not asked to resume it.
    #[error("{}: a checkpoint exists here: resume it, or train into another folder", path.display())]
    CheckpointExists {
        /// The checkpoint's index file.
        path: PathBuf,
    },
    /// Settings or data that cannot train.
    #[error("{0}")]
    Invalid(String),
    /// The loss became NaN or infinite (batch 0: the validation loss).
    #[error("loss became {loss} at epoch {epoch}, batch {batch} (0: validation): lower the learning rate")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The batch (1-based).
        batch: usize,
        /// The value.
        loss: f64,
    },
}

fn checkpoint_error(path: &Path, reason: impl ToString) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The weights of `model` as burnpack bytes.
pub fn model_bytes<M: Module>(model: &M) -> Result<Vec<u8>, String> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| e.to_string())?;
    Ok(bytes.to_vec())
}

/// Loads weights saved by [`model_bytes`] (or [`save_model`]) into `model`, which must
/// have the same structure.
pub fn load_model<M: Module>(model: M, path: &Path) -> Result<M, TrainError> {
    let bytes = std::fs::read(path).map_err(|e| checkpoint_error(path, e))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| checkpoint_error(path, format!("not a burnpack model file ({e})")))?;
    model
        .try_load_record(record)
        .map_err(|e| checkpoint_error(path, format!("weights do not fit this model ({e})")))
}

/// `into` (the same structure, e.g. built on another device) with the weights of `from`.
pub fn copy_weights<M: Module>(from: &M, into: M) -> Result<M, TrainError> {
    into.try_load_record(from.clone().into_record())
        .map_err(|e| TrainError::Invalid(format!("weights do not fit this model ({e})")))
}

/// A model that `init` builds with `seed`'s random weights, the same on every device.
///
/// burn draws a parameter's random values when the parameter is first used, from the
/// generator of the device it is on, and each backend has a generator of its own. On the
/// CPU, a model trained after `device.seed(seed)` gets its values in the order its first
/// forward pass uses them. For another device, this does the same on the CPU (`warm_up`
/// runs a forward pass, on zeros) and loads the values drawn into the model `init` builds
/// on `device`; on the CPU itself it only seeds and initialises, as training always has.
pub fn seeded_init<M: Module>(
    device: &Device,
    seed: u64,
    init: impl Fn(&Device) -> Result<M, ModelError>,
    warm_up: impl Fn(&M, &Device) -> Result<(), ModelError>,
) -> Result<M, TrainError> {
    let cpu = if device.is_autodiff() {
        Device::flex().autodiff()
    } else {
        Device::flex()
    };
    cpu.seed(seed);
    let model = init(&cpu)?;
    if *device == cpu {
        return Ok(model);
    }
    warm_up(&model, &cpu)?;
    let bytes = model_bytes(&model).map_err(TrainError::Invalid)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| TrainError::Invalid(format!("the initial weights ({e})")))?;
    init(device)?
        .try_load_record(record)
        .map_err(|e| TrainError::Invalid(format!("the initial weights ({e})")))
}

/// Saves the weights of `model` to `path` atomically.
pub fn save_model<M: Module>(model: &M, path: &Path) -> Result<(), TrainError> {
    let bytes = model_bytes(model).map_err(|e| checkpoint_error(path, e))?;
    write_atomic(path, &bytes).map_err(|e| checkpoint_error(path, e))
}

/// A splitmix64 generator: tiny, seedable and the same on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fisher-Yates shuffle of `items`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The order of training samples in `epoch`: a function of the seed and the epoch only,
/// so a resumed run sees the batches the uninterrupted one would have.
pub fn epoch_order(samples: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..samples).collect();
    let mut rng = SplitMix64::new(seed ^ (epoch as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    rng.shuffle(&mut order);
    order
}

/// Adam as the paper's Keras model used it: β1 0.9, β2 0.999, ε 1e-7 ([`HostAdam`]: burn's
/// `Adam`, one host pass per parameter on the CPU).
pub fn adam() -> ModuleOptimizer {
    HostAdam::new(0.9, 0.999, 1e-7).init()
}

/// Mean loss of `model` over all samples of `part`, in batches of `batch_size`, without
/// gradients. `model` should be in validation mode (see [`Module::valid`]).
pub fn mean_loss<M, S>(
    model: &M,
    samples: &S,
    part: Part,
    batch_size: usize,
    device: &Device,
) -> Result<Option<f64>, ModelError>
where
    M: Objective,
    S: Samples<Batch = M::Batch>,
{
    let n = samples.len(part);
    if n == 0 {
        return Ok(None);
    }
    let indices: Vec<usize> = (0..n).collect();
    let mut total = 0.0;
    for chunk in indices.chunks(batch_size.max(1)) {
        let loss = model.loss(samples.batch(part, chunk, device)?)?;
        total += f64::from(loss.into_scalar::<f32>()) * chunk.len() as f64;
    }
    Ok(Some(total / n as f64))
}

/// Trains `model` (built on an autodiff `device`) on `samples`, checkpointing into
/// `checkpoint_dir` after every epoch. With `resume`, an existing checkpoint there is
/// continued (its settings must equal `settings` apart from `epochs` and `patience`,
/// which may be raised to train longer); without it, an existing checkpoint is an error,
/// so that a finished run is never overwritten by accident.
pub fn train<M, S>(
    model: M,
    samples: &S,
    settings: &TrainSettings,
    device: &Device,
    checkpoint_dir: &Path,
    resume: bool,
    progress: &mut dyn Progress,
) -> Result<Trained<M>, TrainError>
where
    M: Objective,
    S: Samples<Batch = M::Batch>,
{
    train_with(
        model,
        samples,
        settings,
        device,
        Some((checkpoint_dir, resume)),
        progress,
    )
}

/// [`train`] without checkpoints: the best epoch's weights are kept in memory. For models
/// that train in seconds (the fusion nets), where writing every epoch would cost more
/// than redoing the run.
pub fn train_in_memory<M, S>(
    model: M,
    samples: &S,
    settings: &TrainSettings,
    device: &Device,
    progress: &mut dyn Progress,
) -> Result<Trained<M>, TrainError>
where
    M: Objective,
    S: Samples<Batch = M::Batch>,
{
    train_with(model, samples, settings, device, None, progress)
}

fn train_with<M, S>(
    model: M,
    samples: &S,
    settings: &TrainSettings,
    device: &Device,
    checkpoint: Option<(&Path, bool)>,
    progress: &mut dyn Progress,
) -> Result<Trained<M>, TrainError>
where
    M: Objective,
    S: Samples<Batch = M::Batch>,
{
    if settings.epochs == 0 || settings.batch_size == 0 {
        return Err(TrainError::Invalid(
            "epochs and batch size must be at least 1".into(),
        ));
    }
    if !(settings.learning_rate.is_finite() && settings.learning_rate > 0.0) {
        return Err(TrainError::Invalid(format!(
            "learning rate must be a positive number, not {}",
            settings.learning_rate
        )));
    }
    let n_train = samples.len(Part::Train);
    let n_valid = samples.len(Part::Validation);
    if n_train == 0 {
        return Err(TrainError::Invalid("no training samples".into()));
    }
    let (checkpoint_dir, resume) = checkpoint.unwrap_or((Path::new(""), false));
    let keep_files = checkpoint.is_some();
    if keep_files {
        std::fs::create_dir_all(checkpoint_dir).map_err(|e| checkpoint_error(checkpoint_dir, e))?;
    }
    let index_path = checkpoint_dir.join("checkpoint.json");
    let best_path = checkpoint_dir.join("best.model.bpk");

    let mut model = model;
    let mut best_in_memory: Option<M> = None;
    let mut optim = adam();
    let mut history = Vec::new();
    let mut best_epoch = 0;
    let mut best_loss = f64::INFINITY;
    if keep_files && index_path.exists() {
        if !resume {
            return Err(TrainError::CheckpointExists { path: index_path });
        }
        let text =
            std::fs::read_to_string(&index_path).map_err(|e| checkpoint_error(&index_path, e))?;
        let index: CheckpointIndex = serde_json::from_str(&text)
            .map_err(|e| checkpoint_error(&index_path, format!("not a checkpoint index ({e})")))?;
        let comparable = |s: &TrainSettings| TrainSettings {
            epochs: 0,
            patience: 0,
            ..s.clone()
        };
        if comparable(&index.settings) != comparable(settings)
            || index.train_samples != n_train
            || index.validation_samples != n_valid
        {
            return Err(checkpoint_error(
                &index_path,
                "was made with other settings or data (batch size, learning rate, seed or samples differ)",
            ));
        }
        model = load_model(model, &checkpoint_dir.join(&index.model_file))?;
        let optim_path = checkpoint_dir.join(&index.optimizer_file);
        let bytes = std::fs::read(&optim_path).map_err(|e| checkpoint_error(&optim_path, e))?;
        let record = burn::optim::OptimizerRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| checkpoint_error(&optim_path, format!("not an optimizer record ({e})")))?;
        optim = optim.load_record(record);
        history = index.history;
        best_epoch = index.best_epoch;
        best_loss = index.best_loss;
        progress.resumed(history.len());
    } else if resume {
        return Err(checkpoint_error(&index_path, "no checkpoint to resume"));
    }

    let batches = n_train.div_ceil(settings.batch_size);
    let start_epoch = history.len() + 1;
    for epoch in start_epoch..=settings.epochs {
        if settings.patience > 0
            && n_valid > 0
            && epoch > best_epoch + settings.patience
            && best_epoch > 0
        {
            break;
        }
        let started = Instant::now();
        progress.epoch_started(epoch, settings.epochs, batches);
        let order = epoch_order(n_train, settings.seed, epoch);
        let mut total = 0.0;
        for (b, chunk) in order.chunks(settings.batch_size).enumerate() {
            let loss = model.loss(samples.batch(Part::Train, chunk, device)?)?;
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: b + 1,
                    loss: value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(settings.learning_rate, model, grads);
            total += value * chunk.len() as f64;
            progress.batch_done(b + 1, value);
        }
        let train_loss = total / n_train as f64;
        let validation_loss = mean_loss(
            &model.valid(),
            samples,
            Part::Validation,
            settings.batch_size,
            device,
        )?;
        if let Some(v) = validation_loss.filter(|v| !v.is_finite()) {
            return Err(TrainError::Diverged {
                epoch,
                batch: 0,
                loss: v,
            });
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
        };
        let watched = validation_loss.unwrap_or(train_loss);
        let best = watched < best_loss;
        if best {
            best_loss = watched;
            best_epoch = epoch;
            if keep_files {
                save_model(&model, &best_path)?;
            } else {
                best_in_memory = Some(model.clone());
            }
        }
        history.push(record.clone());
        if keep_files {
            write_checkpoint(
                checkpoint_dir,
                &model,
                &optim,
                settings,
                n_train,
                n_valid,
                &history,
                best_epoch,
                best_loss,
            )?;
        }
        progress.epoch_done(&record, best);
    }
    // The loop runs to `settings.epochs` unless early stopping breaks it.
    let stopped_early = history.len() < settings.epochs;
    let model = match best_in_memory {
        Some(best) => best.valid(),
        None => load_model(model, &best_path)?.valid(),
    };
    Ok(Trained {
        model,
        history,
        best_epoch,
        stopped_early,
    })
}

#[allow(clippy::too_many_arguments)]
fn write_checkpoint<M: Module>(
    dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    settings: &TrainSettings,
    train_samples: usize,
    validation_samples: usize,
    history: &[EpochRecord],
    best_epoch: usize,
    best_loss: f64,
) -> Result<(), TrainError> {
    let epoch = history.len();
    let model_file = format!("epoch-{epoch:04}.model.bpk");
    let optimizer_file = format!("epoch-{epoch:04}.optim.bpk");
    save_model(model, &dir.join(&model_file))?;
    let optim_path = dir.join(&optimizer_file);
    let bytes = optim
        .to_record()
        .into_bytes()
        .map_err(|e| checkpoint_error(&optim_path, e))?;
    write_atomic(&optim_path, &bytes).map_err(|e| checkpoint_error(&optim_path, e))?;
    let index = CheckpointIndex {
        settings: settings.clone(),
        train_samples,
        validation_samples,
        history: history.to_vec(),
        best_epoch,
        best_loss,
        model_file,
        optimizer_file,
    };
    let index_path = dir.join("checkpoint.json");
    let text =
        serde_json::to_string_pretty(&index).map_err(|e| checkpoint_error(&index_path, e))?;
    write_atomic(&index_path, text.as_bytes()).map_err(|e| checkpoint_error(&index_path, e))?;
    // The index now names this epoch's files: the previous epoch's can go.
    if epoch > 1 {
        for name in [
            format!("epoch-{:04}.model.bpk", epoch - 1),
            format!("epoch-{:04}.optim.bpk", epoch - 1),
        ] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    Ok(())
}
