//! File identity: device + inode, confirmed by a checksum of the file's first line.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use crate::checkpoint::FileId;

/// At most this many leading bytes are checksummed when the first line is longer.
pub const FINGERPRINT_BYTES: usize = 256;

/// The identity of the open `file`, or `None` while it cannot be told apart yet (its first line is
/// unfinished and shorter than [`FINGERPRINT_BYTES`]; such a file has nothing to read yet anyway).
pub fn identify(file: &File) -> io::Result<Option<FileId>> {
    let meta = file.metadata()?;
    let mut head = [0u8; FINGERPRINT_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read_at(&mut head[filled..], filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let head = &head[..filled];
    let first_line = match memchr::memchr(b'\n', head) {
        Some(i) => &head[..=i],
        None if filled == FINGERPRINT_BYTES => head,
        None => return Ok(None),
    };
    Ok(Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
        fingerprint: fnv1a(first_line),
    }))
}

/// How many leading bytes [`same_head`] compares.
pub const HEAD_BYTES: usize = 4096;

/// True when `a` and `b` start with the same bytes, compared over the first [`HEAD_BYTES`] or the
/// shorter file's length, whichever is less (and at least one byte): one is probably a copy of the other.
pub fn same_head(a: &File, b: &File) -> bool {
    let head = |file: &File| -> io::Result<Vec<u8>> {
        let len = file.metadata()?.len().min(HEAD_BYTES as u64) as usize;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, 0)?;
        Ok(bytes)
    };
    let (Ok(a), Ok(b)) = (head(a), head(b)) else {
        return false;
    };
    let n = a.len().min(b.len());
    n > 0 && a[..n] == b[..n]
}

/// FNV-1a, 64 bit: stable across builds and versions, which a persisted checksum must be.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn unfinished_first_line_is_not_identified() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"partial").unwrap();
        assert_eq!(identify(f.as_file()).unwrap(), None);
        f.write_all(b" line\nsecond").unwrap();
        let id = identify(f.as_file()).unwrap().unwrap();
        f.write_all(b" more\n").unwrap();
        assert_eq!(
            identify(f.as_file()).unwrap(),
            Some(id),
            "growth keeps the identity"
        );
    }

    #[test]
    fn same_inode_other_content_is_another_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"first\n").unwrap();
        let a = identify(f.as_file()).unwrap().unwrap();
        f.as_file().set_len(0).unwrap();
        f.as_file().write_all_at(b"other\n", 0).unwrap();
        let b = identify(f.as_file()).unwrap().unwrap();
        assert_eq!((a.dev, a.ino), (b.dev, b.ino));
        assert_ne!(a, b);
    }

    #[test]
    fn heads_compare_over_the_shorter_file() {
        let mut a = tempfile::NamedTempFile::new().unwrap();
        let mut b = tempfile::NamedTempFile::new().unwrap();
        a.write_all(b"header\nline 1\nline 2\n").unwrap();
        b.write_all(b"header\nline 1\n").unwrap();
        assert!(same_head(a.as_file(), b.as_file()));
        b.write_all(b"line X\n").unwrap();
        assert!(!same_head(a.as_file(), b.as_file()));
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert!(!same_head(a.as_file(), empty.as_file()));
    }

    #[test]
    fn long_first_line_uses_its_head() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&[b'x'; 300]).unwrap();
        assert!(identify(f.as_file()).unwrap().is_some());
    }
}
