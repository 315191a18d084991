//! Frame folders: natural-sorted image files decoded to gray, resized, scaled to [0, 1].

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

impl FrameSize {
    /// The paper's model input (§3.2): 240x240.
    pub const PAPER: FrameSize = FrameSize { width: 240, height: 240 };

    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }
}

/// One gray frame, row-major, values in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct GrayFrame {
    pub size: FrameSize,
    pub data: Vec<f32>,
}
