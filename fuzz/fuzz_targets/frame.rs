//! Any byte stream, fed in any split, must give frames or corruption events from the parser
//! and messages or errors from the decoder: never a panic, a hang or an unbounded buffer.
//! Every frame the parser returns must re-encode to bytes that were in the stream.
#![no_main]

use bbcu_host::protocol::{Msg, Parser, MAX_FRAME, MAX_PAYLOAD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how the stream is cut into reads.
    let Some((&cut, stream)) = data.split_first() else { return };
    let step = 1 + cut as usize % 64;
    let mut p = Parser::new();
    let mut fed = 0;
    for piece in stream.chunks(step) {
        p.push(piece);
        fed += piece.len();
        while let Some(r) = p.next_frame() {
            if let Ok(f) = r {
                let bytes = f.encode();
                assert!(stream[..fed].windows(bytes.len()).any(|w| w == bytes), "invented a frame");
                // (A re-serialised design description may be longer than the one received.)
                if let Some(m) = Msg::decode(&f).ok().filter(|m| m.payload().len() <= MAX_PAYLOAD) {
                    // A decoded message encodes to a frame that decodes to the same message.
                    let again = m.frame(f.seq);
                    let mut q = Parser::new();
                    q.push(&again);
                    let g = q.next_frame().unwrap().unwrap();
                    assert_eq!(Msg::decode(&g).unwrap(), m);
                }
            }
        }
        // Nothing short of a whole frame is held.
        assert!(p.pending() < MAX_FRAME, "parser holds {} bytes", p.pending());
    }
    while p.stale() {
        while p.next_frame().is_some() {}
    }
    assert_eq!(p.pending(), 0);
});
