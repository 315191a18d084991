//! Frame folders: natural-sorted image files decoded to gray, resized, scaled to [0, 1].
//!
//! Gray conversion and resizing follow what the PyTorch peer does with Pillow
//! (`Image.convert("L").resize(size, BILINEAR)`): ITU-R BT.601 luma and a
//! bilinear convolution filter whose support widens when shrinking
//! (fast_image_resize reproduces Pillow's convolution resampler).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use fast_image_resize::images::Image;
use fast_image_resize::pixels::U8;
use fast_image_resize::{
    FilterType, IntoImageView, IntoImageViewMut, PixelType, ResizeAlg, ResizeOptions, Resizer,
};

use crate::{MediaError, Result};

/// Extensions (lower case) read as frames.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["tif", "tiff", "png", "jpg", "jpeg", "bmp"];

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

impl FrameSize {
    /// The paper's model input (§3.2): 240x240.
    pub const PAPER: FrameSize = FrameSize {
        width: 240,
        height: 240,
    };

    pub const fn new(width: u32, height: u32) -> Self {
        FrameSize { width, height }
    }

    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }
}

impl std::fmt::Display for FrameSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// A frame size that does not parse: the text given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad frame size {0:?}: expected WIDTHxHEIGHT, e.g. 240x240")]
pub struct ParseFrameSizeError(pub String);

impl std::str::FromStr for FrameSize {
    type Err = ParseFrameSizeError;

    /// `240x240` or `240` (square).
    fn from_str(s: &str) -> std::result::Result<Self, ParseFrameSizeError> {
        let parse = |v: &str| -> std::result::Result<u32, ParseFrameSizeError> {
            match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ParseFrameSizeError(s.to_string())),
            }
        };
        match s.split_once(['x', 'X']) {
            Some((w, h)) => Ok(FrameSize::new(parse(w)?, parse(h)?)),
            None => {
                let n = parse(s)?;
                Ok(FrameSize::new(n, n))
            }
        }
    }
}

/// One gray frame, row-major, values in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct GrayFrame {
    pub size: FrameSize,
    pub data: Vec<f32>,
}

impl GrayFrame {
    /// Scales 8-bit gray to [0, 1].
    pub fn from_gray8(size: FrameSize, pixels: &[u8]) -> Self {
        GrayFrame {
            size,
            data: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        }
    }
}

/// Orders names the way people number frames: digit runs compare by value,
/// so `2 < 10 < 100` and `frame9 < frame10`; other text compares
/// case-insensitively, then exactly as a tie-break.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let dx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let dy = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (nx, ny) = (trim_zeros(&x[..dx]), trim_zeros(&y[..dy]));
                let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[dx..];
                y = &y[dy..];
            }
            (Some(p), Some(q)) => {
                let ord = p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[start..]
}

fn is_image_file(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The image files of a folder in natural order. Errors when the folder
/// cannot be read or holds no frames.
pub fn list_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(MediaError::invalid(dir, "not a folder of frames"));
    }
    let files = files_in(dir, is_image_file)?;
    if files.is_empty() {
        return Err(MediaError::invalid(
            dir,
            format!(
                "no frames (expected image files: {})",
                IMAGE_EXTENSIONS.join(", ")
            ),
        ));
    }
    Ok(files)
}

/// The entries of the folder `dir` that `keep` accepts, in the natural order of their
/// names ([`natural_cmp`]). Errors when the folder cannot be read.
pub fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| MediaError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| MediaError::io(dir, e))?.path();
        if keep(&path) {
            files.push(path);
        }
    }
    files.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The pixel size stored in an image file's header (no pixel decoding). A JPEG cut short
/// is refused here too: its end is read as well.
pub fn image_size(path: &Path) -> Result<FrameSize> {
    if check_jpeg_end(path, &read_ends(path)?).is_err() {
        // The end read may be all padding: the whole file decides.
        let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
        check_jpeg_end(path, &bytes)?;
    }
    let (w, h) = image::image_dimensions(path).map_err(|e| image_error(path, e))?;
    Ok(FrameSize::new(w, h))
}

