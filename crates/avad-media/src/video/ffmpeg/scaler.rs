//! Conversion of decoded frames to full-range gray at the model size: swscale makes 8-bit
//! full-range gray at the frame's own size, and the resize to the model's is the one a
//! frame folder's images get ([`GrayResizer`]), so the same picture reaches the model
//! the same way from a video as from its frames.

use std::ffi::CString;

use ff::ffi;
use ffmpeg_next as ff;

use crate::frames::GrayResizer;
use crate::{FrameSize, GrayFrame};

/// swscale context from one decoded format/size to full-range GRAY8 at that size, and the
/// resizer to the model size.
pub(super) struct GrayScaler {
    ptr: *mut ffi::SwsContext,
    pub(super) input: (ffi::AVPixelFormat, i32, i32, bool),
    output: ff::frame::Video,
    resizer: GrayResizer,
}

// SAFETY: the SwsContext is owned by this struct alone and only used through
// `&mut self`; swscale keeps no thread-local state, so moving it between
// threads is sound (it is not shared, hence no Sync).
unsafe impl Send for GrayScaler {}

impl GrayScaler {
    pub(super) fn new(
        format: ffi::AVPixelFormat,
        width: i32,
        height: i32,
        full_range: bool,
    ) -> Option<Self> {
        // swscale only converts; the resize is GrayResizer's, as for image files (a
        // swscale area resize gave a frame-difference model 2.4 times the error of the
        // same pictures read as JPEGs).
        let native = FrameSize::new(u32::try_from(width).ok()?, u32::try_from(height).ok()?);
        // Options rather than sws_getContext + sws_setColorspaceDetails: the
        // ranges must be known when the context is initialised, or a
        // same-size yuv→gray conversion takes the plane-copy path and never
        // expands limited-range luma.
        let settings: [(&str, i64); 9] = [
            ("srcw", i64::from(width)),
            ("srch", i64::from(height)),
            ("src_format", format as i64),
            ("dstw", i64::from(width)),
            ("dsth", i64::from(height)),
            ("dst_format", ffi::AVPixelFormat::AV_PIX_FMT_GRAY8 as i64),
            ("sws_flags", i64::from(ffi::SWS_AREA)),
            ("src_range", i64::from(full_range)),
            ("dst_range", 1),
        ];
        // SAFETY: a fresh context is configured through the AVOptions API and
        // freed on every failure path; nothing else holds the pointer.
        unsafe {
            let ptr = ffi::sws_alloc_context();
            if ptr.is_null() {
                return None;
            }
            for (name, value) in settings {
                let name = CString::new(name).ok()?;
                if ffi::av_opt_set_int(ptr.cast(), name.as_ptr(), value, 0) < 0 {
                    ffi::sws_freeContext(ptr);
                    return None;
                }
            }
            if ffi::sws_init_context(ptr, std::ptr::null_mut(), std::ptr::null_mut()) < 0 {
                ffi::sws_freeContext(ptr);
                return None;
            }
            let output =
                ff::frame::Video::new(ff::format::Pixel::GRAY8, native.width, native.height);
            Some(GrayScaler {
                ptr,
                input: (format, width, height, full_range),
                output,
                resizer: GrayResizer::default(),
            })
        }
    }

    /// `frame` as gray at `size`, and at `second` when asked for.
    pub(super) fn convert(
        &mut self,
        frame: &ff::frame::Video,
        size: FrameSize,
        second: Option<FrameSize>,
    ) -> (GrayFrame, Option<GrayFrame>) {
        // SAFETY: `frame` matches `self.input` (checked by the caller), so its
        // planes hold `height` rows of the strides it declares; `output` was
        // allocated by FFmpeg as GRAY8 at `size`.
        unsafe {
            let src = frame.as_ptr();
            let dst = self.output.as_mut_ptr();
            ffi::sws_scale(
                self.ptr,
                (*src).data.as_ptr() as *const *const u8,
                (*src).linesize.as_ptr(),
                0,
                self.input.2,
                (*dst).data.as_ptr(),
                (*dst).linesize.as_ptr(),
            );
        }
        let (w, h) = (self.output.width(), self.output.height());
        let stride = self.output.stride(0);
        let plane = self.output.data(0);
        let mut native = Vec::with_capacity(w as usize * h as usize);
        for row in plane.chunks(stride).take(h as usize) {
            native.extend_from_slice(&row[..w as usize]);
        }
        let from = FrameSize::new(w, h);
        let second =
            second.map(|s| GrayFrame::from_gray8(s, &self.resizer.resize(from, native.clone(), s)));
        let pixels = self.resizer.resize(from, native, size);
        (GrayFrame::from_gray8(size, &pixels), second)
    }
}

impl Drop for GrayScaler {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from sws_alloc_context and is freed exactly once.
        unsafe { ffi::sws_freeContext(self.ptr) }
    }
}

pub(super) fn is_full_range(frame: &ff::frame::Video) -> bool {
    // The deprecated yuvj* formats are full range whatever the flag says;
    // swscale knows that by itself, the flag covers the rest (full-range H.264).
    frame.color_range() == ff::color::Range::JPEG
}
