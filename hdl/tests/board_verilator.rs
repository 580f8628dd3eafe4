//! The whole board top-level (`bbcu_hdl::board_top::BoardTest`: UART, protocol engine,
//! engine) as emitted Verilog under Verilator, driven bit by bit on its serial pins by
//! `hdl/verilator/board_tb.cpp` while the host side of the protocol (`tests/link`) runs here:
//! HELLO, framing errors, a bad CRC, a truncated frame, back-to-back frames, a model upload and
//! a strip whose result equals the golden model, and the wire throughput of result streaming.
//!
//! The UART runs at divisor 1 (16 clocks a bit, the fastest the design allows; a 48 MHz
//! board then runs 3 Mbaud). The simulator is `bbcu_hdl::board_sim`: the first test to need
//! it builds it (about a minute on two cores) into the cargo target folder; later runs reuse
//! it while the Verilog and the harness are unchanged.

mod link;
#[allow(dead_code)]
mod verilator;

use bbcu_arch::device::{chw_to_hwc, hwc_to_chw};
use bbcu_arch::{compile, HwConfig};
use bbcu_hdl::board_sim::{BoardSim, RxByte, BYTE};
use bbcu_hdl::board_top::Link;
use bbcu_hdl::device::test_config;
use bbcu_hdl::generate::board_verilog;
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use link::*;
use verilator::{lint, out_dir};

/// The partial-frame timeout of the simulated board: 100 byte times.
const STALE: u32 = 100 * BYTE as u32;

/// Lint waivers of the board top-level: the engine's (`tests/engine_verilator.rs`), plus
/// UNUSEDPARAM for the protocol engine's state enums (rust-hdl declares an enum's names in
/// every register module holding one), each matched on its message.
fn lint_config() -> String {
    let mut c = String::from("`verilator_config\n");
    let mut off = |rule: &str, msg: &str| c += &format!("lint_off -rule {rule} -file \"*\" -match \"{msg}\"\n");
    off("UNUSEDPARAM", "*Parameter is not used: 'Phase$*");
    off("VARHIDDEN", "*hides declaration in upper scope: 'q'*");
    off("UNUSEDSIGNAL", "*Signal is not used: 'pe$*$done'*");
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'load_data'[63:32]*");
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'load_data'[63:16]*");
    // The control cores: the trace outputs; the protocol firmware's thread registers its
    // strobes from the instruction being fetched, the sequencer's takes them in the execute
    // cycle, so each leaves the other kind unused; and a block's own core (thread 0 alone)
    // beside the board's shared one leaves its thread 1's strobes unused.
    for sig in ["exec", "xth", "pwr$*", "prd$*", "out_next$*", "in_next$*"] {
        off("UNUSEDSIGNAL", &format!("*Signal is not used: 'core${sig}'*"));
    }
    // Constant bank 7 holds a threshold's 17th bit (bit 0).
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'cmem$7$read_data'[15:1]*");
    // The link's SPRAM buffers: only the send FIFO's `idle` has a user (`tx_idle`).
    off("UNUSEDSIGNAL", "*Signal is not used: 'rx$idle'*");
    off("UNUSEDSIGNAL", "*Signal is not used: 'rf$idle'*");
    // The result CRC's feed (result FIFO pops) is slower than it needs, so nothing waits on it.
    off("UNUSEDSIGNAL", "*Signal is not used: 'res32$busy'*");
    for e in ["Ps", "Ss", "Tk", "Is", "Rk", "Snd", "Cs", "RowPhase"] {
        off("UNUSEDPARAM", &format!("*Parameter is not used: '{e}$*"));
    }
    c
}

/// Every instance's board top-level, as the build flow will synthesise it (48 MHz, 3 Mbaud:
/// divisor 1; 200 ms partial-frame timeout).
#[test]
fn board_verilog_lints() {
    let vlt = out_dir().join("board.vlt");
    std::fs::write(&vlt, lint_config()).unwrap();
    for cfg in [test_config(), HwConfig::preset("ice40-up5k").unwrap(), HwConfig::preset("ecp5-85k").unwrap()] {
        let text = board_verilog(&cfg, 1, 9_600_000, true).unwrap();
        let path = out_dir().join(format!("board-{}.v", cfg.name));
        std::fs::write(&path, text).unwrap();
        lint(&path, std::slice::from_ref(&vlt));
    }
}

