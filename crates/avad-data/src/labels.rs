//! Frame-level labels: the UCSD `.m` ground truth, per-frame CSVs, range CSVs,
//! and pixel masks.

use std::path::{Path, PathBuf};

use avad_media::frames::{list_frames, read_gray8, GrayResizer};
use avad_media::FrameSize;

use crate::error::{read_text, DataError, Result};

/// An inclusive, 1-based range of anomalous frames, as `UCSDped2.m` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameRange {
    pub start: usize,
    pub end: usize,
}

/// Parses the official UCSD ground truth: one `TestVideoFile{end+1}.gt_frame = [a:b];`
/// per test clip, in clip order (a clip may list several ranges, `[a:b, c:d]`,
/// or none, `[]`).
pub fn parse_ucsd_m(path: &Path) -> Result<Vec<Vec<FrameRange>>> {
    let text = read_text(path)?;
    let mut clips = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.contains("gt_frame") {
            continue;
        }
        let bad = |why: &str| DataError::invalid(path, format!("line {}: {why}: {line:?}", n + 1));
        let open = line
            .find('[')
            .ok_or_else(|| bad("no '[' in gt_frame line"))?;
        let close = line
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| bad("no closing ']'"))?;
        let mut ranges = Vec::new();
        for part in line[open + 1..close]
            .split([',', ' '])
            .filter(|p| !p.trim().is_empty())
        {
            let (a, b) = part.split_once(':').unwrap_or((part, part));
            let parse = |v: &str| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| bad("frame numbers must be positive integers"))
            };
            let (start, end) = (parse(a)?, parse(b)?);
            if start == 0 || end < start {
                return Err(bad("a range must be 1-based with start <= end"));
            }
            ranges.push(FrameRange { start, end });
        }
        clips.push(ranges);
    }
    if clips.is_empty() {
        return Err(DataError::invalid(
            path,
            "no `gt_frame = [a:b]` lines: not a UCSD ground-truth file",
        ));
    }
    Ok(clips)
}

/// Per-frame labels (true = anomalous) for a clip of `frames` frames.
pub fn labels_from_ranges(ranges: &[FrameRange], frames: usize, path: &Path) -> Result<Vec<bool>> {
    let mut labels = vec![false; frames];
    for r in ranges {
        if r.end > frames {
            return Err(DataError::invalid(
                path,
                format!(
                    "anomalous range {}:{} runs past the clip's {frames} frames",
                    r.start, r.end
                ),
            ));
        }
        labels[r.start - 1..r.end]
            .iter_mut()
            .for_each(|l| *l = true);
    }
    Ok(labels)
}

