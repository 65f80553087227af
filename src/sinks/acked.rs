//! What the collector's TCP stack has acknowledged: bytes handed to a socket minus its unacknowledged send queue.
//!
//! [`CountingStream`] wraps the `TcpStream` under everything else (TLS included), so it counts the
//! bytes the kernel accepted from us, ciphertext and handshake records included: exactly the bytes
//! that consume TCP sequence numbers. [`AckProbe::acked`] subtracts what the kernel says is still
//! unacknowledged (`SIOCOUTQ`), which gives how many of those bytes the peer's TCP stack has
//! acknowledged. A sink maps each batch to the count at its end and releases it once `acked` reaches it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A stream that counts every byte its writes hand to the stream under it.
pub struct CountingStream<S> {
    inner: S,
    written: Arc<AtomicU64>,
}

impl<S> CountingStream<S> {
    /// Wraps `inner`; `written` grows by what each successful write accepted.
    pub fn new(inner: S, written: Arc<AtomicU64>) -> Self {
        CountingStream { inner, written }
    }

    fn count(&self, result: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = result {
            self.written.fetch_add(*n as u64, Ordering::Release);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.count(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.count(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Asks one TCP socket how much of what was written to it has been acknowledged.
///
/// Invariant: `written` is the counter of the [`CountingStream`] directly around this socket, and
/// nothing else writes to the socket.
pub struct AckProbe {
    /// A duplicate of the socket's descriptor, so the probe never outlives the socket it asks.
    socket: OwnedFd,
    written: Arc<AtomicU64>,
}

impl AckProbe {
    /// A probe of `tcp`, whose writes are counted by `written`.
    pub fn new(tcp: &TcpStream, written: Arc<AtomicU64>) -> io::Result<AckProbe> {
        let socket = tcp.as_fd().try_clone_to_owned()?;
        Ok(AckProbe { socket, written })
    }

    /// Bytes written so far (counted at the socket).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Bytes written and acknowledged by the peer's TCP stack, never more than the truth: the write
    /// count is read before the queue, so a write in between only makes the answer smaller.
    pub fn acked(&self) -> io::Result<u64> {
        let written = self.written();
        let unacked = unacknowledged_bytes(&self.socket)?;
        Ok(written.saturating_sub(unacked))
    }
}

impl AsFd for AckProbe {
    /// The socket this probe asks (a duplicate descriptor of it).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The socket's send queue: bytes written but not yet acknowledged by the peer (Linux `SIOCOUTQ`,
/// alias `TIOCOUTQ`). After our FIN it counts one more (the FIN's sequence number) until the FIN
/// is acknowledged, which only makes [`AckProbe::acked`] more cautious.
fn unacknowledged_bytes(socket: &OwnedFd) -> io::Result<u64> {
    let mut queued: libc::c_int = 0;
    // SAFETY: the descriptor is open for as long as `socket` lives, and TIOCOUTQ on a TCP socket
    // writes exactly one c_int through the pointer, which points at `queued`.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    u64::try_from(queued).map_err(|_| io::Error::other("negative send queue size"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn counts_writes_and_sees_them_acknowledged() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (mut peer, _) = listener.accept().await.expect("accept");
        let written = Arc::new(AtomicU64::new(0));
        let probe = AckProbe::new(&tcp, written.clone()).expect("probe");
        let mut stream = CountingStream::new(tcp, written);
        stream.write_all(&[7u8; 1000]).await.expect("write");
        assert_eq!(probe.written(), 1000);
        let mut buf = [0u8; 1000];
        peer.read_exact(&mut buf).await.expect("read");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while probe.acked().expect("ioctl") < 1000 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(probe.acked().expect("ioctl"), 1000);
    }
}