/// Two tests of a case, one for each protocol engine (`hand`: `Proto`; `firmware`: the
/// control core's firmware beside the link I/O block).
macro_rules! both_links {
    ($name:ident) => {
        mod $name {
            #[test]
            fn hand() {
                super::$name(bbcu_hdl::board_top::Link::Hand);
            }
            #[test]
            fn firmware() {
                super::$name(bbcu_hdl::board_top::Link::Firmware);
            }
        }
    };
}

/// One simulated board on a serial line, with the bytes received not yet parsed.
struct Board {
    sim: BoardSim,
    /// Bytes received and not yet parsed into frames, with their arrival cycles.
    buf: Vec<RxByte>,
    cycles: u64,
    led: u8,
}

impl Board {
    fn new(link: Link) -> Board {
        Board::on(&test_config(), link)
    }

    /// The board top-level of `cfg`'s engine instance.
    fn on(cfg: &HwConfig, link: Link) -> Board {
        let sim = BoardSim::with_link(cfg, link, STALE).unwrap_or_else(|e| panic!("{e}"));
        Board { sim, buf: Vec::new(), cycles: 0, led: 0 }
    }

    fn send_raw(&mut self, items: &[u16]) {
        self.sim.send_raw(items).unwrap();
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sim.send(bytes).unwrap();
    }

    /// Runs until `want` more bytes came back (and everything queued was sent) or `max`
    /// clocks passed.
    fn run(&mut self, max: u64, want: u32) {
        let got = self.sim.run(max, want).unwrap();
        self.cycles = self.sim.cycles;
        self.led = self.sim.led;
        for r in got {
            assert!(r.stop_ok, "the board sent a byte with a low stop bit");
            self.buf.push(r);
        }
    }

    /// Complete frames received so far, with the cycle of each frame's first and last byte.
    fn frames(&mut self) -> Vec<(Frame, u64, u64)> {
        let bytes: Vec<u8> = self.buf.iter().map(|r| r.byte).collect();
        let (frames, left) = parse(&bytes);
        let mut at = 0;
        let mut out = Vec::new();
        for f in frames {
            let n = 12 + f.payload.len();
            out.push((f, self.buf[at].at, self.buf[at + n - 1].at));
            at += n;
        }
        assert_eq!(at + left, self.buf.len());
        self.buf.drain(..at);
        out
    }

    /// Runs until `n` frames came back (at most `max` clocks), then `quiet` clocks more to
    /// catch any that should not have come.
    fn replies(&mut self, n: usize, max: u64, quiet: u64) -> Vec<Frame> {
        let mut got = Vec::new();
        let end = self.cycles + max;
        while got.len() < n && self.cycles < end {
            self.run(end - self.cycles, 1);
            got.extend(self.frames().into_iter().map(|f| f.0));
        }
        self.run(quiet, u32::MAX);
        got.extend(self.frames().into_iter().map(|f| f.0));
        got
    }

    fn request(&mut self, code: u8, seq: u8, payload: &[u8]) -> Frame {
        self.send(&frame(code, seq, payload));
        let mut r = self.replies(1, 200 * BYTE + 2 * 4096 * BYTE, 20 * BYTE);
        assert_eq!(r.len(), 1, "{r:?}");
        let f = r.pop().unwrap();
        assert_eq!(f.seq, seq, "{f:?}");
        f
    }
}

both_links!(hello_is_answered_on_the_wire);
fn hello_is_answered_on_the_wire(link: Link) {
    let mut b = Board::new(link);
    let r = b.request(HELLO, 1, &[]);
    assert_eq!(r.code, INFO);
    assert_eq!(r.u32(4), test_config().design_hash());
    assert_eq!(r.u8(16), 1);
    assert_eq!(b.led, 0, "no model, no line error");
}

both_links!(framing_errors_break_only_their_frame);
fn framing_errors_break_only_their_frame(link: Link) {
    let mut b = Board::new(link);
    // A framing error in a header: the byte is dropped (and, with bytes back to back, the
    // receiver may misframe a few more until the line idles), the header never matches, and
    // the host's next frame is answered at once, with no timeout to wait out.
    let f = frame(HELLO, 1, &[]);
    let mut items: Vec<u16> = f.iter().map(|&x| x as u16).collect();
    items[4] |= 0x100;
    b.send_raw(&items);
    b.run(20 * BYTE, u32::MAX);
    assert!(b.frames().is_empty());
    let t0 = b.cycles;
    b.send(&frame(HELLO, 2, &[]));
    b.run(STALE as u64, 1);
    assert!(b.cycles - t0 < STALE as u64, "the answer starts before the partial-frame timeout");
    let r = b.replies(1, 1000 * BYTE, 20 * BYTE);
    assert_eq!(r.iter().map(|f| (f.code, f.seq)).collect::<Vec<_>>(), vec![(INFO, 2)]);
    assert_eq!(b.led & 2, 2, "the framing error is shown");
    // In a frame's CRC: the frame is short by one byte and given up after the timeout.
    let f = frame(QUERY, 3, &[1, 0]);
    let mut items: Vec<u16> = f.iter().map(|&x| x as u16).collect();
    let n = items.len();
    items[n - 2] |= 0x100;
    b.send_raw(&items);
    b.run(STALE as u64 + 20 * BYTE, u32::MAX);
    assert!(b.frames().is_empty(), "a broken frame is not answered");
    assert_eq!(b.request(HELLO, 4, &[]).code, INFO);
}

