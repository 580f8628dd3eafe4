//! `bbcu-host flash` without a board: every failure is one line and a non-zero exit.

use std::process::Command;

fn flash(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bbcu-host")).arg("flash").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).trim().to_string())
}

#[test]
fn flash_errors_are_one_line() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = dir.join("cli-flash.bin");
    std::fs::write(&bin, [0u8; 16]).unwrap();
    let (rc, err) = flash(&["--board", "ice40", "--bitstream", bin.to_str().unwrap(), "--sram"]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("error: no icebreaker board found: iceprog says \"Can't find iCE FTDI USB device"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (rc, err) = flash(&["--board", "ice40", "--bitstream", "/nonexistent.bin"]);
    assert_eq!(
        (rc, err.as_str()),
        (1, "error: /nonexistent.bin: no such bitstream (build it with `bbcu-host build --board icebreaker`)")
    );
    let (rc, err) = flash(&["--board", "de10"]);
    assert_eq!((rc, err.as_str()), (1, "error: unknown board 'de10' (known: ice40-hx8k, icebreaker, ulx3s)"));
}