/// How many bytes at a file's end [`read_ends`] reads: room for the padding some
/// recorders write after a JPEG's end.
const TAIL: u64 = 256;

/// A file's first two bytes and its last [`TAIL`] (or all of a shorter file).
fn read_ends(path: &Path) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| MediaError::io(path, e))?;
    let len = f.metadata().map_err(|e| MediaError::io(path, e))?.len();
    let mut head = [0u8; 2];
    let mut out = Vec::new();
    if len >= 2 {
        f.read_exact(&mut head)
            .map_err(|e| MediaError::io(path, e))?;
        out.extend_from_slice(&head);
    }
    if len > 2 {
        let from = len.saturating_sub(TAIL).max(2);
        f.seek(SeekFrom::Start(from))
            .and_then(|_| f.read_to_end(&mut out))
            .map_err(|e| MediaError::io(path, e))?;
    }
    Ok(out)
}

/// Refuses a JPEG (`bytes`: the file, or its first two and last bytes) that does not end
/// with its end-of-image marker, trailing zero padding aside. The JPEG decoder fills in
/// the rows of a file cut short without an error (a recorder that died mid-write, a frame
/// copied half way); Pillow refuses the same file as truncated.
fn check_jpeg_end(path: &Path, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(());
    }
    let end = bytes.len() - bytes.iter().rev().take_while(|&&b| b == 0).count();
    if bytes[..end].ends_with(&[0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(MediaError::invalid(
            path,
            "truncated JPEG (no end-of-image marker): the file was cut short",
        ))
    }
}

fn image_error(path: &Path, e: image::ImageError) -> MediaError {
    match e {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::NotFound => {
            MediaError::io(path, io)
        }
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::invalid(path, "truncated image")
        }
        image::ImageError::Unsupported(_) => {
            MediaError::invalid(path, "not an image avad can read")
        }
        other => MediaError::invalid(path, format!("cannot decode image: {other}")),
    }
}

/// Decodes one image to 8-bit gray (BT.601 luma for colour images) at its native size.
pub fn read_gray8(path: &Path) -> Result<(FrameSize, Vec<u8>)> {
    // Decoded from memory by image's own (non-generic) entry point: a generic reader
    // would compile every decoder into this crate again.
    let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
    check_jpeg_end(path, &bytes)?;
    let img = image::load_from_memory(&bytes).map_err(|e| image_error(path, e))?;
    let size = FrameSize::new(img.width(), img.height());
    let gray = match img {
        image::DynamicImage::ImageLuma8(g) => g.into_raw(),
        // A decoded colour JPEG is RGB8 already: read its buffer where it lies.
        image::DynamicImage::ImageRgb8(rgb) => luma_of_rgb(rgb.as_raw()),
        other => luma_of_rgb(other.to_rgb8().as_raw()),
    };
    Ok((size, gray))
}

/// Pillow's "L" of packed RGB8: `L = R*299/1000 + G*587/1000 + B*114/1000`, rounded, in
/// 16-bit fixed point.
fn luma_of_rgb(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
            ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
        })
        .collect()
}

/// Resizes 8-bit gray pixels with the bilinear convolution filter (Pillow's BILINEAR).
pub struct GrayResizer {
    resizer: Resizer,
    options: ResizeOptions,
}

impl Default for GrayResizer {
    fn default() -> Self {
        GrayResizer {
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        }
    }
}