both_links!(bad_crc_truncated_and_back_to_back_frames);
fn bad_crc_truncated_and_back_to_back_frames(link: Link) {
    let mut b = Board::new(link);
    let mut bad = frame(COMMIT, 5, &commit(0, 0));
    bad[9] ^= 0x40;
    b.send(&bad);
    let r = b.replies(1, 100 * BYTE, 20 * BYTE);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].code, r[0].seq, r[0].error().0), (ERROR, 5, 1));
    // Truncated: the rest never comes; after the timeout the board listens again.
    let f = frame(QUERY, 6, &[1, 0]);
    b.send(&f[..f.len() - 2]);
    b.run(STALE as u64 + 20 * BYTE, u32::MAX);
    assert!(b.frames().is_empty());
    // Back to back, no gap between frames on the line.
    let mut all = Vec::new();
    for (i, (code, p)) in
        [(HELLO, vec![]), (QUERY, vec![1, 0]), (COUNTERS, vec![]), (0x33, vec![]), (RESET, vec![1]), (HELLO, vec![])]
            .into_iter()
            .enumerate()
    {
        all.extend(frame(code, 10 + i as u8, &p));
    }
    b.send(&all);
    let r = b.replies(6, 2000 * BYTE, 50 * BYTE);
    let got: Vec<(u8, u8)> = r.iter().map(|f| (f.code, f.seq)).collect();
    assert_eq!(got, vec![(INFO, 10), (STATE, 11), (COUNTERS_REPLY, 12), (ERROR, 13), (RESET_DONE, 14), (INFO, 15)]);
}

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}

fn upload_model(b: &mut Board, bytes: &[u8], seq: &mut u8) {
    let chunk = 1024;
    b.send(&frame(BEGIN, *seq, &begin(0, 0, bytes.len() as u32, chunk as u16, CRC32.checksum(bytes), [0; 4])));
    for (i, c) in bytes.chunks(chunk).enumerate() {
        *seq = seq.wrapping_add(1);
        b.send(&frame(DATA, *seq, &data(0, 0, (i * chunk) as u32, c)));
    }
    *seq = seq.wrapping_add(1);
    let r = b.request(COMMIT, *seq, &commit(0, 0));
    assert_eq!(r.code, COMMITTED, "{r:?}");
    *seq = seq.wrapping_add(1);
}

/// What a strip cost on the wire.
struct StripRun {
    out: Vec<u8>,
    /// Cycles from the first RESULT_DATA byte to RESULT_END's last.
    stream_cycles: u64,
    /// Bytes of result data, and bytes of every frame sent meanwhile.
    data_bytes: u64,
    line_bytes: u64,
}

