//! Serial ports (a board's UART, or a pseudo-terminal standing in for one) through the
//! `serialport` crate, built without libudev.

use super::{Link, Rx, Tx, POLL};
use serialport::{SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct PortRx(TTYPort);
struct PortTx(TTYPort);

impl Rx for PortRx {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }
}

impl Tx for PortTx {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
}

/// A link over an open port: one handle reads, a clone writes.
pub fn from_port(port: TTYPort, name: String) -> io::Result<Link> {
    let mut rx = port;
    rx.set_timeout(POLL).map_err(io::Error::from)?;
    let mut tx = rx.try_clone_native().map_err(io::Error::from)?;
    close_on_exec(&rx)?;
    close_on_exec(&tx)?;
    // A full output buffer (nobody reading at the other end) must not hang the sender forever.
    tx.set_timeout(Duration::from_secs(10)).map_err(io::Error::from)?;
    Ok(Link { rx: Box::new(PortRx(rx)), tx: Box::new(PortTx(tx)), name })
}

/// Opens a serial port for the host, with one-line errors for the usual mistakes.
pub fn open(path: &Path, baud: u32) -> Result<Link, String> {
    let name = path.display().to_string();
    if !path.exists() {
        return Err(format!("{name}: no such port"));
    }
    let port = serialport::new(name.as_str(), baud).timeout(POLL).open_native().map_err(|e| {
        match e.kind() {
            // serialport reports both a TIOCEXCL refusal and a held lock as NoDevice.
            serialport::ErrorKind::NoDevice => format!("{name}: port busy (another program has it open)"),
            serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                format!("{name}: permission denied (is the user in the dialout group?)")
            }
            serialport::ErrorKind::InvalidInput => format!("{name}: {} (baud {baud}?)", e.description),
            _ => format!("{name}: cannot open the port ({})", e.description),
        }
    })?;
    from_port(port, name.clone()).map_err(|e| format!("{name}: {e}"))
}

/// Whether `path` (or what it links to) is a pseudo-terminal, which ignores baud rates.
pub fn is_pty(path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p.starts_with("/dev/pts"))
}

/// The board end of a pseudo-terminal: the program under test opens [`Pty::path`] as if it
/// were a board's serial port.
pub struct Pty {
    pub link: Link,
    pub path: PathBuf,
    /// The terminal side stays open here as well, so that the board end never sees a hang-up
    /// between two host sessions (see `fpga-notes.md` §5) and keeps what the host sent.
    _keep: TTYPort,
}

/// A pseudo-terminal pair whose descriptors are not inherited by programs this one starts
/// (`serialport` opens them without close-on-exec): a child holding the terminal side open
/// — the Verilated board simulator, say — would hide the host's hang-up from the board end.
fn pair() -> io::Result<(TTYPort, TTYPort)> {
    let (master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    close_on_exec(&master)?;
    close_on_exec(&slave)?;
    Ok((master, slave))
}

fn close_on_exec(port: &TTYPort) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor the port owns and keeps open.
    if unsafe { libc::fcntl(port.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Pty {
    pub fn open() -> io::Result<Pty> {
        let (master, slave) = pair()?;
        let path = PathBuf::from(slave.name().ok_or_else(|| io::Error::other("pseudo-terminal without a name"))?);
        let link = from_port(master, format!("pseudo-terminal {}", path.display()))?;
        Ok(Pty { link, path, _keep: slave })
    }
}

/// Both ends of a pseudo-terminal pair as links, for in-process tests.
pub fn pty_pair() -> io::Result<(Link, Link)> {
    let (master, slave) = pair()?;
    let name = slave.name().unwrap_or_default();
    Ok((from_port(slave, name.clone())?, from_port(master, format!("{name} (board end)"))?))
}
