//! Programming a board: the board file names the programmer (`iceprog` for the iCE40 boards,
//! `openFPGALoader` for the ULX3S) and its arguments; this runs it and turns its failures into
//! one-line errors — above all "no board attached", which is what a user sees first.

use crate::board::Board;
use std::path::Path;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error("{0}: no such bitstream (build it with `bbcu-host build --board {1}`)")]
    NoBitstream(String, String),
    #[error("{tool} not found ({install})")]
    ToolMissing { tool: String, install: String },
    #[error(
        "no {board} board found: {tool} says \"{message}\" (is it plugged in, and may this user open its USB device?)"
    )]
    NoBoard { board: String, tool: String, message: String },
    #[error("{tool} failed ({status}): {message}")]
    Failed { tool: String, status: String, message: String },
}

/// What the programmer printed when no device answered (iceprog, openFPGALoader).
const NO_DEVICE: [&str; 5] = [
    "Can't find iCE FTDI USB device",
    "unable to open ftdi device",
    "No cable",
    "fails to open device",
    "no device found",
];

/// Writes `bitstream` to `board`'s configuration flash, or with `sram` only into the FPGA
/// (lost at power-off). Returns the programmer's last line of output.
pub fn program(board: &Board, bitstream: &Path, sram: bool) -> Result<String, FlashError> {
    if !bitstream.is_file() {
        return Err(FlashError::NoBitstream(bitstream.display().to_string(), board.name.clone()));
    }
    let f = &board.flash;
    let args = if sram { &f.sram_args } else { &f.flash_args };
    let out = Command::new(&f.tool).args(args).arg(bitstream).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FlashError::ToolMissing { tool: f.tool.clone(), install: f.install.clone() },
        _ => FlashError::Failed { tool: f.tool.clone(), status: "did not start".into(), message: e.to_string() },
    })?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let last = |t: &str| t.lines().map(str::trim).rfind(|l| !l.is_empty() && *l != "ABORT.").unwrap_or("").to_string();
    if out.status.success() {
        return Ok(last(&text));
    }
    if let Some(line) = text.lines().find(|l| NO_DEVICE.iter().any(|m| l.to_lowercase().contains(&m.to_lowercase()))) {
        return Err(FlashError::NoBoard {
            board: board.name.clone(),
            tool: f.tool.clone(),
            message: line.trim().into(),
        });
    }
    Err(FlashError::Failed { tool: f.tool.clone(), status: out.status.to_string(), message: last(&text) })
}
