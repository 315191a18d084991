//! Test helpers: the numpy fixtures of `fixtures/convlstm_reference.py`.

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

/// The device's random generator is one for the whole process, and parameters draw from it
/// lazily, at first use. The unit tests that seed it or draw from it (initialising layers,
/// random tensors) hold this lock from start to end, so that each sees the numbers its
/// seed gives whatever else runs beside it.
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Parses `fixtures/<name>` of this crate.
pub fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The numbers of `value[key]` as `f32`.
pub fn floats(value: &Value, key: &str) -> Vec<f32> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key} is not an array"))
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("{key}: not a number")) as f32)
        .collect()
}

/// The shape `value[key]` as a `D`-array.
pub fn shape<const D: usize>(value: &Value, key: &str) -> [usize; D] {
    let dims: Vec<usize> = value[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key} is not an array"))
        .iter()
        .map(|v| v.as_u64().unwrap_or_else(|| panic!("{key}: not a size")) as usize)
        .collect();
    dims.try_into()
        .unwrap_or_else(|d: Vec<usize>| panic!("{key}: rank {} instead of {D}", d.len()))
}

/// `value[key]` as a tensor of shape `value[shape_key]`.
pub fn tensor<const D: usize>(
    value: &Value,
    key: &str,
    shape_key: &str,
    device: &Device,
) -> Tensor<D> {
    let data = TensorData::new(floats(value, key), shape::<D>(value, shape_key));
    Tensor::from_data(data, device)
}

/// The values of `tensor` as `f32`.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    crate::tensor_values(tensor).expect("f32 tensor")
}

/// Asserts `actual` and `expected` agree elementwise to `tolerance`, naming the first miss.
pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{k}]: {a} vs reference {e}"
        );
    }
}
