//! Reuse of output buffers: an encoded batch's bytes go back to the processing stage that filled
//! them once every sink (and the disk buffer) has dropped its copy.
//!
//! Why: a busy source fills a buffer of a few hundred kilobytes to a megabyte per chunk. A fresh
//! allocation of that size is fresh pages to glibc, which the kernel must fault in and zero (and
//! which glibc gives back to the kernel when they are freed, so the next chunk faults them in
//! again); the writes then miss the cache. A buffer that has just come back from the sink is mapped
//! and warm. Nothing here survives a restart: the pool is memory only.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// How many idle buffers a pool keeps: enough for the batches a sink holds in flight to come back
/// while the processing stage fills the next ones.
pub const IDLE_MAX: usize = 4;
/// A buffer whose capacity grew beyond this (a burst of huge events) is freed, not kept, so one
/// burst does not pin its memory for the life of the process.
const KEPT_CAPACITY_MAX: usize = 8 << 20;

/// Idle output buffers of one processing route, shared with the batches that hold its buffers.
///
/// Invariant: every idle buffer is empty and at most [`KEPT_CAPACITY_MAX`] large; the pool holds at
/// most [`IDLE_MAX`] of them, so it never keeps more than `IDLE_MAX × KEPT_CAPACITY_MAX` bytes.
#[derive(Debug, Clone, Default)]
pub struct BufferPool {
    idle: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl BufferPool {
    /// An empty buffer: an idle one when there is one, else a new one of `capacity`.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        self.lock()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// `buffer`'s bytes as a cheaply cloned [`Bytes`]; when its last clone drops, the buffer comes
    /// back to this pool (or is freed, when the pool is full or the buffer too large).
    pub fn share(&self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Returning {
            buffer,
            pool: self.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // Nothing panics while holding the lock (push and pop only), so a poisoned one is intact.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn give_back(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() > KEPT_CAPACITY_MAX {
            return;
        }
        buffer.clear();
        let mut idle = self.lock();
        if idle.len() < IDLE_MAX {
            idle.push(buffer);
        }
    }
}

/// The owner behind a shared buffer's [`Bytes`]: gives the buffer back when dropped.
struct Returning {
    buffer: Vec<u8>,
    pool: BufferPool,
}

impl AsRef<[u8]> for Returning {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_its_last_copy_drops() {
        let pool = BufferPool::default();
        let mut buffer = pool.take(1024);
        buffer.extend_from_slice(b"<14>1 event\n");
        let address = buffer.as_ptr();
        let bytes = pool.share(buffer);
        let copy = bytes.clone();
        drop(bytes);
        assert_eq!(&copy[..], b"<14>1 event\n");
        assert!(pool.lock().is_empty(), "a copy is still alive");
        drop(copy);
        let again = pool.take(1024);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address, "the same allocation is reused");
        assert!(again.capacity() >= 1024);
    }

    #[test]
    fn keeps_at_most_idle_max_buffers_and_none_that_grew_too_large() {
        let pool = BufferPool::default();
        let shared: Vec<Bytes> = (0..IDLE_MAX + 2)
            .map(|_| pool.share(pool.take(16)))
            .collect();
        drop(shared);
        assert_eq!(pool.lock().len(), IDLE_MAX);

        let empty = BufferPool::default();
        drop(empty.share(Vec::with_capacity(KEPT_CAPACITY_MAX + 1)));
        assert!(empty.lock().is_empty());
    }
}