impl GrayResizer {
    /// `pixels` must hold `from.pixels()` bytes; returns `to.pixels()` bytes.
    pub fn resize(&mut self, from: FrameSize, pixels: Vec<u8>, to: FrameSize) -> Vec<u8> {
        if from == to {
            return pixels;
        }
        let mut dst = Image::new(to.width, to.height, PixelType::U8);
        // Sizes and the pixel type are ours and consistent, so neither call can fail;
        // fall back to the unresized input rather than panic if that ever changes.
        let Ok(src) = Image::from_vec_u8(from.width, from.height, pixels, PixelType::U8) else {
            return vec![0; to.pixels()];
        };
        // The typed call compiles the resizer for 8-bit gray alone; `resize` would compile
        // it for each of the crate's thirteen pixel types.
        let resized = match (src.image_view::<U8>(), dst.image_view_mut::<U8>()) {
            (Some(src), Some(mut dst)) => self
                .resizer
                .resize_typed(&src, &mut dst, &self.options)
                .is_ok(),
            _ => false,
        };
        if resized {
            dst.into_vec()
        } else {
            vec![0; to.pixels()]
        }
    }
}

/// A folder of frames, listed in natural order, decoded on demand.
#[derive(Debug, Clone)]
pub struct FrameFolder {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// The size of the first frame; every frame must match it.
    pub native_size: FrameSize,
}

