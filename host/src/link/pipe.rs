//! An in-process byte pipe: two [`Link`] ends joined back to back, for tests and for running
//! a virtual board in the same process as the host.

use super::{Link, Rx, Tx, POLL};
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex};

#[derive(Default)]
struct Queue {
    bytes: VecDeque<u8>,
    closed: bool,
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

struct PipeRx(Shared);
struct PipeTx(Shared);

impl Rx for PipeRx {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (lock, cv) = &*self.0;
        let mut q = lock.lock().unwrap();
        if q.bytes.is_empty() && !q.closed {
            q = cv.wait_timeout(q, POLL).unwrap().0;
        }
        if q.bytes.is_empty() {
            return if q.closed { Err(io::ErrorKind::BrokenPipe.into()) } else { Ok(0) };
        }
        let n = buf.len().min(q.bytes.len());
        for (d, s) in buf.iter_mut().zip(q.bytes.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }
}

impl Tx for PipeTx {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let (lock, cv) = &*self.0;
        let mut q = lock.lock().unwrap();
        if q.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        q.bytes.extend(data);
        cv.notify_all();
        Ok(())
    }
}

impl Drop for PipeTx {
    fn drop(&mut self) {
        // The reader still gets what was sent, then sees the end.
        let (lock, cv) = &*self.0;
        lock.lock().unwrap().closed = true;
        cv.notify_all();
    }
}

/// Two connected ends: what one sends, the other receives.
pub fn pipe() -> (Link, Link) {
    let ab: Shared = Arc::default();
    let ba: Shared = Arc::default();
    let a = Link { rx: Box::new(PipeRx(ba.clone())), tx: Box::new(PipeTx(ab.clone())), name: "in-process pipe".into() };
    let b = Link { rx: Box::new(PipeRx(ab)), tx: Box::new(PipeTx(ba)), name: "in-process pipe".into() };
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_order_and_the_end_is_seen() {
        let (mut a, mut b) = pipe();
        a.tx.send(b"hello").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(b.rx.recv(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(b.rx.recv(&mut buf).unwrap(), 0, "quiet line");
        b.tx.send(b"x").unwrap();
        drop(b);
        assert_eq!(a.rx.recv(&mut buf).unwrap(), 1);
        assert!(a.rx.recv(&mut buf).is_err());
    }
}
