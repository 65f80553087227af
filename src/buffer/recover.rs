//! Opening a disk buffer after a start: its segments are read through once, damage is cut off.
//!
//! Every record of every segment is checked (magic, length, checksum, numbering). The first
//! damaged record of a segment (a torn write after a crash, or corruption) ends it: the segment is
//! truncated there, the damage is logged and counted in `logferry_buffer_corrupt_records_total`,
//! and reading goes on with the next segment. Nothing damaged is ever handed to a sink, and nothing
//! about it can stop the agent from starting. Records not yet synced when the agent died were never
//! acknowledged to their source, which reads them again: a torn tail loses nothing.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::log::{Log, Segment};
use super::position;
use super::record::{self, Read, SEGMENT_MAGIC};
use crate::metrics::buffer::BufferMetrics;

/// The file name of the segment whose first record is numbered `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// Opens (creating it if needed) the buffer in `dir`: its segments, checked, and its position.
/// Returns the state and the number of the next record to append. `metrics` get the fill found.
pub fn open(dir: &Path, sink: &str, metrics: &BufferMetrics) -> anyhow::Result<(Log, u64)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the disk buffer directory {}", dir.display()))?;
    let acked = position::load(dir, sink);
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        match stem.parse::<u64>() {
            Ok(first_seq) => found.push((first_seq, entry.path())),
            Err(_) => {
                tracing::warn!(sink, path = %entry.path().display(), "ignoring a file that is not a disk buffer segment")
            }
        }
    }
    found.sort();
    let mut log = Log::new(acked);
    // Records are numbered in order across segments (acknowledged or not).
    let mut next_seq = 0;
    for (first_seq, path) in found {
        let checked = check_segment(&path, first_seq.max(next_seq), acked, sink, metrics)
            .with_context(|| format!("checking disk buffer segment {}", path.display()))?;
        let Some((len, end_seq, events)) = checked else {
            continue;
        };
        next_seq = end_seq;
        log.bytes += len;
        metrics.bytes.add(len as i64);
        metrics.events.add(events as i64);
        log.segments.push_back(Segment {
            first_seq,
            path,
            len,
            end_seq,
            sealed: true,
        });
    }
    let next_seq = next_seq.max(acked);
    let segments = log.segments.len();
    if log.bytes > 0 {
        tracing::info!(
            sink,
            segments,
            bytes = log.bytes,
            events = metrics.events.get(),
            acked,
            "disk buffer opened with data to deliver"
        );
    }
    Ok((log, next_seq))
}

/// Checks one segment whose records must be numbered from `min_seq` on; counts the events of those
/// numbered `acked` or more. Returns (valid length, end seq, events), or `None` for a segment
/// without a valid record (a crash right after its creation), which is removed.
fn check_segment(
    path: &Path,
    min_seq: u64,
    acked: u64,
    sink: &str,
    metrics: &BufferMetrics,
) -> anyhow::Result<Option<(u64, u64, u64)>> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    if file_len == 0 {
        std::fs::remove_file(path)?;
        return Ok(None);
    }
    let mut from = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; SEGMENT_MAGIC.len()];
    let magic_ok = file_len >= magic.len() as u64
        && from.read_exact(&mut magic).is_ok()
        && &magic == SEGMENT_MAGIC;
    if !magic_ok {
        tracing::error!(sink, path = %path.display(), bytes = file_len, "disk buffer segment without a valid header; skipping all of it");
        metrics.corrupt_records.add(1);
        std::fs::remove_file(path)?;
        return Ok(None);
    }
    let mut offset = magic.len() as u64;
    let mut next = min_seq;
    let mut events = 0u64;
    loop {
        let damage = match record::read(&mut from, file_len - offset)? {
            Read::End => break,
            Read::Record(r) if r.seq < next => "a record out of order",
            Read::Record(r) => {
                if r.seq >= acked {
                    events += u64::from(r.events);
                }
                next = r.seq + 1;
                offset += r.stored_len();
                continue;
            }
            Read::Damaged(why) => why,
        };
        tracing::warn!(
            sink, path = %path.display(), offset, skipped_bytes = file_len - offset,
            "disk buffer: {damage}; skipping the rest of this segment (a record torn by a crash is read again from its file; damage to a synced one loses its events)"
        );
        metrics.corrupt_records.add(1);
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(offset)?;
        file.sync_all()?;
        break;
    }
    if offset == SEGMENT_MAGIC.len() as u64 {
        // No record: nothing to keep, and the writer may need the name again.
        std::fs::remove_file(path)?;
        return Ok(None);
    }
    Ok(Some((offset, next, events)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::record::header;

    /// Writes a segment of records `seqs`, each of 2 events, plus `tail` bytes.
    fn segment(dir: &Path, first_seq: u64, seqs: &[u64], tail: &[u8]) -> PathBuf {
        let mut bytes = SEGMENT_MAGIC.to_vec();
        for seq in seqs {
            let payload = format!("record {seq}\n");
            bytes.extend_from_slice(&header(*seq, 2, payload.as_bytes()).unwrap());
            bytes.extend_from_slice(payload.as_bytes());
        }
        bytes.extend_from_slice(tail);
        let path = dir.join(segment_name(first_seq));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn checks_every_segment_and_cuts_off_damage() {
        let dir = tempfile::tempdir().unwrap();
        let intact = segment(dir.path(), 0, &[0, 1, 2], b"");
        let torn = segment(dir.path(), 3, &[3, 4], b"LFR1\x40\0\0\0torn");
        let empty = segment(dir.path(), 5, &[], b"");
        let intact_len = std::fs::metadata(&intact).unwrap().len();
        let metrics = BufferMetrics::new(1 << 20);
        let (log, next_seq) = open(dir.path(), "t", &metrics).unwrap();

        assert_eq!(next_seq, 5);
        assert_eq!(log.segments.len(), 2);
        assert_eq!(log.segments[0].len, intact_len);
        assert_eq!(log.segments[1].end_seq, 5);
        assert_eq!(
            std::fs::metadata(&torn).unwrap().len(),
            log.segments[1].len,
            "the torn tail is cut off"
        );
        assert!(!empty.exists(), "a segment without records is removed");
        assert_eq!(metrics.corrupt_records.get(), 1);
        assert_eq!(metrics.events.get(), 10);
        assert_eq!(metrics.bytes.get() as u64, log.bytes);
    }

    #[test]
    fn counts_only_what_is_not_acknowledged_and_rejects_records_out_of_order() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), 0, &[0, 1, 2, 1], b"");
        position::store(dir.path(), 2).unwrap();
        let metrics = BufferMetrics::new(1 << 20);
        let (log, next_seq) = open(dir.path(), "t", &metrics).unwrap();
        assert_eq!((log.acked, next_seq), (2, 3));
        assert_eq!(metrics.events.get(), 2, "only record 2 is unacknowledged");
        assert_eq!(metrics.corrupt_records.get(), 1, "record 1 again is damage");
    }
}
