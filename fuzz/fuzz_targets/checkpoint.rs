//! Any byte string given to the checkpoint reader must give a network or an error, never a
//! panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(ck) = bbcu_host::checkpoint::read_zip(std::io::Cursor::new(data)) {
        let _ = bbcu_host::checkpoint::network_from_state_dict(Path::new("fuzz"), ck.tensors, 130.0);
    }
});
