//! Video files and live streams through FFmpeg (feature `ffmpeg`).