/// The host's side of a strip in the hardware profile: input in HWC order, at most two DATA
/// frames not yet acknowledged by a STATE reply (each DATA is followed by a QUERY), results
/// collected as they stream.
fn run_strip(b: &mut Board, id: u16, job: [u32; 4], hwc: &[u8], chunk: usize, seq: &mut u8) -> StripRun {
    let crc = CRC32.checksum(hwc);
    b.send(&frame(BEGIN, *seq, &begin(1, id, hwc.len() as u32, chunk as u16, crc, job)));
    let chunks: Vec<&[u8]> = hwc.chunks(chunk).collect();
    let (mut sent, mut acked, mut committed) = (0usize, 0usize, false);
    let mut out = Vec::new();
    let (mut first, mut last, mut line_bytes) = (None, 0u64, 0u64);
    let mut end = None;
    let limit = b.cycles + 200_000_000;
    while end.is_none() || !committed {
        while sent < chunks.len() && sent < acked + 2 {
            *seq = seq.wrapping_add(1);
            b.send(&frame(DATA, *seq, &data(1, id, (sent * chunk) as u32, chunks[sent])));
            *seq = seq.wrapping_add(1);
            b.send(&frame(QUERY, *seq, &id.to_le_bytes()));
            sent += 1;
        }
        if acked == chunks.len() && !committed {
            *seq = seq.wrapping_add(1);
            b.send(&frame(COMMIT, *seq, &commit(1, id)));
            committed = true;
        }
        b.run(2_000_000, 1);
        for (f, t0, t1) in b.frames() {
            if first.is_some() && end.is_none() {
                line_bytes += 12 + f.payload.len() as u64;
            }
            match f.code {
                STATE => {
                    assert_eq!(f.u16(0), id);
                    if f.u8(2) == 1 {
                        acked = acked.max(f.u32(3) as usize / chunk);
                    } else {
                        acked = chunks.len();
                    }
                }
                RESULT_DATA => {
                    assert_eq!((f.u16(0), f.u32(2) as usize), (id, out.len()), "result chunks in order");
                    if first.is_none() {
                        first = Some(t0);
                        line_bytes += 12 + f.payload.len() as u64;
                    }
                    out.extend_from_slice(&f.payload[6..]);
                    last = t1;
                }
                RESULT_END => {
                    assert_eq!((f.u16(0), f.u32(2) as usize), (id, out.len()));
                    assert_eq!(f.u32(6), CRC32.checksum(&out), "RESULT_END's CRC");
                    last = t1;
                    end = Some(());
                }
                COMMITTED => assert_eq!((f.u8(0), f.u16(1)), (1, id)),
                _ => panic!("unexpected {f:?}"),
            }
        }
        assert!(b.cycles < limit, "strip {id} did not finish");
    }
    let first = first.expect("no result data");
    StripRun { data_bytes: out.len() as u64, out, stream_cycles: last - first + BYTE, line_bytes }
}

/// Compiles a topology for the test engine with strips as wide as the image, and checks one
/// strip of the whole image against the golden model. Answers the strip's wire figures.
fn strip_against_golden(link: Link, t: Topology, h: usize, w: usize, seed: u64, chunk: usize) -> StripRun {
    strip_against_golden_on(&test_config(), link, t, h, w, seed, chunk)
}

/// As [`strip_against_golden`] on the board top-level of `cfg`'s engine instance.
fn strip_against_golden_on(
    cfg: &HwConfig,
    link: Link,
    t: Topology,
    h: usize,
    w: usize,
    seed: u64,
    chunk: usize,
) -> StripRun {
    let cfg = cfg.clone();
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    assert!(w <= c.width_cap, "one strip: {w} columns, cap {}", c.width_cap);
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);
    let mut b = Board::on(&cfg, link);
    let mut seq = 1;
    let t0 = std::time::Instant::now();
    upload_model(&mut b, &bytes, &mut seq);
    let r = b.request(HELLO, seq, &[]);
    assert_eq!((r.u32(8), r.u32(12)), (bytes.len() as u32, CRC32.checksum(&bytes)));
    assert_eq!(b.led & 1, 1, "model LED");
    seq += 1;
    let hwc = chw_to_hwc(&input.data, net.in_ch, h, w);
    let run = run_strip(&mut b, 1, [w as u32, h as u32, 0, w as u32], &hwc, chunk, &mut seq);
    let (r, oc) = (net.scale(), net.out_ch);
    let got = hwc_to_chw(&run.out, oc, h * r, w * r);
    let diff = want.data.iter().zip(&got).filter(|(a, b)| a != b).count();
    assert_eq!(got.len(), want.data.len());
    assert_eq!(diff, 0, "{diff} of {} bytes differ from the golden model", want.data.len());
    // The engine's counters after the strip: one strip, busy ops.
    seq = seq.wrapping_add(1);
    let k = b.request(COUNTERS, seq, &[]);
    assert_eq!(k.code, COUNTERS_REPLY);
    assert_eq!(k.u64(16), 1, "strips");
    assert!(k.u64(0) > 0, "total cycles");
    eprintln!(
        "{:?} ×{r} {h}×{w}: {} image bytes, {} input, {} result bytes; {} clocks simulated in {:.1} s",
        net.arch,
        bytes.len(),
        hwc.len(),
        run.out.len(),
        b.cycles,
        t0.elapsed().as_secs_f64()
    );
    run
}