impl FrameFolder {
    pub fn open(dir: &Path) -> Result<Self> {
        let files = list_frames(dir)?;
        let native_size = image_size(&files[0])?;
        Ok(FrameFolder {
            dir: dir.to_path_buf(),
            files,
            native_size,
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads every frame's header and fails on the first one whose size
    /// differs from the first frame's (or that is not an image at all).
    pub fn check_sizes(&self) -> Result<()> {
        for f in &self.files {
            let size = image_size(f)?;
            if size != self.native_size {
                return Err(MediaError::invalid(
                    f,
                    format!(
                        "frame is {size} but the folder's first frame is {}",
                        self.native_size
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Decodes frame `index` (0-based) to gray at `size`, values in [0, 1].
    pub fn read(
        &self,
        index: usize,
        size: FrameSize,
        resizer: &mut GrayResizer,
    ) -> Result<GrayFrame> {
        Ok(self.read_sizes(index, size, None, resizer)?.0)
    }

    /// [`Self::read`], and the same picture at `second` when asked for, from one decode.
    pub fn read_sizes(
        &self,
        index: usize,
        size: FrameSize,
        second: Option<FrameSize>,
        resizer: &mut GrayResizer,
    ) -> Result<(GrayFrame, Option<GrayFrame>)> {
        let path = self.files.get(index).ok_or_else(|| {
            MediaError::invalid(
                &self.dir,
                format!("no frame {index} (folder has {})", self.len()),
            )
        })?;
        let (native, gray) = read_gray8(path)?;
        if native != self.native_size {
            return Err(MediaError::invalid(
                path,
                format!(
                    "frame is {native} but the folder's first frame is {}",
                    self.native_size
                ),
            ));
        }
        let second =
            second.map(|s| GrayFrame::from_gray8(s, &resizer.resize(native, gray.clone(), s)));
        Ok((
            GrayFrame::from_gray8(size, &resizer.resize(native, gray, size)),
            second,
        ))
    }

    /// Decodes every frame in order.
    pub fn read_all(&self, size: FrameSize) -> Result<Vec<GrayFrame>> {
        let mut resizer = GrayResizer::default();
        (0..self.len())
            .map(|i| self.read(i, size, &mut resizer))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64x48 gray gradient as a JPEG.
    fn jpeg() -> Vec<u8> {
        let img = image::GrayImage::from_fn(64, 48, |x, y| image::Luma([(x * 3 + y) as u8]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_frame_read_at_two_sizes_is_each_size_read_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("001.jpg"), jpeg()).unwrap();
        let folder = FrameFolder::open(dir.path()).unwrap();
        let (a, b) = (FrameSize::new(16, 16), FrameSize::new(40, 30));
        let mut resizer = GrayResizer::default();
        let (first, second) = folder.read_sizes(0, a, Some(b), &mut resizer).unwrap();
        let second = second.expect("the second size");
        assert_eq!(first.data, folder.read(0, a, &mut resizer).unwrap().data);
        assert_eq!(second.data, folder.read(0, b, &mut resizer).unwrap().data);
        assert_eq!((first.data.len(), second.data.len()), (16 * 16, 40 * 30));
        assert!(folder
            .read_sizes(0, a, None, &mut resizer)
            .unwrap()
            .1
            .is_none());
    }

    #[test]
    fn a_jpeg_cut_short_is_refused_naming_it_and_a_whole_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = jpeg();
        let whole = dir.path().join("001.jpg");
        std::fs::write(&whole, &bytes).unwrap();
        let (size, gray) = read_gray8(&whole).unwrap();
        assert_eq!((size, gray.len()), (FrameSize::new(64, 48), 64 * 48));
        assert_eq!(image_size(&whole).unwrap(), size);
        // Zero padding after the end-of-image marker (some recorders write it) is whole.
        let padded = dir.path().join("002.jpg");
        std::fs::write(&padded, [&bytes[..], &[0u8; 300][..]].concat()).unwrap();
        assert_eq!(read_gray8(&padded).unwrap().1, gray);
        assert_eq!(image_size(&padded).unwrap(), size);
        // Cut to an eighth: the decoder alone would fill in the missing rows.
        let cut = dir.path().join("003.jpg");
        std::fs::write(&cut, &bytes[..bytes.len() / 8]).unwrap();
        for e in [read_gray8(&cut).unwrap_err(), image_size(&cut).unwrap_err()] {
            let e = e.to_string();
            assert!(e.starts_with(&cut.display().to_string()), "{e}");
            assert!(e.contains("truncated JPEG"), "{e}");
        }
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut names = vec![
            "frame10.png",
            "frame9.png",
            "100.tif",
            "2.tif",
            "10.tif",
            "Frame1.png",
            "frame001.png",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "2.tif",
                "10.tif",
                "100.tif",
                "Frame1.png",
                "frame001.png",
                "frame9.png",
                "frame10.png"
            ]
        );
        assert_eq!(natural_cmp("a2b10", "a2b9"), Ordering::Greater);
        assert_eq!(natural_cmp("001", "1"), Ordering::Less); // equal value: exact tie-break, total order
    }

    #[test]
    fn frame_size_parses() {
        assert_eq!("240x120".parse::<FrameSize>(), Ok(FrameSize::new(240, 120)));
        assert_eq!("96".parse::<FrameSize>(), Ok(FrameSize::new(96, 96)));
        assert!("0x5".parse::<FrameSize>().is_err());
        assert!("ax5".parse::<FrameSize>().is_err());
    }

    #[test]
    fn resize_matches_pillow_bilinear() {
        // Golden values from Pillow: Image.fromarray(a).resize((w, h), Image.BILINEAR).
        let mut r = GrayResizer::default();
        assert_eq!(
            r.resize(
                FrameSize::new(4, 1),
                vec![0, 0, 200, 200],
                FrameSize::new(2, 1)
            ),
            [29, 171]
        );
        let ramp: Vec<u8> = (0..240).map(|v| v as u8).collect();
        let expected = [
            19, 22, 25, 28, 30, 33, 36, 63, 66, 69, 72, 74, 77, 80, 111, 114, 117, 120, 122, 125,
            128, 159, 162, 165, 168, 170, 173, 176, 203, 206, 209, 212, 214, 217, 220,
        ];
        let got = r.resize(FrameSize::new(20, 12), ramp, FrameSize::new(7, 5));
        assert_eq!(got.len(), expected.len());
        let worst = got
            .iter()
            .zip(expected)
            .map(|(&g, e)| (i32::from(g) - e).abs())
            .max();
        assert!(worst <= Some(1), "{got:?}");
    }

    #[test]
    fn colour_to_gray_matches_pillow_l() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rgb.png");
        let px = [[10u8, 200, 30], [40, 50, 250], [255, 0, 0], [0, 255, 0]];
        let img = image::RgbImage::from_fn(4, 1, |x, _| image::Rgb(px[x as usize]));
        img.save(&path).unwrap();
        let (size, gray) = read_gray8(&path).unwrap();
        assert_eq!(size, FrameSize::new(4, 1));
        assert_eq!(gray, [124, 70, 76, 150]); // Pillow: Image.convert("L")
    }
}
