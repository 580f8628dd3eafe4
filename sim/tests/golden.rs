//! Cross-checks inside the software models: the fast engine against both references on every
//! topology, the fixed model against the float model, and hand-computed layer cases.

use bbcu_sim::engine::{FixedEngine, FloatEngine};
use bbcu_sim::fixed::{self, FixedNetwork, Fmap, QBinary};
use bbcu_sim::float;
use bbcu_sim::network::{Act, Arch, BinaryConv, Conv, Global, Layer, Network};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use ndarray::{Array1, Array3, Array4};

fn topologies() -> Vec<(&'static str, Topology)> {
    vec![
        ("bbcum_x2", Topology::bbcu_m(16, 2, 2)),
        ("bbcum_x3", Topology::bbcu_m(16, 1, 3)),
        ("bbcum_x4", Topology::bbcu_m(8, 1, 4)),
        ("bbcul_x2", Topology::bbcu_l(16, 1, 2)),
        ("bbcul_x3", Topology::bbcu_l(8, 1, 3)),
        ("bbcul_x4", Topology::bbcu_l(8, 1, 4)),
        ("denoise", Topology::denoise(16, 5)),
        ("deblock", Topology::deblock(16, 5)),
        // More than 64 channels: two words per pixel.
        ("bbcum_x2_c80", Topology::bbcu_m(80, 1, 2)),
    ]
}

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    let data = (0..c * h * w)
        .map(|i| {
            let (y, x) = ((i / w) % h, i % w);
            let smooth = 40.0 + 150.0 * (x + y) as f32 / (h + w) as f32;
            (smooth + rng.uniform(-30.0, 30.0)).clamp(0.0, 255.0) as u8
        })
        .collect();
    Planes::from_vec(c, h, w, data)
}

#[test]
fn engine_matches_golden_fixed_on_every_topology_and_odd_sizes() {
    for (name, t) in topologies() {
        let net = t.build(7);
        net.validate().unwrap();
        let q = FixedNetwork::compile(&net, None).unwrap();
        let eng = FixedEngine::new(&q);
        for (h, w) in [(1, 1), (2, 3), (7, 5), (9, 13)] {
            let img = image(net.in_ch, h, w, 11);
            let golden = fixed::forward(&q, &img);
            let fast = eng.run(&img);
            assert_eq!(golden, fast, "{name} {h}x{w}: engine differs from golden fixed model");
            let s = net.scale();
            assert_eq!((golden.height, golden.width, golden.channels), (h * s, w * s, net.out_ch));
        }
    }
}

#[test]
fn engine_matches_float_reference_exactly() {
    for (name, t) in topologies() {
        let net = t.build(3);
        let eng = FloatEngine::new(&net);
        for (h, w) in [(1, 2), (6, 7)] {
            let img = image(net.in_ch, h, w, 5);
            let a = float::forward(&net, &img);
            let b = eng.run(&img);
            assert_eq!(a.dim(), b.dim());
            for (x, y) in a.iter().zip(b.iter()) {
                assert!(x.to_bits() == y.to_bits(), "{name}: float engine {y} vs reference {x}");
            }
        }
    }
}

