//! The byte-level cases every device side of the link protocol's hardware profile must pass:
//! the hand-built protocol engine under rust-hdl (`tests/proto.rs`) and the same protocol as
//! control-core firmware on its model (`tests/linkfw.rs`) run these same functions.

use super::*;
use bbcu_arch::{compile, DesignInfo, HwConfig};
use bbcu_hdl::device::test_config;
use bbcu_sim::fixed::FixedNetwork;
use bbcu_sim::synth::Topology;

/// A device under test, spoken to at byte level.
pub trait LinkDut {
    /// Bytes onto the line towards the device.
    fn send(&mut self, bytes: &[u8]);
    /// Runs until the input is consumed and nothing has been sent for `quiet` cycles; the
    /// frames sent meanwhile.
    fn replies(&mut self, quiet: u64) -> Vec<Frame>;
    /// Cycles of silence after which no more replies come.
    fn quiet(&self) -> u64;
    /// Longer than the device's partial-frame timeout.
    fn stale_wait(&self) -> u64;
    /// Every load-port write so far: memory, address, word.
    fn loads(&self) -> Vec<(u8, u32, u64)>;
    /// Every strip start so far: width, height, keep_x0, keep_w.
    fn starts(&self) -> Vec<[u64; 4]>;
    /// What the engine's error output says.
    fn set_eng_error(&mut self, on: bool);
    /// INFO carries the design's JSON (the hand-built engine; the firmware leaves it to the
    /// host, docs/protocol.md).
    fn design_json(&self) -> bool;
    fn cycles(&self) -> u64;
}

pub fn one(mut f: Vec<Frame>) -> Frame {
    assert_eq!(f.len(), 1, "expected one reply, got {f:?}");
    f.pop().unwrap()
}

pub fn hello_answers_info_with_the_design<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let mut d = mk(&cfg);
    d.send(&frame(HELLO, 7, &[]));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.code, r.seq), (INFO, 7));
    let info = DesignInfo::of(&cfg);
    assert_eq!(r.u32(0), info.format_version);
    assert_eq!(r.u32(4), info.hash);
    assert_eq!((r.u32(8), r.u32(12)), (0, 0), "no model yet");
    assert_eq!(r.u8(16), 1, "one slot: the hardware profile");
    let n = r.u8(17) as usize;
    assert_eq!(std::str::from_utf8(&r.payload[18..18 + n]).unwrap(), "bbcu sim-test (hardware)");
    if d.design_json() {
        let design: DesignInfo = serde_json::from_slice(&r.payload[18 + n..]).unwrap();
        assert_eq!(design, info);
    } else {
        assert_eq!(r.payload.len(), 18 + n, "nothing after the name");
    }
}

pub fn bad_crc_is_answered_and_the_next_frame_is_found<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let mut d = mk(&test_config());
    let mut bad = frame(QUERY, 3, &[5, 0]);
    bad[9] ^= 0x10;
    d.send(&bad);
    d.send(&frame(HELLO, 4, &[]));
    let r = d.replies(d.quiet());
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!((r[0].code, r[0].seq), (ERROR, 3));
    assert_eq!(r[0].error(), (1, "frame CRC mismatch".to_string()));
    assert_eq!((r[1].code, r[1].seq), (INFO, 4));
}

pub fn bad_header_and_garbage_are_skipped_byte_by_byte<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let mut d = mk(&test_config());
    let mut bad_hdr = frame(HELLO, 1, &[]);
    bad_hdr[7] ^= 1;
    // Garbage with sync bytes in it, a header whose CRC-8 fails, a frame of another version,
    // then a good frame right behind the broken header's first bytes.
    d.send(&[0x00, 0xBB, 0xBB, 0xC5, 0x02, 0xC5, 0xBB]);
    d.send(&bad_hdr[..8]);
    let mut v2 = frame(HELLO, 2, &[]);
    v2[2] = 2;
    d.send(&v2);
    d.send(&frame(HELLO, 3, &[]));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.code, r.seq), (INFO, 3));
}

pub fn truncated_frame_is_given_up_after_the_timeout<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let mut d = mk(&test_config());
    let f = frame(DATA, 9, &data(0, 0, 0, &[1, 2, 3, 4]));
    d.send(&f[..f.len() - 3]);
    assert!(d.replies(d.stale_wait()).is_empty(), "a truncated frame is not answered");
    d.send(&frame(HELLO, 10, &[]));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.code, r.seq), (INFO, 10));
}