/// Reads a label CSV in either form (documented in the README):
/// - per frame: header `frame,label`, one row per frame, 1-based frame numbers,
///   label 0/1 (or `normal`/`anomalous`); every frame 1..=N present once;
/// - ranges: header `start,end`, 1-based inclusive anomalous ranges; the clip
///   length `frames` must then be known.
///
/// A third column is refused (an empty one, from a trailing comma, is not).
pub fn read_labels_csv(path: &Path, frames: Option<usize>) -> Result<Vec<bool>> {
    let text = read_text(path)?;
    let mut rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = rows
        .next()
        .ok_or_else(|| DataError::invalid(path, "empty label file"))?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let is_ranges = match (cols.first().map(String::as_str), cols.get(1).map(String::as_str)) {
        (Some("frame"), Some("label")) => false,
        (Some("start"), Some("end")) => true,
        _ => {
            return Err(DataError::invalid(
                path,
                format!("header {header:?}: expected `frame,label` (per frame) or `start,end` (anomalous ranges)"),
            ))
        }
    };
    let mut pairs = Vec::new();
    for (n, line) in rows {
        let mut fields = line.split(',').map(str::trim);
        let bad = |why: &str| DataError::invalid(path, format!("line {}: {why}: {line:?}", n + 1));
        let a = fields.next().unwrap_or("");
        let b = fields.next().ok_or_else(|| bad("expected two columns"))?;
        if fields.any(|f| !f.is_empty()) {
            return Err(bad("expected two columns, found more"));
        }
        let a: usize = a
            .parse()
            .map_err(|_| bad("first column must be a 1-based frame number"))?;
        let b: usize = if is_ranges {
            b.parse().map_err(|_| bad("`end` must be a frame number"))?
        } else {
            match b.to_ascii_lowercase().as_str() {
                "0" | "normal" | "false" => 0,
                "1" | "anomalous" | "anomaly" | "true" => 1,
                _ => return Err(bad("label must be 0/1 (or normal/anomalous)")),
            }
        };
        if a == 0 {
            return Err(bad("frame numbers are 1-based"));
        }
        pairs.push((a, b));
    }
    if is_ranges {
        let frames = frames.ok_or_else(|| {
            DataError::invalid(
                path,
                "a `start,end` label file needs the clip's frame count, which is unknown here",
            )
        })?;
        let ranges: Vec<FrameRange> = pairs
            .into_iter()
            .map(|(start, end)| {
                if end < start {
                    Err(DataError::invalid(
                        path,
                        format!("range {start},{end}: end before start"),
                    ))
                } else {
                    Ok(FrameRange { start, end })
                }
            })
            .collect::<Result<_>>()?;
        return labels_from_ranges(&ranges, frames, path);
    }
    let n = pairs.len();
    let mut labels = vec![None; n];
    for (frame, label) in pairs {
        match labels.get_mut(frame - 1) {
            Some(slot @ None) => *slot = Some(label == 1),
            Some(Some(_)) => {
                return Err(DataError::invalid(
                    path,
                    format!("frame {frame} listed twice"),
                ))
            }
            None => {
                return Err(DataError::invalid(
                    path,
                    format!("frame {frame} is beyond the {n} rows of the file"),
                ))
            }
        }
    }
    let labels: Vec<bool> = labels.into_iter().flatten().collect();
    if let Some(f) = frames.filter(|&f| f != labels.len()) {
        return Err(DataError::invalid(
            path,
            format!("labels cover {} frames but the clip has {f}", labels.len()),
        ));
    }
    Ok(labels)
}

/// Pixel masks of one clip: a folder of images, one per frame, in natural
/// order (`001.png` or `frame001.png`), any non-zero pixel anomalous.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskFolder {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