fn psnr(a: &Planes, b: &Planes) -> f64 {
    let mse: f64 =
        a.data.iter().zip(&b.data).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.data.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

#[test]
fn fixed_model_tracks_float_model() {
    // Random weights make every binarization threshold hot, so this is a loose bound; the
    // 0.05 dB bound on trained models is checked by `bbcu-host eval` (see models/README.md).
    for (name, t) in topologies() {
        let net = t.build(21);
        let q = FixedNetwork::compile(&net, None).unwrap();
        let img = image(net.in_ch, 12, 10, 2);
        let f = float::to_bytes(&float::forward(&net, &img));
        let x = fixed::forward(&q, &img);
        let p = psnr(&f, &x);
        assert!(p > 30.0, "{name}: fixed vs float PSNR {p:.2} dB");
    }
}

fn one_unit(cin: usize, cout: usize, r: usize, w: impl Fn(usize, usize, usize, usize) -> f32) -> BinaryConv {
    BinaryConv {
        name: "u".into(),
        move0: Array1::zeros(cin),
        weight: Array4::from_shape_fn((cout, cin, 3, 3), |(o, i, a, b)| w(o, i, a, b)),
        bias: None,
        pr_bias0: Array1::zeros(cout),
        pr_prelu: Array1::from_elem(cout, 0.25),
        pr_bias1: Array1::zeros(cout),
        upscale: r,
    }
}

#[test]
fn padded_taps_contribute_zero_in_float() {
    // All-positive input and weights: P = number of valid taps × Cin.
    let b = one_unit(2, 2, 1, |_, _, _, _| 0.5);
    let x = Array3::from_elem((2, 3, 4), 1.0f32);
    let y = float::binary_conv(&b, &x);
    // α = 0.5; corner has 4 valid taps, edge 6, interior 9; ×2 channels.
    assert_eq!(y[[0, 0, 0]], 0.5 * 8.0 + 1.0);
    assert_eq!(y[[0, 0, 1]], 0.5 * 12.0 + 1.0);
    assert_eq!(y[[0, 1, 1]], 0.5 * 18.0 + 1.0);
    assert_eq!(y[[1, 2, 3]], 0.5 * 8.0 + 1.0);
}

#[test]
fn sign_of_zero_is_zero_in_float_and_minus_one_at_the_fixed_tie() {
    // Input exactly at -move0: float sign is 0 (contributes nothing); fixed maps the tie to -1.
    let mut b = one_unit(1, 1, 1, |_, _, _, _| 1.0);
    b.move0[0] = -2.0;
    let x = Array3::from_elem((1, 1, 1), 2.0f32);
    let y = float::binary_conv(&b, &x);
    assert_eq!(y[[0, 0, 0]], 2.0, "sign(0) = 0 so the conv adds nothing");
    assert_eq!(float::sign(0.0), 0);
    assert_eq!(float::sign(-0.0), 0);

    let frac = 4;
    let net = Network {
        arch: Arch::DnCnn,
        in_ch: 1,
        out_ch: 1,
        num_feat: 1,
        k: 130.0,
        layers: vec![Layer::Binary(b)],
        tail: Conv { name: "t".into(), weight: Array4::zeros((1, 1, 3, 3)), bias: None },
        global: Global::SubtractInput,
    };
    let q = FixedNetwork::compile(&net, Some(frac)).unwrap();
    let fixed::QLayer::Binary(qb) = &q.layers[0] else { panic!() };
    assert_eq!(qb.threshold[0], 32, "2.0 · 2^4: the bit is +1 only above the threshold");
    let at = Fmap { c: 1, h: 1, w: 1, data: vec![32] };
    let above = Fmap { c: 1, h: 1, w: 1, data: vec![33] };
    assert_eq!(fixed::binarize(qb, &at), vec![false]);
    assert_eq!(fixed::binarize(qb, &above), vec![true]);
    // At the tie the single tap is -1 against a +1 weight: P = -1.
    let y = fixed::binary(qb, &at);
    let expect = fixed::sat16(qb.post(0, -1) + 32);
    assert_eq!(y.data[0], expect);
}

#[test]
fn fixed_binary_unit_by_hand() {
    // One channel, weights +1, all activations +1 in a 1×3 row: P = 3 (edges: 2).
    let q = QBinary {
        name: "h".into(),
        cin: 1,
        cout: 1,
        threshold: vec![0],
        weight: vec![true; 9],
        alpha: vec![8], // α = 0.5 at frac 4, shift 0
        shift: 0,
        offset: vec![-16], // b0 = -1
        slope: vec![1024], // 0.25
        bias1: vec![3],
        upscale: 1,
    };
    let x = Fmap { c: 1, h: 1, w: 3, data: vec![5, 5, 5] };
    let y = fixed::binary(&q, &x);
    // edge: 8·2 - 16 = 0 → PReLU 0 → +3 → +5 = 8; middle: 8·3 - 16 = 8 → 11 + 5 = 16.
    assert_eq!(y.data, vec![8, 16, 8]);
    // Negative branch: all activations -1 → P = -2 at the edges: 8·-2 - 16 = -32 → ·0.25 = -8.
    let x = Fmap { c: 1, h: 1, w: 3, data: vec![-5, -5, -5] };
    let y = fixed::binary(&q, &x);
    assert_eq!(y.data, vec![-8 + 3 - 5, -10 + 3 - 5, -8 + 3 - 5]);
}

#[test]
fn rounding_and_saturation_helpers() {
    assert_eq!(fixed::rshift_round(5, 1), 3); // 2.5 → 3 (half up)
    assert_eq!(fixed::rshift_round(-5, 1), -2); // -2.5 → -2 (half up)
    assert_eq!(fixed::rshift_round(-6, 1), -3);
    assert_eq!(fixed::rshift_round(7, 0), 7);
    assert_eq!(fixed::sat16(40_000), i16::MAX);
    assert_eq!(fixed::sat16(-40_000), i16::MIN);
    assert_eq!(fixed::apply_slope(-100, 410), -10); // ≈0.1
    assert_eq!(fixed::apply_slope(100, 410), 100);
}

#[test]
fn pixel_shuffle_indexing() {
    let x = Array3::from_shape_fn((4, 1, 1), |(c, _, _)| c as f32);
    let y = float::pixel_shuffle(&x, 2);
    assert_eq!(y.dim(), (1, 2, 2));
    assert_eq!([y[[0, 0, 0]], y[[0, 0, 1]], y[[0, 1, 0]], y[[0, 1, 1]]], [0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn bilinear_matches_pytorch_align_corners_false() {
    // F.interpolate([[0, 4]], scale_factor=2, mode='bilinear') along one axis gives
    // [0, 1, 3, 4] (src = (d + 0.5)/2 - 0.5, clamped at 0).
    let x = Array3::from_shape_vec((1, 1, 2), vec![0.0f32, 4.0]).unwrap();
    let y = float::bilinear(&x, 2);
    assert_eq!(y.as_slice().unwrap(), &[0.0, 1.0, 3.0, 4.0, 0.0, 1.0, 3.0, 4.0]);
    let w = fixed::bilinear_weights(2, 2);
    assert_eq!(w, vec![(0, 1, 256, 0), (0, 1, 192, 64), (0, 1, 64, 192), (1, 1, 192, 64)]);
    // The last tap clamps to the border pixel twice, as PyTorch's h1 = h0 at the edge.
    // ×3 from 3 pixels: taps at 0, 0, 1/3, 2/3, 1, 4/3 ...
    let w3 = fixed::bilinear_weights(3, 3);
    assert_eq!(w3[2], (0, 1, 171, 85));
    assert_eq!(w3[8], (2, 2, 171, 85)); // src = 2.33 clamps to the last pixel twice
}

#[test]
fn fp_conv_with_padding_by_hand() {
    let c =
        Conv { name: "c".into(), weight: Array4::from_elem((1, 1, 3, 3), 1.0), bias: Some(Array1::from_elem(1, 0.5)) };
    let x = Array3::from_elem((1, 2, 2), 1.0f32);
    let y = float::conv(&c, &x, Act::Leaky(0.1));
    assert!(y.iter().all(|v| *v == 4.5));
    let y = float::conv(&Conv { bias: Some(Array1::from_elem(1, -10.0)), ..c }, &x, Act::Leaky(0.1));
    assert!(y.iter().all(|v| (*v - -0.6).abs() < 1e-6));
}

#[test]
fn paper_params_and_ops_for_bbcu_m() {
    let px = 320.0 * 180.0;
    let x2 = Topology::bbcu_m(64, 16, 2).build(0).counts();
    assert_eq!(x2.paper_params().round(), 46080.0);
    // 31,680 OPs per LR pixel: 1.8248 G, which the paper prints as 1.83 (from 1.825).
    assert_eq!(x2.paper_ops(px), 1_824_768_000.0);
    let x4 = Topology::bbcu_m(64, 16, 4).build(0).counts();
    assert_eq!(x4.paper_params().round(), 50688.0);
    assert_eq!(x4.paper_ops(px), 3_948_134_400.0);
    let l2 = Topology::bbcu_l(64, 16, 2).build(0).counts();
    assert_eq!((l2.paper_ops(px) / 1e7).round() / 100.0, 18.55);
    let dn = Topology::denoise(64, 20).build(0).counts();
    assert_eq!(dn.paper_params().round(), 24192.0);
    let db = Topology::deblock(64, 20).build(0).counts();
    assert_eq!(db.paper_params().round(), 21888.0);
}

#[test]
fn zero_latent_weights_are_ternary_in_float_and_plus_one_in_fixed() {
    let mut rng = Rng::new(1);
    let mut b = one_unit(3, 3, 1, |_, _, _, _| 0.0);
    for w in b.weight.iter_mut() {
        *w = if rng.uniform(0.0, 1.0) < 0.3 { 0.0 } else { rng.uniform(-1.0, 1.0) };
    }
    let x = Array3::from_shape_fn((3, 4, 5), |_| rng.uniform(-2.0, 2.0));
    let net = Network {
        arch: Arch::DnCnn,
        in_ch: 3,
        out_ch: 3,
        num_feat: 3,
        k: 130.0,
        layers: vec![Layer::Binary(b.clone())],
        tail: Conv { name: "t".into(), weight: Array4::zeros((3, 3, 3, 3)), bias: None },
        global: Global::SubtractInput,
    };
    let img = image(3, 4, 5, 9);
    assert_eq!(float::forward(&net, &img), FloatEngine::new(&net).run(&img));
    let direct = float::binary_conv(&b, &x);
    assert!(direct.iter().all(|v| v.is_finite()));
    let q = FixedNetwork::compile(&net, None).unwrap();
    assert_eq!(q.zero_weights, b.zero_weights());
    assert!(q.zero_weights > 0);
}

#[test]
fn engine_handles_exact_zero_activations_in_float() {
    // After the DnCNN head's ReLU many features are exactly 0; with move0 = 0 their sign is 0,
    // so the engine must take its masked (ternary) path on those rows and only there.
    let mut net = Topology::denoise(16, 4).build(4);
    if let Layer::Binary(b) = &mut net.layers[1] {
        b.move0.fill(0.0);
    }
    let img = image(3, 9, 11, 3);
    let a = float::forward(&net, &img);
    let b = FloatEngine::new(&net).run(&img);
    assert!(a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
    let feat = float::apply_layer(&net.layers[0], &float::scaled_input(&img, net.k));
    assert!(feat.iter().any(|v| *v == 0.0), "the test needs exact zeros");
}

#[test]
fn compiled_constants_fit_the_hardware_words() {
    for (name, t) in topologies() {
        let q = FixedNetwork::compile(&t.build(13), None).unwrap();
        for l in &q.layers {
            if let fixed::QLayer::Binary(b) = l {
                assert!(b.alpha.iter().all(|a| (0..=32767).contains(a)), "{name}: α word");
                assert!(b.offset.iter().all(|o| o.abs() <= 1 << 30), "{name}: offset word");
                // The worst-case A·P + O stays inside a signed 32-bit adder.
                let worst = 32767i64 * 9 * b.cin as i64 + (1 << 30);
                assert!(worst < i32::MAX as i64, "{name}");
            }
        }
    }
}
