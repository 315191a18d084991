//! The eight librosa-faithful audio features of avad (spectral flatness, ZCR, centroid, bandwidth, MFCC, mel, roll-off, contrast)
