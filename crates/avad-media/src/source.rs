//! Frames and their sound as they arrive, whatever the recording: the [`FrameSource`]
//! trait, and its two sources, a frame folder with an optional sound file
//! ([`FolderSource`]) and a video file or live stream ([`VideoSource`], FFmpeg).
//!
//! A source hands out each frame gray at the size it was opened with, with its stream
//! time, and the mono sound decoded since the last call, starting at the first frame's
//! time 0. `avad watch` feeds a source to the live detector; nothing here scores.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};

use crate::audio::{decode_audio, downmix_mono, AudioStream, DecodedAudio};
use crate::frames::{FrameFolder, GrayResizer};
use crate::video::{decode_audio_track, is_video_path, OpenOptions, VideoReader};
use crate::{FrameSize, MediaError, Result};

/// One frame: gray pixels in `[0, 1]`, row by row at the source's size, and its stream
/// time in seconds.
pub struct SourceFrame {
    pub pixels: Vec<f32>,
    /// The same picture at the second size the source was opened with, if any
    /// ([`FolderSource::open_sizes`], [`crate::video::OpenOptions::second_size`]).
    pub second: Option<Vec<f32>>,
    pub time_s: f64,
}

/// Frames (and sound) of one connection to a recording or a camera, in order.
pub trait FrameSource {
    /// Frames per second: a folder's as given, a video's as it declares.
    fn fps(&self) -> Option<f64>;
    /// The rate of the mono sound [`Self::take_sound`] gives, `None` without sound.
    fn sound_rate(&self) -> Option<u32>;
    /// The next frame, `None` at the end.
    fn next_frame(&mut self) -> Result<Option<SourceFrame>>;
    /// Mono sound since the last call, continuing the previous call's.
    fn take_sound(&mut self) -> Result<Vec<f32>>;
    /// Packets skipped as corrupt and frames the decoder flagged as damaged so far.
    fn damage(&self) -> Damage {
        Damage::default()
    }
    /// Frames skipped since the last call because they did not decode (a frame file cut
    /// short or corrupt), each with its one-line error.
    fn take_skipped(&mut self) -> Vec<SkippedFrame> {
        Vec::new()
    }
}

/// A frame a source skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedFrame {
    /// Its place in the source, 0-based, counting the frames skipped.
    pub position: usize,
    /// Why, naming the file.
    pub error: String,
}

/// What a decoder skipped or flagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    pub skipped_packets: u64,
    pub damaged_frames: u64,
}

/// Mono sound of `path` at its own rate: an audio file, or with `video_track` the audio
/// track of a video file or stream (FFmpeg).
pub fn decode_native_mono(path: &Path, video_track: bool) -> Result<(Vec<f32>, u32)> {
    let d = if video_track {
        decode_audio_track(&path.to_string_lossy())?
    } else {
        decode_audio(path)?
    };
    Ok((downmix_mono(&d), d.sample_rate))
}

/// Seconds of a frame folder's sound handed over ahead of its latest frame: more than
/// the audio scorer needs before it can score a frame (about 0.9 s).
pub const SOUND_LEAD_S: f64 = 2.0;

/// A frame folder's sound file, mono at its own rate, handed over as the frames need it.
struct Sound {
    rate: u32,
    feed: SoundFeed,
    /// Mono samples handed over so far.
    given: usize,
}

enum SoundFeed {
    /// An audio file, decoded a packet at a time (memory stays flat however long it is).
    File(Box<AudioStream>),
    /// A video's sound track, which FFmpeg decodes whole.
    Track(VecDeque<f32>),
}

impl Sound {
    fn open(path: &Path) -> Result<Self> {
        if is_video_path(path) {
            let (mono, rate) = decode_native_mono(path, true)?;
            return Ok(Sound {
                rate,
                feed: SoundFeed::Track(mono.into()),
                given: 0,
            });
        }
        let stream = AudioStream::open(path)?;
        Ok(Sound {
            rate: stream.sample_rate(),
            feed: SoundFeed::File(Box::new(stream)),
            given: 0,
        })
    }

    /// The mono samples after those already given, up to time `until_s`.
    fn take_until(&mut self, until_s: f64) -> Result<Vec<f32>> {
        let want = (until_s * f64::from(self.rate)).ceil().max(0.0) as usize;
        let mut out = Vec::new();
        match &mut self.feed {
            SoundFeed::Track(rest) => {
                let n = want.saturating_sub(self.given).min(rest.len());
                out.extend(rest.drain(..n));
            }
            SoundFeed::File(stream) => {
                while self.given + out.len() < want {
                    let Some(chunk) = stream.next_chunk()? else {
                        break;
                    };
                    let decoded = DecodedAudio {
                        sample_rate: stream.sample_rate(),
                        channels: stream.channels(),
                        samples: chunk,
                    };
                    out.extend(downmix_mono(&decoded));
                }
            }
        }
        self.given += out.len();
        Ok(out)
    }
}

/// The frames of a folder, decoded ahead on a thread of their own into a bounded queue, so
/// that decoding the next frames overlaps scoring the last window (decoding a Ped2 JPEG
/// takes about a fifth of a frame's time on 2 cores; over the 2010 Ped2 test frames the
/// watch runs 8 % faster with it). Frames come out in order, an error in the place of a
/// frame that does not decode; the thread stops when the queue is dropped.
struct Prefetch {
    frames: Receiver<Result<Decoded>>,
}

/// A frame at the size asked for, and at the second size when one was asked for.
type Decoded = (Vec<f32>, Option<Vec<f32>>);

impl Prefetch {
    /// Frames queued ahead of the one being scored.
    const AHEAD: usize = 16;

