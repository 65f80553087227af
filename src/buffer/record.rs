//! The on-disk layout of a disk buffer: segment files of checksummed records.
//!
//! A segment starts with [`SEGMENT_MAGIC`]; then records follow back to back, each a 24-byte header
//! and the payload (the batch's encoded bytes, exactly as the sink writes them):
//!
//! ```text
//! magic "LFR1" | payload length u32 | seq u64 | events u32 | crc32 u32 | payload
//! ```
//!
//! All integers little-endian; the CRC-32 covers length, seq, events and payload. A record whose
//! header or payload is cut short (a torn write) or whose checksum does not match is [`Read::Damaged`].

use std::io::{self, Read as _};

/// The first bytes of every segment file (the format's version is its last digit).
pub const SEGMENT_MAGIC: &[u8; 8] = b"LFBUF01\n";
const RECORD_MAGIC: &[u8; 4] = b"LFR1";
/// Bytes of a record header.
pub const HEADER_LEN: u64 = 24;

/// One record as read back.
#[derive(Debug)]
pub struct Record {
    pub seq: u64,
    pub events: u32,
    pub payload: Vec<u8>,
}

impl Record {
    /// Bytes the record takes in its segment.
    pub fn stored_len(&self) -> u64 {
        HEADER_LEN + self.payload.len() as u64
    }
}

/// What reading the next record found.
#[derive(Debug)]
pub enum Read {
    Record(Record),
    /// No byte left before the limit.
    End,
    /// Bytes that are not a whole, intact record; why.
    Damaged(&'static str),
}

/// The header of a record of `payload` numbered `seq` holding `events` events.
pub fn header(seq: u64, events: u32, payload: &[u8]) -> io::Result<[u8; HEADER_LEN as usize]> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::other("a batch over 4 GiB cannot be buffered"))?;
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(RECORD_MAGIC);
    h[4..8].copy_from_slice(&len.to_le_bytes());
    h[8..16].copy_from_slice(&seq.to_le_bytes());
    h[16..20].copy_from_slice(&events.to_le_bytes());
    let crc = checksum(&h[4..20], payload);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(h)
}

/// Reads the next record from `from`, which holds `limit` more bytes that may belong to records.
/// I/O errors are errors; anything wrong with the bytes themselves is [`Read::Damaged`].
pub fn read(from: &mut impl io::Read, limit: u64) -> io::Result<Read> {
    if limit == 0 {
        return Ok(Read::End);
    }
    if limit < HEADER_LEN {
        return Ok(Read::Damaged("a record header cut short"));
    }
    let mut h = [0u8; HEADER_LEN as usize];
    if !read_full(from, &mut h)? {
        return Ok(Read::Damaged("a record header cut short"));
    }
    if &h[0..4] != RECORD_MAGIC {
        return Ok(Read::Damaged("no record starts here"));
    }
    let len = u64::from(le_u32(&h[4..8]));
    if len > limit - HEADER_LEN {
        return Ok(Read::Damaged("a record cut short"));
    }
    // `len` is within `limit`, the bytes left in the file: a damaged length cannot ask for more.
    let mut payload = Vec::with_capacity(len as usize);
    from.take(len).read_to_end(&mut payload)?;
    if payload.len() as u64 != len {
        return Ok(Read::Damaged("a record cut short"));
    }
    if checksum(&h[4..20], &payload) != le_u32(&h[20..24]) {
        return Ok(Read::Damaged("a record whose checksum does not match"));
    }
    Ok(Read::Record(Record {
        seq: u64::from_le_bytes(h[8..16].try_into().unwrap_or_default()),
        events: le_u32(&h[16..20]),
        payload,
    }))
}

fn checksum(fields: &[u8], payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(fields);
    crc.update(payload);
    crc.finalize()
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// Fills `buf`; `false` if the stream ended first.
fn read_full(from: &mut impl io::Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match from.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut bytes = header(seq, 3, payload).unwrap().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn reads_back_what_was_written() {
        let mut bytes = stored(7, b"one\n");
        bytes.extend(stored(8, b"two\n"));
        let mut from = bytes.as_slice();
        let Read::Record(r) = read(&mut from, bytes.len() as u64).unwrap() else {
            panic!("no record")
        };
        assert_eq!(
            (r.seq, r.events, r.payload.as_slice()),
            (7, 3, &b"one\n"[..])
        );
        let rest = bytes.len() as u64 - r.stored_len();
        let Read::Record(r) = read(&mut from, rest).unwrap() else {
            panic!("no record")
        };
        assert_eq!(r.seq, 8);
        assert!(matches!(read(&mut from, 0).unwrap(), Read::End));
    }

    #[test]
    fn torn_and_corrupt_records_are_damaged() {
        let bytes = stored(1, b"payload\n");
        for cut in [1, 10, 24, 30] {
            let mut from = &bytes[..cut];
            assert!(
                matches!(read(&mut from, cut as u64).unwrap(), Read::Damaged(_)),
                "cut at {cut}"
            );
        }
        for flip in [0, 5, 9, 17, 21, 26] {
            let mut bad = bytes.clone();
            bad[flip] ^= 0x40;
            let mut from = bad.as_slice();
            assert!(
                matches!(read(&mut from, bad.len() as u64).unwrap(), Read::Damaged(_)),
                "bit flipped in byte {flip}"
            );
        }
    }
}
