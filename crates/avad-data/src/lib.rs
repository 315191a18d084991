//! Dataset layouts (UCSD Ped2, UMN, generic), labels, the synthetic audio-visual scene, windowing
