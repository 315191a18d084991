//! Reading and writing NumPy `.npy` arrays: enough to read librosa's references
//! (`<f4`/`<f8`, C order, format versions 1-3) and to write f32 feature matrices.

use std::path::Path;

use crate::error::{FeatureError, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Writes a `rows x cols` little-endian float32 C-order array, atomically (temporary
/// file in the same directory, then rename).
pub fn write_f32_2d(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(FeatureError::Npy {
            path: path.to_path_buf(),
            reason: format!("shape ({rows}, {cols}) does not hold {} values", data.len()),
        });
    }
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // numpy pads the header with spaces so the data starts on a 64-byte boundary.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| FeatureError::Npy {
        path: path.to_path_buf(),
        reason: "header too long for format 1.0".into(),
    })?;
    let mut bytes = Vec::with_capacity(64 + 4 * data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    avad_atomic::write_atomic(path, &bytes).map_err(|e| FeatureError::io(path, e))
}

/// Reads a `<f4` or `<f8` C-order array: its shape and its values widened to f64.
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| FeatureError::io(path, e))?;
    parse_npy(&bytes).map_err(|reason| FeatureError::Npy {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    if bytes.get(..MAGIC.len()) != Some(MAGIC) {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let major = *bytes.get(6).ok_or("truncated header")?;
    let (header_len, header_start) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or("truncated header")?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated header")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = dict_value(header, "descr").ok_or("header has no 'descr'")?;
    let width = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => 4,
        "<f8" => 8,
        other => return Err(format!("dtype {other} is not supported (only <f4 and <f8)")),
    };
    if dict_value(header, "fortran_order").map(str::trim) != Some("False") {
        return Err("Fortran-order arrays are not supported".into());
    }
    let shape_text = dict_value(header, "shape").ok_or("header has no 'shape'")?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape {shape_text}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let data = bytes.get(data_start..).ok_or("truncated data")?;
    if data.len() != count * width {
        return Err(format!(
            "shape {shape:?} needs {} data bytes, file has {}",
            count * width,
            data.len()
        ));
    }
    let values = if width == 4 {
        data.chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect()
    };
    Ok((shape, values))
}

/// The raw text of `'key': value` in a numpy header dict (a tuple value keeps its
/// parentheses).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("'{key}'");
    let after = &header[header.find(&quoted)? + quoted.len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let end = if after.starts_with('(') {
        after.find(')')? + 1
    } else {
        after.find([',', '}'])?
    };
    Some(&after[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_round_trip_and_aligned_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 1.0).collect();
        write_f32_2d(&p, 2, 3, &data).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!((bytes.len() - 4 * 6) % 64, 0);
        let (shape, values) = read_npy(&p).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(
            values,
            data.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_f8_and_1d_shapes_and_rejects_others() {
        let mut h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }".to_string();
        let pad = (64 - (10 + h.len() + 1) % 64) % 64;
        h.push_str(&" ".repeat(pad));
        h.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for v in [1.5f64, -2.0, 1e300] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(parse_npy(&b).unwrap(), (vec![3], vec![1.5, -2.0, 1e300]));
        let mut i8 = b.clone();
        let at = i8.windows(3).position(|w| w == b"<f8").unwrap();
        i8[at + 1] = b'i';
        assert!(parse_npy(&i8).unwrap_err().contains("<i8"));
        assert!(parse_npy(&b[..b.len() - 1])
            .unwrap_err()
            .contains("data bytes"));
        assert!(parse_npy(b"not numpy").is_err());
    }

    #[test]
    fn shape_mismatch_names_the_file() {
        let err = write_f32_2d(Path::new("/tmp/x.npy"), 2, 2, &[0.0; 3]).unwrap_err();
        assert!(err.to_string().starts_with("/tmp/x.npy: "), "{err}");
    }
}