pub fn back_to_back_frames_are_answered_in_order<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let mut d = mk(&test_config());
    let mut all = Vec::new();
    all.extend(frame(HELLO, 1, &[]));
    all.extend(frame(QUERY, 2, &[9, 0]));
    all.extend(frame(0x42, 3, &[]));
    all.extend(frame(HELLO, 4, &[1]));
    all.extend(frame(COMMIT, 5, &commit(1, 9)));
    all.extend(frame(FETCH, 6, &[9, 0, 0, 0, 0, 0, 16, 0, 0, 0]));
    all.extend(frame(RESET, 7, &[0]));
    all.extend(frame(COUNTERS, 8, &[]));
    d.send(&all);
    let r = d.replies(d.quiet());
    let got: Vec<(u8, u8)> = r.iter().map(|f| (f.code, f.seq)).collect();
    assert_eq!(
        got,
        vec![
            (INFO, 1),
            (STATE, 2),
            (ERROR, 3),
            (ERROR, 4),
            (ERROR, 5),
            (ERROR, 6),
            (RESET_DONE, 7),
            (COUNTERS_REPLY, 8)
        ]
    );
    assert_eq!((r[1].u16(0), r[1].u8(2)), (9, 0), "an unknown strip's state is unknown");
    assert_eq!(r[2].error().0, 2, "unknown command");
    assert_eq!(r[3].error().0, 3, "HELLO with a payload is a bad request");
    assert_eq!(r[4].error(), (4, "no model loaded".to_string()));
    assert_eq!(r[5].error(), (8, "results not kept: run again".to_string()));
    // COUNTERS: total, stall, strips, n = 0 ops (no model).
    assert_eq!(r[7].payload.len(), 26);
    assert_eq!(r[7].u16(24), 0);
}

pub fn small_model(cfg: &HwConfig) -> (Vec<u8>, bbcu_arch::image::ModelImage) {
    let net = Topology::deblock(8, 3).build(2);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, cfg).unwrap_or_else(|e| panic!("{e}"));
    (c.image.to_bytes(cfg), c.image)
}

/// The image's words as the load port should write them: memory, address, word.
pub fn image_words(img: &bbcu_arch::image::ModelImage) -> Vec<(u8, u32, u64)> {
    img.sections
        .iter()
        .flat_map(|s| s.words.iter().enumerate().map(move |(i, w)| (s.mem as u8, (s.addr + i) as u32, *w)))
        .collect()
}

pub fn upload<D: LinkDut>(d: &mut D, image: &[u8], chunk: usize, seq: &mut u8) -> Frame {
    let crc = CRC32.checksum(image);
    d.send(&frame(BEGIN, *seq, &begin(0, 0, image.len() as u32, chunk as u16, crc, [0; 4])));
    for (i, c) in image.chunks(chunk).enumerate() {
        *seq = seq.wrapping_add(1);
        d.send(&frame(DATA, *seq, &data(0, 0, (i * chunk) as u32, c)));
    }
    *seq = seq.wrapping_add(1);
    d.send(&frame(COMMIT, *seq, &commit(0, 0)));
    one(d.replies(d.quiet()))
}

pub fn model_upload_writes_every_word_and_commits<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    // The first chunk is a whole 1,024 bytes: it fills a frame buffer of that size exactly.
    assert!(bytes.len() > 1024, "an image of {} bytes is less than a chunk", bytes.len());
    let mut d = mk(&cfg);
    let mut seq = 1;
    let r = upload(&mut d, &bytes, 1024, &mut seq);
    assert_eq!((r.code, r.seq), (COMMITTED, seq), "{r:?}");
    let want = image_words(&img);
    assert_eq!(d.loads().len(), want.len());
    assert!(d.loads() == want, "load port writes differ from the image's words");
    eprintln!("{} image bytes, {} words, {} cycles", bytes.len(), want.len(), d.cycles());
    // HELLO now reports the model; COUNTERS has one pair per op.
    d.send(&frame(HELLO, 100, &[]));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.u32(8), r.u32(12)), (bytes.len() as u32, CRC32.checksum(&bytes)));
    d.send(&frame(COUNTERS, 101, &[]));
    let r = one(d.replies(d.quiet()));
    let n = img.program(cfg.memory.program_words).unwrap().ops.len();
    assert_eq!((r.u16(24) as usize, r.payload.len()), (n, 26 + 16 * n));
    // RESET keep_model=0 forgets it.
    d.send(&frame(RESET, 102, &[0]));
    assert_eq!(one(d.replies(d.quiet())).code, RESET_DONE);
    d.send(&frame(HELLO, 103, &[]));
    assert_eq!(one(d.replies(d.quiet())).u32(8), 0);
}

