//! Programming without a board: the errors a user sees. `iceprog` comes with fpga-icestorm
//! (scripts/test.sh installs it); this machine has no FTDI device attached.

use bbcu_boards::board::Board;
use bbcu_boards::flash::{program, FlashError};

#[test]
fn no_board_attached_is_one_clear_error() {
    let board = Board::find("ice40").unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = dir.join("flash-test.bin");
    std::fs::write(&bin, [0u8; 64]).unwrap();
    for sram in [false, true] {
        let e = program(&board, &bin, sram).unwrap_err();
        assert!(matches!(e, FlashError::NoBoard { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "no icebreaker board found: iceprog says \"Can't find iCE FTDI USB device (vendor_id 0x0403, device_id \
             0x6010 or 0x6014).\" (is it plugged in, and may this user open its USB device?)"
        );
    }
}

#[test]
fn a_missing_bitstream_or_programmer_is_named() {
    let board = Board::find("ice40").unwrap();
    let e = program(&board, std::path::Path::new("/nonexistent/top.bin"), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/nonexistent/top.bin: no such bitstream (build it with `bbcu-host build --board icebreaker`)"
    );
    let mut b = Board::find("ecp5").unwrap();
    b.flash.tool = "openFPGALoader-that-is-not-installed".into();
    let f = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flash-test.bit");
    std::fs::write(&f, [0u8; 8]).unwrap();
    let e = program(&b, &f, true).unwrap_err();
    assert_eq!(e.to_string(), "openFPGALoader-that-is-not-installed not found (apt-get install openfpgaloader)");
}

#[test]
fn no_ulx3s_attached_is_one_clear_error() {
    let board = Board::find("ecp5").unwrap();
    let f = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flash-test-ulx3s.bit");
    std::fs::write(&f, [0u8; 8]).unwrap();
    let e = program(&board, &f, true).unwrap_err();
    assert!(matches!(e, FlashError::NoBoard { .. }), "{e}");
    assert!(e.to_string().starts_with("no ulx3s board found: openFPGALoader says \"unable to open ftdi device"), "{e}");
}
