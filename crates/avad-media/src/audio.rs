//! Audio files: decode (symphonia), mono downmix, resampling to the feature rate.
