//! The iCE40 UP5K preset against the shapes of the 16-channel models trained for it
//! (`train/`: sr_x2_small, sr_x4_small, denoise_small, deblock_small): every one must pass the
//! fit check, so that `generate` and the boards accept them once trained. Sizes depend on the
//! shapes only, so seeded parameters stand in for the trained ones.

use bbcu_arch::compile;
use bbcu_arch::config::HwConfig;
use bbcu_arch::program::OpKind;
use bbcu_sim::fixed::FixedNetwork;
use bbcu_sim::synth::Topology;

#[test]
fn ice40_up5k_holds_the_16_channel_models() {
    let cfg = HwConfig::preset("ice40-up5k").unwrap();
    // (name, topology, program words the trained checkpoint needs: `bbcu-host generate` on them)
    for (name, t, prog) in [
        ("sr_x2_small", Topology::bbcu_m(16, 2, 2), 420),
        ("sr_x4_small", Topology::bbcu_m(16, 2, 4), 472),
        ("denoise_small", Topology::denoise(16, 6), 322),
        ("deblock_small", Topology::deblock(16, 6), 322),
    ] {
        let q = FixedNetwork::compile(&t.build(1), None).unwrap();
        let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let used = |m: &str| c.usage.iter().find(|u| u.memory == m).unwrap().used_words;
        assert_eq!(used("program"), prog, "{name}: not the trained model's shape");
        // Bit rings in the input SPRAM's upper half: no op reads that single-port memory in
        // a row that writes bits to it, and some rings did go there.
        let lent = cfg.memory.input_words / 2;
        let in_x = |g: &bbcu_arch::program::Ring| g.b_rows > 0 && g.b_base >= lent;
        for (l, op) in c.program.ops.iter().enumerate() {
            let reads_x = op.from_input || op.kind == OpKind::Tail || (op.kind == OpKind::Binary && in_x(&op.src));
            assert!(!(reads_x && in_x(&op.dst)), "{name}: op {l} reads and writes the input memory");
        }
        assert!(c.program.ops.iter().any(|op| in_x(&op.dst)), "{name}: no bit ring in the input memory");
        eprintln!(
            "{name}: strips ≤ {} columns; {}",
            c.width_cap,
            c.usage
                .iter()
                .map(|u| format!("{} {}/{}", u.memory, u.used_words, u.capacity_words))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// The bit rings' placement with `bits_in_input` on many shapes: no op reads the input SPRAM
/// in a row that writes bits to it, the rings of each memory lie inside it without
/// overlapping, the input ring keeps the lower half, and the bit memory never needs more
/// words than without the lent half.
#[test]
fn bit_rings_in_the_input_memory_never_conflict() {
    // The UP5K's ring memories; the others large enough for every shape.
    let mut up5k = HwConfig::preset("ice40-up5k").unwrap();
    let m = &mut up5k.memory;
    // (The UP5K's weight memory holds the FP weights too.)
    (m.weight_words, m.const_words, m.program_words) = (1 << 16, 1 << 14, 1 << 14);
    let mut without = up5k.clone();
    without.memory.bits_in_input = false;
    without.memory.bit_words = 1 << 14;
    let lent = up5k.memory.input_words / 2;
    let mut shapes = Vec::new();
    for f in [8, 16] {
        for blocks in 1..=3 {
            for r in 2..=4 {
                shapes.push(Topology::bbcu_m(f, blocks, r));
                shapes.push(Topology::bbcu_l(f, blocks, r));
            }
            shapes.push(Topology::denoise(f, 2 * blocks));
            shapes.push(Topology::deblock(f, 2 * blocks + 1));
        }
    }
    let mut placed = 0;
    for t in shapes {
        let q = FixedNetwork::compile(&t.build(3), None).unwrap();
        let c = compile(&q, &up5k).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        let ops = &c.program.ops;
        let w = c.width_cap;
        let in_x = |g: &bbcu_arch::program::Ring| g.b_rows > 0 && g.b_base >= lent;
        let h = &c.program.header;
        assert!(h.input.f_base + h.input.f_rows * w * h.input.ch <= lent, "{t:?}: input ring past its half");
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (l, op) in ops.iter().enumerate() {
            let reads_x = op.from_input || op.kind == OpKind::Tail || (op.kind == OpKind::Binary && in_x(&op.src));
            assert!(!(reads_x && in_x(&op.dst)), "{t:?}: op {l} reads and writes the input memory");
            let g = &op.dst;
            if op.kind != OpKind::Tail && g.b_rows > 0 {
                let end = g.b_base + g.b_rows * g.scale * w * g.ch.div_ceil(up5k.lanes);
                let limit = if in_x(g) { up5k.memory.input_words } else { up5k.memory.bit_words };
                assert!(end <= limit, "{t:?}: op {l}'s bit ring ends at {end}, past {limit}");
                spans.push((g.b_base, end));
                placed += in_x(g) as usize;
            }
        }
        spans.sort();
        assert!(spans.windows(2).all(|p| p[0].1 <= p[1].0), "{t:?}: bit rings overlap: {spans:?}");
        // Per strip column, the bit memory holds no more than it would with every ring in it.
        let used = |c: &bbcu_arch::Compiled| c.usage.iter().find(|u| u.memory == "bit").unwrap().used_words;
        let all = compile(&q, &without).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        assert!(used(&c) * all.width_cap <= used(&all) * w, "{t:?}: the lent half made the bit memory fuller");
    }
    assert!(placed > 20, "only {placed} rings went to the input memory");
}

/// A conv shift past the quantiser's `MAX_SHIFT` (a hand-made network) is refused with the
/// layer's name: the UP5K's rounding does not shift by 32 or more.
#[test]
fn a_conv_shift_past_max_shift_is_refused() {
    use bbcu_sim::fixed::QLayer;
    let cfg = bbcu_arch::HwConfig::preset("ice40-up5k").unwrap();
    let mut q = FixedNetwork::compile(&Topology::denoise(16, 2).build(3), None).unwrap();
    assert!(bbcu_arch::compile(&q, &cfg).is_ok());
    let name = q
        .layers
        .iter_mut()
        .find_map(|l| match l {
            QLayer::Conv(c) => {
                c.shift = bbcu_arch::MAX_SHIFT + 1;
                Some(c.name.clone())
            }
            _ => None,
        })
        .unwrap();
    let e = bbcu_arch::compile(&q, &cfg).unwrap_err().to_string();
    assert!(e.contains(&format!("{name}: shift 25 exceeds 24")), "{e}");
}
