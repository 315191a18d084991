//! Where the models run. burn 0.22 chooses the backend through its `Device`, so a GPU is a
//! cargo feature (`cuda` or `wgpu`) and a command-line choice, not other code.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::ModelError;

/// A compute device the models can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accelerator {
    /// burn's `flex` CPU backend (always built).
    #[default]
    Cpu,
    /// An NVIDIA GPU through burn's CUDA backend (the `cuda` feature).
    Cuda,
    /// A GPU through burn's wgpu backend: Vulkan, Metal or DX12 (the `wgpu` feature).
    Wgpu,
}

impl FromStr for Accelerator {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s {
            "cpu" => Ok(Accelerator::Cpu),
            "cuda" => Ok(Accelerator::Cuda),
            "wgpu" => Ok(Accelerator::Wgpu),
            other => Err(ModelError::Data(format!("unknown device {other}: expected cpu, cuda or wgpu"))),
        }
    }
}

impl fmt::Display for Accelerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accelerator::Cpu => "cpu",
            Accelerator::Cuda => "cuda",
            Accelerator::Wgpu => "wgpu",
        })
    }
}

fn not_built(feature: &str) -> ModelError {
    ModelError::Data(format!(
        "this avad was built without the `{feature}` feature: rebuild with \
         `cargo build --release -p avad --features {feature}`"
    ))
}

impl Accelerator {
    /// The device to score on (no gradients).
    pub fn inference_device(self) -> Result<Device, ModelError> {
        match self {
            Accelerator::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Accelerator::Cuda => Ok(Device::cuda(0)),
            #[cfg(not(feature = "cuda"))]
            Accelerator::Cuda => Err(not_built("cuda")),
            #[cfg(feature = "wgpu")]
            Accelerator::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            Accelerator::Wgpu => Err(not_built("wgpu")),
        }
    }

    /// The device to train on: the same, with automatic differentiation.
    pub fn training_device(self) -> Result<Device, ModelError> {
        Ok(self.inference_device()?.autodiff())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_explains_missing_features() {
        for a in [Accelerator::Cpu, Accelerator::Cuda, Accelerator::Wgpu] {
            assert_eq!(a.to_string().parse::<Accelerator>().unwrap(), a);
        }
        assert!("tpu".parse::<Accelerator>().is_err());
        assert!(Accelerator::Cpu.inference_device().is_ok());
        #[cfg(not(feature = "cuda"))]
        {
            let err = Accelerator::Cuda.training_device().unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
    }
}