pub fn model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let chunk = 256;
    assert!(bytes.len() > 3 * chunk);
    let crc = CRC32.checksum(&bytes);
    let mut d = mk(&cfg);
    d.send(&frame(BEGIN, 1, &begin(0, 0, bytes.len() as u32, chunk as u16, crc, [0; 4])));
    d.send(&frame(DATA, 2, &data(0, 0, 0, &bytes[..chunk])));
    // Out of order: dropped.
    d.send(&frame(DATA, 3, &data(0, 0, 2 * chunk as u32, &bytes[2 * chunk..3 * chunk])));
    d.send(&frame(COMMIT, 4, &commit(0, 0)));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.code, r.seq, r.u8(3)), (MISSING, 4, 1));
    assert_eq!((r.u32(4), r.u32(8)), (chunk as u32, (bytes.len() - chunk) as u32));
    // No model while the upload is in progress.
    d.send(&frame(BEGIN, 5, &begin(1, 1, 3, 16, 0, [1, 1, 0, 1])));
    assert_eq!(one(d.replies(d.quiet())).error().0, 4);
    // A repeated BEGIN keeps what arrived; the rest completes the upload.
    d.send(&frame(BEGIN, 6, &begin(0, 0, bytes.len() as u32, chunk as u16, crc, [0; 4])));
    for (i, c) in bytes.chunks(chunk).enumerate().skip(1) {
        d.send(&frame(DATA, 7, &data(0, 0, (i * chunk) as u32, c)));
    }
    d.send(&frame(COMMIT, 8, &commit(0, 0)));
    assert_eq!(one(d.replies(d.quiet())).code, COMMITTED);
}

pub fn refused_images_leave_no_model<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "magic",
            {
                let mut b = bytes.clone();
                b[0] = b'X';
                b
            },
            "not a bbcu model image",
        ),
        (
            "hash",
            {
                let mut b = bytes.clone();
                b[8] ^= 1;
                b
            },
            "image is for another design",
        ),
        (
            "body",
            {
                let mut b = bytes.clone();
                let n = b.len();
                b[n - 10] ^= 1;
                b
            },
            "model image CRC mismatch",
        ),
        (
            "short",
            {
                let mut b = bytes.clone();
                let n = b.len();
                b.drain(n - 8..n - 4);
                b
            },
            "model image ends early",
        ),
    ];
    for (what, img, msg) in cases {
        let mut d = mk(&cfg);
        let mut seq = 1;
        let r = upload(&mut d, &img, 512, &mut seq);
        assert_eq!(r.error(), (5, msg.to_string()), "{what}");
        d.send(&frame(HELLO, 50, &[]));
        assert_eq!(one(d.replies(d.quiet())).u32(8), 0, "{what}: no model after a refused image");
        d.send(&frame(BEGIN, 51, &begin(1, 1, 3, 16, 0, [1, 1, 0, 1])));
        assert_eq!(one(d.replies(d.quiet())).error().0, 4, "{what}: a strip finds no model");
    }
}

pub fn whole_upload_crc_mismatch_asks_for_everything_again<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let mut d = mk(&cfg);
    let crc = CRC32.checksum(&bytes) ^ 1;
    d.send(&frame(BEGIN, 1, &begin(0, 0, bytes.len() as u32, 1024, crc, [0; 4])));
    for (i, c) in bytes.chunks(1024).enumerate() {
        d.send(&frame(DATA, 2, &data(0, 0, (i * 1024) as u32, c)));
    }
    d.send(&frame(COMMIT, 3, &commit(0, 0)));
    let r = one(d.replies(d.quiet()));
    assert_eq!((r.code, r.u32(4), r.u32(8)), (MISSING, 0, bytes.len() as u32));
}