    fn start(folder: FrameFolder, size: FrameSize, second: Option<FrameSize>) -> Self {
        let (tx, frames) = sync_channel(Self::AHEAD);
        std::thread::spawn(move || {
            let mut resizer = GrayResizer::default();
            for index in 0..folder.len() {
                let frame = folder
                    .read_sizes(index, size, second, &mut resizer)
                    .map(|(f, s)| (f.data, s.map(|s| s.data)));
                if tx.send(frame).is_err() {
                    return;
                }
            }
        });
        Prefetch { frames }
    }

    /// The next frame (or its error), `None` after the last.
    fn next(&mut self) -> Option<Result<Decoded>> {
        self.frames.recv().ok()
    }
}

/// A folder of frame images at a given frame rate, with the sound of an audio file (or of
/// a video's track) handed over up to [`SOUND_LEAD_S`] ahead of the latest frame. A frame
/// file that does not decode is skipped (its time slot stays empty, so later frames and
/// the sound keep their times) and reported by [`FrameSource::take_skipped`].
pub struct FolderSource {
    frames: Prefetch,
    next: usize,
    fps: f64,
    sound: Option<Sound>,
    skipped: Vec<SkippedFrame>,
    damaged: u64,
}

impl FolderSource {
    /// Opens the frames of `folder` at `size`, `fps` frames a second, with the sound of
    /// `sound` if given. A folder without frames is refused.
    pub fn open(folder: &Path, size: FrameSize, fps: f64, sound: Option<&Path>) -> Result<Self> {
        Self::open_sizes(folder, size, None, fps, sound)
    }

    /// [`Self::open`], each frame also at `second` when asked for ([`SourceFrame::second`]).
    pub fn open_sizes(
        folder: &Path,
        size: FrameSize,
        second: Option<FrameSize>,
        fps: f64,
        sound: Option<&Path>,
    ) -> Result<Self> {
        let frames = FrameFolder::open(folder)?;
        if frames.is_empty() {
            return Err(MediaError::Invalid {
                path: folder.to_path_buf(),
                reason: "no frames in this folder".into(),
            });
        }
        let sound = sound.map(Sound::open).transpose()?;
        Ok(FolderSource {
            frames: Prefetch::start(frames, size, second),
            next: 0,
            fps,
            sound,
            skipped: Vec::new(),
            damaged: 0,
        })
    }
}

impl FrameSource for FolderSource {
    fn fps(&self) -> Option<f64> {
        Some(self.fps)
    }

    fn sound_rate(&self) -> Option<u32> {
        self.sound.as_ref().map(|s| s.rate)
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>> {
        loop {
            let Some(frame) = self.frames.next() else {
                return Ok(None);
            };
            let position = self.next;
            self.next += 1;
            match frame {
                Ok((pixels, second)) => {
                    let time_s = position as f64 / self.fps;
                    return Ok(Some(SourceFrame {
                        pixels,
                        second,
                        time_s,
                    }));
                }
                Err(e) => {
                    self.damaged += 1;
                    self.skipped.push(SkippedFrame {
                        position,
                        error: e.to_string(),
                    });
                }
            }
        }
    }

    fn damage(&self) -> Damage {
        Damage {
            skipped_packets: 0,
            damaged_frames: self.damaged,
        }
    }

    fn take_skipped(&mut self) -> Vec<SkippedFrame> {
        std::mem::take(&mut self.skipped)
    }

    fn take_sound(&mut self) -> Result<Vec<f32>> {
        let until = self.next as f64 / self.fps + SOUND_LEAD_S;
        match self.sound.as_mut() {
            Some(sound) => sound.take_until(until),
            None => Ok(Vec::new()),
        }
    }
}

/// A video file or a live stream through FFmpeg, with its own sound.
pub struct VideoSource {
    reader: VideoReader,
    /// The stream time of the first sound, once it has come.
    sound_origin: Option<f64>,
}

impl VideoSource {
    /// Opens `source` (a path or URL) at `size`; `options.audio` asks for its sound.
    pub fn open(source: &str, size: FrameSize, options: &OpenOptions) -> Result<Self> {
        Ok(VideoSource {
            reader: VideoReader::open(source, size, options)?,
            sound_origin: None,
        })
    }

    /// What the container declares.
    pub fn info(&self) -> &crate::video::VideoInfo {
        self.reader.info()
    }
}

impl FrameSource for VideoSource {
    fn fps(&self) -> Option<f64> {
        Some(self.reader.info().fps).filter(|f| *f > 0.0)
    }

    fn sound_rate(&self) -> Option<u32> {
        self.reader.info().audio.as_ref().map(|a| a.sample_rate)
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>> {
        Ok(self.reader.next_frame()?.map(|f| SourceFrame {
            pixels: f.frame.data,
            second: f.second.map(|s| s.data),
            time_s: f.pts_s,
        }))
    }

    /// The sound decoded since the last call. The first call's starts at the video's
    /// time 0: leading sound is dropped, a late start padded with silence.
    fn take_sound(&mut self) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        while let Some(chunk) = self.reader.take_audio() {
            let decoded = DecodedAudio {
                sample_rate: chunk.sample_rate,
                channels: chunk.channels,
                samples: chunk.samples,
            };
            let mut mono = downmix_mono(&decoded);
            if self.sound_origin.is_none() {
                let offset = (chunk.start_s * f64::from(chunk.sample_rate)).round() as i64;
                if offset > 0 {
                    out.extend(std::iter::repeat_n(0.0, offset as usize));
                } else {
                    mono.drain(..(offset.unsigned_abs() as usize).min(mono.len()));
                }
                self.sound_origin = Some(chunk.start_s);
            }
            out.extend(mono);
        }
        Ok(out)
    }

    fn damage(&self) -> Damage {
        Damage {
            skipped_packets: self.reader.skipped_packets(),
            damaged_frames: self.reader.damaged_frames(),
        }
    }
}
