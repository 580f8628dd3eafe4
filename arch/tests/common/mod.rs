//! What the reference-model tests share: small test configurations and random images.

#![allow(dead_code)]

use bbcu_arch::config::{HwConfig, Memories};
use bbcu_sim::synth::Rng;
use bbcu_sim::Planes;

/// A test configuration; `feature_words` sizes the feature memory (the sequencer firmware
/// addresses at most 64 Ki words).
pub fn config(pes: usize, lanes: usize, fp_lanes: usize, max_width: usize, feature_words: usize) -> HwConfig {
    HwConfig {
        name: format!("test-p{pes}-s{lanes}-m{fp_lanes}-w{max_width}"),
        device: "test".into(),
        clock_mhz: 50.0,
        pes,
        lanes,
        fp_lanes,
        max_width,
        max_channels: 64,
        memory: Memories {
            feature_words,
            feature_banks: 1,
            input_words: 1 << 14,
            bit_words: 1 << 14,
            bits_in_input: false,
            weight_words: 1 << 14,
            fp_weight_words: 1 << 14,
            fp_in_weights: false,
            const_words: 1 << 14,
            program_words: 1024,
            output_bytes: 4096,
        },
    }
}

/// Random 8-bit pixels.
pub fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}
