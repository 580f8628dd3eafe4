//! Official-format checkpoints of every released topology, made by the PyTorch
//! re-implementation in `train/bbcu_torch.py` (`tests/data/vectors/README.md`): the importer
//! must read them and the float model must reproduce PyTorch's output.

use bbcu_host::{checkpoint, imageio, model::Model, model::Precision};
use bbcu_sim::{float, Arch};
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/vectors")
}

const CASES: &[(&str, Arch, usize, usize)] = &[
    ("bbcum_x2", Arch::BbcuM, 3, 2),
    ("bbcum_x3", Arch::BbcuM, 3, 3),
    ("bbcum_x4", Arch::BbcuM, 3, 4),
    ("bbcul_x2", Arch::BbcuL, 3, 2),
    ("bbcul_x3", Arch::BbcuL, 3, 3),
    ("bbcul_x4", Arch::BbcuL, 3, 4),
    ("denoise", Arch::DnCnn, 3, 1),
    ("deblock", Arch::DnCnn, 1, 1),
];

fn expected_f32(dir: &Path) -> Vec<f32> {
    std::fs::read(dir.join("expected_f32.bin"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn every_topology_imports_and_matches_pytorch_within_one_level() {
    for &(name, arch, ch, scale) in CASES {
        let dir = vectors().join(name);
        let net = checkpoint::load(&dir.join("model.pth"), 130.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((net.arch, net.in_ch, net.scale()), (arch, ch, scale), "{name}: topology");
        let input = imageio::read(&dir.join("input.png")).unwrap();
        let expected = imageio::read(&dir.join("expected.png")).unwrap();
        let out = float::forward(&net, &input);
        let got = float::to_bytes(&out);
        assert_eq!(
            (got.channels, got.height, got.width),
            (expected.channels, expected.height, expected.width),
            "{name}: shape"
        );
        let worst = got.data.iter().zip(&expected.data).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
        assert!(worst <= 1, "{name}: {worst} levels from PyTorch");
        // Before rounding: the float model agrees with PyTorch to float rounding.
        let raw = expected_f32(&dir);
        let max_err = out.iter().zip(&raw).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max_err < 2e-4, "{name}: max |float - pytorch| = {max_err}");
    }
}

#[test]
fn cpu_engine_float_and_fixed_on_every_topology() {
    for &(name, ..) in CASES {
        let dir = vectors().join(name);
        let m = Model::load(&dir.join("model.pth"), 130.0, None).unwrap();
        let input = imageio::read(&dir.join("input.png")).unwrap();
        let expected = imageio::read(&dir.join("expected.png")).unwrap();
        let f = m.run(&input, Precision::Float);
        let worst = f.data.iter().zip(&expected.data).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
        assert!(worst <= 1, "{name}: cpu float engine is {worst} levels from PyTorch");
        let a = m.run(&input, Precision::Fixed);
        let b = bbcu_sim::fixed::forward(&m.fixed, &input);
        assert_eq!(a, b, "{name}: fixed engine differs from the golden model");
        assert_eq!(a, m.run(&input, Precision::Fixed), "{name}: fixed point is not deterministic");
    }
}
