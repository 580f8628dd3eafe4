//! PCIe through the Xilinx XDMA driver's character devices (`dma_ip_drivers`, `xdma.ko`):
//! for `--port /dev/xdma0` the host writes frames to `/dev/xdma0_h2c_0` (host to card) and
//! reads from `/dev/xdma0_c2h_0` (card to host), with the DMA engines in AXI4-Stream mode.
//!
//! **Untested on hardware.** What it assumes of the driver: a `write` on an H2C stream
//! device sends its bytes as one stream transfer and returns when they are sent; a `read` on a
//! C2H stream device blocks until the card ends a packet (TLAST) or the buffer is full, so the
//! design should end a packet after each frame it sends. Both are blocking calls without a
//! poll timeout, so reads run on a thread of their own and the protocol sees a [`Rx`] that
//! reports a quiet line like every other link.
//!
//! The test suite runs this code against an emulated endpoint: two named pipes with those
//! names, the board end served by `bbcu-host board serve --xdma PREFIX`.

use super::{Link, Rx, Tx, POLL};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};

/// The H2C and C2H stream devices of channel 0 of an XDMA device (`/dev/xdma0`).
pub fn channels(dev: &Path) -> (PathBuf, PathBuf) {
    let s = dev.as_os_str().to_string_lossy();
    (PathBuf::from(format!("{s}_h2c_0")), PathBuf::from(format!("{s}_c2h_0")))
}

/// Whether `--port` names an XDMA device: its channel devices exist, or it is spelt like
/// one (`/dev/xdma0`), so that a missing driver gets an XDMA message, not a serial one.
pub fn is_xdma(port: &Path) -> bool {
    let (h2c, c2h) = channels(port);
    if h2c.exists() || c2h.exists() {
        return true;
    }
    let name = port.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.strip_prefix("xdma").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Reads on a thread of their own (the devices have no read timeout); `recv` waits at most
/// [`POLL`].
struct ThreadRx {
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
}

impl ThreadRx {
    fn spawn(mut f: File, name: String) -> ThreadRx {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("read {name}"))
            .spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let r = match f.read(&mut buf) {
                        Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                        Ok(n) => Ok(buf[..n].to_vec()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let end = r.is_err();
                    if tx.send(r).is_err() || end {
                        return;
                    }
                }
            })
            .expect("a reader thread");
        ThreadRx { rx, pending: Vec::new() }
    }
}

impl Rx for ThreadRx {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.rx.recv_timeout(POLL) {
                Ok(Ok(v)) => self.pending = v,
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => return Ok(0),
                Err(RecvTimeoutError::Disconnected) => return Err(io::ErrorKind::BrokenPipe.into()),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

struct FileTx(File);

impl Tx for FileTx {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
}

/// Opens without blocking (a named pipe with nobody at the other end would block `open`
/// forever), then makes the file blocking again for the transfers.
fn open_nonblocking(path: &Path, write: bool) -> io::Result<File> {
    let f = OpenOptions::new().read(!write).write(write).custom_flags(libc::O_NONBLOCK).open(path)?;
    // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
    unsafe {
        let fd = f.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(f)
}

/// The host's link to an XDMA device, with one-line errors for the usual mistakes.
pub fn open(dev: &Path) -> Result<Link, String> {
    let name = dev.display().to_string();
    let (h2c, c2h) = channels(dev);
    for p in [&h2c, &c2h] {
        if !p.exists() {
            return Err(format!(
                "{name}: no XDMA device ({} is missing: is the xdma driver loaded and the board's bitstream built with PCIe?)",
                p.display()
            ));
        }
    }
    let what = |p: &Path, e: io::Error| match e.raw_os_error() {
        // A named pipe that nobody reads: the emulated endpoint is not being served.
        Some(libc::ENXIO) => format!("{name}: nobody serves {} (no board behind the device)", p.display()),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("{name}: permission denied on {} (run as root or add a udev rule)", p.display())
        }
        Some(libc::EBUSY) => format!("{name}: {} is busy (another program has it open)", p.display()),
        _ => format!("{name}: cannot open {} ({e})", p.display()),
    };
    let tx = open_nonblocking(&h2c, true).map_err(|e| what(&h2c, e))?;
    let rx = open_nonblocking(&c2h, false).map_err(|e| what(&c2h, e))?;
    Ok(Link {
        rx: Box::new(ThreadRx::spawn(rx, c2h.display().to_string())),
        tx: Box::new(FileTx(tx)),
        name: format!("{name} (XDMA)"),
    })
}

/// Named pipes an emulated endpoint made, removed when this is dropped.
pub struct Made(Vec<PathBuf>);

impl Drop for Made {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The card's end of an emulated XDMA device: named pipes `PREFIX_h2c_0` and `PREFIX_c2h_0`
/// (made when missing), read and written the other way round. Both are opened read-write so
/// that opening never waits for the host and a host that closes its ends does not end the
/// board's: the next host finds it still serving, as with a card.
pub fn endpoint(prefix: &Path) -> io::Result<(Link, Made)> {
    let (h2c, c2h) = channels(prefix);
    let mut made = Made(Vec::new());
    for p in [&h2c, &c2h] {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_fifo() => {}
            Ok(_) => return Err(io::Error::other(format!("{} exists and is not a named pipe", p.display()))),
            Err(_) => {
                let c = std::ffi::CString::new(p.as_os_str().to_string_lossy().into_owned())
                    .map_err(|_| io::Error::other(format!("{}: a path with a NUL byte", p.display())))?;
                // SAFETY: a valid NUL-terminated path.
                if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                    let e = io::Error::last_os_error();
                    return Err(io::Error::other(format!("{}: cannot make a named pipe ({e})", p.display())));
                }
                made.0.push(p.clone());
            }
        }
    }
    let rw = |p: &Path| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .map_err(|e| io::Error::other(format!("{}: cannot open ({e})", p.display())))
    };
    let rx = rw(&h2c)?;
    let tx = rw(&c2h)?;
    let link = Link {
        rx: Box::new(ThreadRx::spawn(rx, h2c.display().to_string())),
        tx: Box::new(FileTx(tx)),
        name: format!("emulated XDMA endpoint {}", prefix.display()),
    };
    Ok((link, made))
}