both_links!(model_upload_and_a_strip_equal_the_golden_model);
fn model_upload_and_a_strip_equal_the_golden_model(link: Link) {
    strip_against_golden(link, Topology::bbcu_m(8, 1, 2), 4, 6, 3, 64);
}

/// The iCEBreaker's own board top-level (`BoardUp5k`: the one-output engine with its
/// sequencer firmware and its weight memory in pieces, the link firmware, one shared core),
/// which the other cases stand in for with the test engine and the flow otherwise only
/// synthesises: a 16-channel model's upload and a strip equal to the golden model.
#[test]
fn the_up5k_board_top_computes_a_strip_equal_to_the_golden_model() {
    let cfg = HwConfig::preset("ice40-up5k").unwrap();
    strip_against_golden_on(&cfg, Link::Firmware, Topology::bbcu_m(16, 1, 2), 4, 6, 9, 1024);
}

both_links!(result_streaming_throughput);
/// Result streaming's share of the baud-rate limit: result data bytes × one byte time over
/// the time from the first result byte to the last.
fn result_streaming_throughput(link: Link) {
    let run = strip_against_golden(link, Topology::bbcu_m(8, 1, 4), 8, 16, 5, 1024);
    let limit_bytes = run.stream_cycles as f64 / BYTE as f64;
    let data = run.data_bytes as f64 / limit_bytes;
    let line = run.line_bytes as f64 / limit_bytes;
    eprintln!(
        "result streaming: {} data bytes in {} clocks: {:.1} % of the baud-rate limit as data, line busy {:.1} %",
        run.data_bytes,
        run.stream_cycles,
        100.0 * data,
        100.0 * line
    );
    assert!(data >= 0.95, "result data at {:.1} % of the baud-rate limit", 100.0 * data);
}

both_links!(reset_mid_strip_then_a_strip_of_many_chunks);
/// A strip of many chunks (the engine takes pixels slower than the line brings them, so the
/// credit rule is what keeps the receive FIFO from overflowing), after a strip abandoned
/// half-way by RESET: the engine is run out on zeros, nothing of the old strip comes after
/// RESET_DONE, and the model stays.
fn reset_mid_strip_then_a_strip_of_many_chunks(link: Link) {
    let cfg: HwConfig = test_config();
    let t = Topology::denoise(8, 3);
    let net = t.build(11);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let (h, w, chunk) = (12, 30, 128);
    assert!(w <= c.width_cap);
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, 12);
    let hwc = chw_to_hwc(&input.data, net.in_ch, h, w);
    assert!(hwc.len() > 6 * chunk);
    let mut b = Board::new(link);
    let mut seq = 1;
    upload_model(&mut b, &bytes, &mut seq);

    let job = [w as u32, h as u32, 0, w as u32];
    b.send(&frame(BEGIN, seq, &begin(1, 7, hwc.len() as u32, chunk as u16, CRC32.checksum(&hwc), job)));
    seq += 1;
    b.send(&frame(DATA, seq, &data(1, 7, 0, &hwc[..chunk])));
    seq += 1;
    let r = b.request(QUERY, seq, &7u16.to_le_bytes());
    assert_eq!((r.code, r.u8(2), r.u32(3)), (STATE, 1, chunk as u32), "receiving, one chunk taken");
    seq += 1;
    b.send(&frame(RESET, seq, &[1]));
    let mut r = Vec::new();
    while !r.iter().any(|f: &Frame| f.code == RESET_DONE) {
        let more = b.replies(1, 20_000_000, 0);
        assert!(!more.is_empty(), "no RESET_DONE");
        r.extend(more);
    }
    assert_eq!(r.last().map(|f| (f.code, f.seq)), Some((RESET_DONE, seq)), "{r:?}");
    assert!(r[..r.len() - 1].iter().all(|f| f.code == RESULT_DATA), "{r:?}");
    b.run(200 * BYTE, u32::MAX);
    assert!(b.frames().is_empty(), "nothing of the old strip after RESET_DONE");
    seq += 1;
    let r = b.request(HELLO, seq, &[]);
    assert_eq!(r.u32(8), bytes.len() as u32, "the model stays");

    seq += 1;
    let run = run_strip(&mut b, 8, job, &hwc, chunk, &mut seq);
    let want = forward(&q, &input);
    let got = hwc_to_chw(&run.out, net.out_ch, h, w);
    assert!(got == want.data, "strip after RESET differs from the golden model");
    b.run(50 * BYTE, u32::MAX);
    assert_eq!(b.led & 2, 0, "no framing error or receive overflow");
}
