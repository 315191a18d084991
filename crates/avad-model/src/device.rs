//! Where the models run. burn 0.22 chooses the backend through its `Device`, so a GPU is a
//! cargo feature (`cuda` or `wgpu`) and a command-line choice, not other code.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::ModelError;

/// mimalloc hands memory back to the kernel 10 ms after it is freed (its purge delay).
/// burn's CPU backend frees and allocates every layer's buffers at every step, so each
/// step pays a page fault for every page again: a third of a 240x240 training step here.
/// Call at the start of a program whose global allocator is mimalloc (the `avad` binary,
/// the benchmarks and profilers) to keep freed memory for reuse instead (peak memory
/// grows by a tenth); without mimalloc as the allocator it changes nothing.
pub fn keep_freed_memory() {
    /// `mi_option_purge_delay` in `mimalloc.h` (15 in mimalloc 2 and 3, the crate's C
    /// sources; `libmimalloc-sys` names no constant for it).
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is allowed at any time; -1 means "never purge".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

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
            other => Err(ModelError::Data(format!(
                "unknown device {other}: expected cpu, cuda or wgpu"
            ))),
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
         `cargo build --release -p avad-cli --features {feature}`"
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
