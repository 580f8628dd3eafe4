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
