//! The scene's random numbers: SplitMix64 over independent streams.

/// Independent random streams, so that staging an anomaly leaves the crowd, background and
/// noise of the same seed unchanged.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    Background = 1,
    Crowd,
    Anomaly,
    SensorNoise,
    Ambient,
    Footsteps,
    AnomalySound,
    Schedule,
    TrainClip,
    TestClip,
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and the same stream everywhere.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: Stream) -> Self {
        let mut rng = Rng(seed ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    pub(super) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }

    /// Uniform in [-1, 1).
    pub(super) fn signed(&mut self) -> f32 {
        2.0 * self.f32() - 1.0
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    pub(super) fn chance(&mut self, p: f32) -> bool {
        self.f32() < p
    }

    pub(super) fn sign(&mut self) -> f32 {
        if self.chance(0.5) {
            1.0
        } else {
            -1.0
        }
    }

    pub(super) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