/// Strips are checked before the engine starts (as `StripJob::check`), and a program the
/// engine refuses at the start fails the strip without hanging the board.
pub fn strip_jobs_are_checked_and_an_engine_error_fails_the_strip<D: LinkDut>(mk: impl Fn(&HwConfig) -> D) {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let mut d = mk(&cfg);
    let mut seq = 1;
    assert_eq!(upload(&mut d, &bytes, 1024, &mut seq).code, COMMITTED);
    let (w, hh) = (h.width_cap as u32, 3u32);
    let total = h.in_ch as u32 * w * hh;
    let bad: Vec<([u32; 4], u32, u8)> = vec![
        ([w + 1, hh, 0, 1], h.in_ch as u32 * (w + 1) * hh, 6),
        ([w, 0, 0, 1], 0, 6),
        ([w, hh, 1, w], total, 6),
        ([w, hh, 0, 0], total, 6),
        ([w, hh, 0, w], total + 1, 6),
        ([w, 65536, 0, w], h.in_ch as u32 * w * 65536, 6),
    ];
    for (job, total, kind) in bad {
        d.send(&frame(BEGIN, 2, &begin(1, 1, total, 64, 0, job)));
        assert_eq!(one(d.replies(d.quiet())).error().0, kind, "{job:?} with {total} bytes");
    }
    d.send(&frame(BEGIN, 3, &begin(1, 1, total, 2048, 0, [w, hh, 0, w])));
    assert_eq!(one(d.replies(d.quiet())).error().0, 3, "chunk above 1024");
    assert!(d.starts().is_empty(), "no refused job reached the engine");

    // A good job starts the engine once; the engine then reports no valid program.
    let input = vec![7u8; total as usize];
    d.send(&frame(BEGIN, 4, &begin(1, 5, total, 64, CRC32.checksum(&input), [w, hh, 0, w])));
    assert!(d.replies(d.quiet()).is_empty());
    assert_eq!(d.starts(), vec![[w as u64, hh as u64, 0, w as u64]]);
    d.set_eng_error(true);
    d.send(&frame(DATA, 5, &data(1, 5, 0, &input[..64])));
    d.send(&frame(COMMIT, 6, &commit(1, 5)));
    d.send(&frame(QUERY, 7, &5u16.to_le_bytes()));
    let r = d.replies(d.quiet());
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].error(), (9, "engine found no valid program".to_string()));
    assert_eq!((r[1].code, r[1].u8(2)), (STATE, 6), "failed");
    // The board is free again: the next strip is not refused as busy.
    d.set_eng_error(false);
    d.send(&frame(BEGIN, 8, &begin(1, 6, total, 64, 0, [w, hh, 0, w])));
    assert!(d.replies(d.quiet()).is_empty());
    assert_eq!(d.starts().len(), 2);
}

/// One `#[test]` per case above, for a device built by `$mk` (`fn(&HwConfig) -> impl LinkDut`).
#[macro_export]
macro_rules! link_cases {
    ($mk:expr) => {
        #[test]
        fn hello_answers_info_with_the_design() {
            $crate::link::cases::hello_answers_info_with_the_design($mk);
        }
        #[test]
        fn bad_crc_is_answered_and_the_next_frame_is_found() {
            $crate::link::cases::bad_crc_is_answered_and_the_next_frame_is_found($mk);
        }
        #[test]
        fn bad_header_and_garbage_are_skipped_byte_by_byte() {
            $crate::link::cases::bad_header_and_garbage_are_skipped_byte_by_byte($mk);
        }
        #[test]
        fn truncated_frame_is_given_up_after_the_timeout() {
            $crate::link::cases::truncated_frame_is_given_up_after_the_timeout($mk);
        }
        #[test]
        fn back_to_back_frames_are_answered_in_order() {
            $crate::link::cases::back_to_back_frames_are_answered_in_order($mk);
        }
        #[test]
        fn model_upload_writes_every_word_and_commits() {
            $crate::link::cases::model_upload_writes_every_word_and_commits($mk);
        }
        #[test]
        fn model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing() {
            $crate::link::cases::model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing($mk);
        }
        #[test]
        fn refused_images_leave_no_model() {
            $crate::link::cases::refused_images_leave_no_model($mk);
        }
        #[test]
        fn whole_upload_crc_mismatch_asks_for_everything_again() {
            $crate::link::cases::whole_upload_crc_mismatch_asks_for_everything_again($mk);
        }
        #[test]
        fn strip_jobs_are_checked_and_an_engine_error_fails_the_strip() {
            $crate::link::cases::strip_jobs_are_checked_and_an_engine_error_fails_the_strip($mk);
        }
    };
}