impl MaskFolder {
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(MaskFolder {
            dir: dir.to_path_buf(),
            files: list_frames(dir)?,
        })
    }

    /// The mask of frame `index` (0-based) at `size`: a pixel is anomalous when
    /// the resized mask is at least half set.
    pub fn read(
        &self,
        index: usize,
        size: FrameSize,
        resizer: &mut GrayResizer,
    ) -> Result<Vec<bool>> {
        let path = self.files.get(index).ok_or_else(|| {
            DataError::invalid(
                &self.dir,
                format!(
                    "no mask for frame {} ({} masks)",
                    index + 1,
                    self.files.len()
                ),
            )
        })?;
        let (native, gray) = read_gray8(path)?;
        let binary: Vec<u8> = gray.iter().map(|&p| if p > 0 { 255 } else { 0 }).collect();
        Ok(resizer
            .resize(native, binary, size)
            .into_iter()
            .map(|p| p >= 128)
            .collect())
    }

    /// Whether frame `index` has any anomalous pixel at native resolution.
    pub fn any_set(&self, index: usize) -> Result<bool> {
        let path = self
            .files
            .get(index)
            .ok_or_else(|| DataError::invalid(&self.dir, "mask index out of range"))?;
        Ok(read_gray8(path)?.1.iter().any(|&p| p > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn parses_ucsd_ground_truth() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "gt.m",
            "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [61:180];\nTestVideoFile{end+1}.gt_frame = [5:9, 20:21];\nTestVideoFile{end+1}.gt_frame = [];\n",
        );
        let clips = parse_ucsd_m(&p).unwrap();
        assert_eq!(clips.len(), 3);
        assert_eq!(
            clips[0],
            [FrameRange {
                start: 61,
                end: 180
            }]
        );
        assert_eq!(
            clips[1],
            [
                FrameRange { start: 5, end: 9 },
                FrameRange { start: 20, end: 21 }
            ]
        );
        assert!(clips[2].is_empty());
        let labels = labels_from_ranges(&clips[1], 25, &p).unwrap();
        assert_eq!(labels.iter().filter(|&&l| l).count(), 7);
        assert!(labels[4] && labels[8] && !labels[9] && labels[19] && !labels[3]);
    }

    #[test]
    fn malformed_ucsd_ground_truth_is_refused_with_the_line() {
        let d = tempfile::tempdir().unwrap();
        for (text, needle) in [
            ("TestVideoFile{end+1}.gt_frame = [61:x];", "line 1"),
            ("TestVideoFile{end+1}.gt_frame = [9:3];", "start <= end"),
            ("TestVideoFile{end+1}.gt_frame = [0:3];", "1-based"),
            ("TestVideoFile{end+1}.gt_frame = 61:180;", "'['"),
            ("hello", "not a UCSD ground-truth file"),
        ] {
            let p = write(d.path(), "bad.m", text);
            let msg = parse_ucsd_m(&p).unwrap_err().to_string();
            assert!(msg.contains("bad.m") && msg.contains(needle), "{msg}");
        }
        let p = write(d.path(), "bin.m", "");
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        assert!(parse_ucsd_m(&p).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn range_past_the_clip_is_refused() {
        let r = [FrameRange { start: 5, end: 12 }];
        let msg = labels_from_ranges(&r, 10, Path::new("gt.m"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("past the clip's 10 frames"), "{msg}");
    }

    #[test]
    fn label_csv_both_forms() {
        let d = tempfile::tempdir().unwrap();
        let per_frame = write(
            d.path(),
            "a.csv",
            "frame,label\n1,0\n3,1\n2,anomalous\n4,normal\n",
        );
        assert_eq!(
            read_labels_csv(&per_frame, None).unwrap(),
            [false, true, true, false]
        );
        assert_eq!(read_labels_csv(&per_frame, Some(4)).unwrap().len(), 4);
        assert!(read_labels_csv(&per_frame, Some(5))
            .unwrap_err()
            .to_string()
            .contains("clip has 5"));
        // A third column is refused (an empty one, from a trailing comma, is not).
        let three = write(d.path(), "t.csv", "frame,label\n1,0\n2,1,7\n");
        let msg = read_labels_csv(&three, None).unwrap_err().to_string();
        assert!(
            msg.contains("t.csv") && msg.contains("line 3: expected two columns, found more"),
            "{msg}"
        );
        let trailing = write(d.path(), "c.csv", "frame,label\n1,0,\n2,1,\n");
        assert_eq!(read_labels_csv(&trailing, None).unwrap(), [false, true]);
        let ranges = write(d.path(), "r.csv", "start,end\n2,3\n# comment\n6,6\n");
        assert_eq!(
            read_labels_csv(&ranges, Some(6)).unwrap(),
            [false, true, true, false, false, true]
        );
        assert!(read_labels_csv(&ranges, None).is_err());
        for (text, needle) in [
            ("frame,label\n1,0\n1,1\n", "listed twice"),
            ("frame,label\n1,0\n3,1\n", "beyond"),
            ("frame,label\n1,maybe\n", "0/1"),
            ("frame,label\n0,1\n", "1-based"),
            ("time,value\n1,1\n", "expected `frame,label`"),
            ("", "empty label file"),
        ] {
            let p = write(d.path(), "bad.csv", text);
            let msg = read_labels_csv(&p, None).unwrap_err().to_string();
            assert!(
                msg.contains("bad.csv") && msg.contains(needle),
                "{text:?}: {msg}"
            );
        }
    }
}
