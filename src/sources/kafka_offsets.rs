//! Which Kafka offsets a consumer may commit: per partition, the end of the longest prefix of
//! handed-out batches that have all been acknowledged downstream.
//!
//! Batches are handed out in poll order, so within a partition their offsets increase. A batch
//! acknowledged early waits until every batch before it in each of its partitions is acknowledged
//! too, so a committed offset never passes an event that was not delivered: a crash re-delivers,
//! never loses. Partitions are tracked only while assigned to this consumer; acknowledgements of
//! batches from a partition revoked since are ignored (its new owner reads them again).

use std::collections::{HashMap, HashSet, VecDeque};

/// A topic and partition.
pub type Partition = (String, i32);

/// One handed-out batch's share of one partition: its id, the offset after its last message, and
/// whether it is acknowledged.
#[derive(Debug)]
struct Share {
    batch: u64,
    end: i64,
    acked: bool,
}

#[derive(Debug, Default)]
struct Track {
    /// Shares in the order they were handed out (increasing `end`).
    outstanding: VecDeque<Share>,
    /// The offset to commit next (the next message to read), if it moved since the last commit.
    committable: Option<i64>,
}

/// The offsets of the partitions assigned to one consumer.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    tracks: HashMap<Partition, Track>,
    /// The partitions each outstanding batch touched.
    batches: HashMap<u64, Vec<Partition>>,
}

impl OffsetTracker {
    /// `partitions` were assigned to this consumer.
    pub fn assigned(&mut self, partitions: impl IntoIterator<Item = Partition>) {
        for partition in partitions {
            self.tracks.entry(partition).or_default();
        }
    }

    /// `partitions` were taken away: their commits must be made now (see [`Self::take_committable`]
    /// first), and nothing about them is kept.
    pub fn revoked(&mut self, partitions: &HashSet<Partition>) {
        self.tracks.retain(|p, _| !partitions.contains(p));
    }

    /// Batch `batch` holds messages up to `end - 1` of each partition in `ends`.
    pub fn handed_out(&mut self, batch: u64, ends: &[(Partition, i64)]) {
        let mut touched = Vec::with_capacity(ends.len());
        for (partition, end) in ends {
            if let Some(track) = self.tracks.get_mut(partition) {
                track.outstanding.push_back(Share {
                    batch,
                    end: *end,
                    acked: false,
                });
                touched.push(partition.clone());
            }
        }
        self.batches.insert(batch, touched);
    }

    /// Batch `batch` was delivered by every sink.
    pub fn acked(&mut self, batch: u64) {
        let Some(partitions) = self.batches.remove(&batch) else {
            return;
        };
        for partition in partitions {
            let Some(track) = self.tracks.get_mut(&partition) else {
                continue;
            };
            if let Some(share) = track.outstanding.iter_mut().find(|s| s.batch == batch) {
                share.acked = true;
            }
            while track.outstanding.front().is_some_and(|s| s.acked) {
                if let Some(done) = track.outstanding.pop_front() {
                    track.committable = Some(done.end);
                }
            }
        }
    }

    /// The offsets that moved since the last call (of `only` those partitions, if given).
    pub fn take_committable(&mut self, only: Option<&HashSet<Partition>>) -> Vec<(Partition, i64)> {
        self.tracks
            .iter_mut()
            .filter(|(p, _)| only.is_none_or(|only| only.contains(*p)))
            .filter_map(|(p, track)| track.committable.take().map(|end| (p.clone(), end)))
            .collect()
    }

    /// Batches handed out and not acknowledged yet.
    pub fn outstanding(&self) -> usize {
        self.batches.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: i32) -> Partition {
        ("t".to_string(), n)
    }

    #[test]
    fn commits_only_the_acknowledged_prefix() {
        let mut t = OffsetTracker::default();
        t.assigned([p(0), p(1)]);
        t.handed_out(1, &[(p(0), 10), (p(1), 5)]);
        t.handed_out(2, &[(p(0), 20)]);
        t.handed_out(3, &[(p(0), 30), (p(1), 8)]);
        t.acked(2);
        assert!(t.take_committable(None).is_empty(), "batch 1 is not acked");
        t.acked(1);
        let mut c = t.take_committable(None);
        c.sort();
        assert_eq!(c, vec![(p(0), 20), (p(1), 5)]);
        assert!(t.take_committable(None).is_empty(), "nothing new");
        t.acked(3);
        let mut c = t.take_committable(None);
        c.sort();
        assert_eq!(c, vec![(p(0), 30), (p(1), 8)]);
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn revoked_partitions_are_forgotten() {
        let mut t = OffsetTracker::default();
        t.assigned([p(0), p(1)]);
        t.handed_out(1, &[(p(0), 10), (p(1), 5)]);
        t.acked(1);
        let revoked: HashSet<Partition> = [p(1)].into();
        assert_eq!(t.take_committable(Some(&revoked)), vec![(p(1), 5)]);
        t.revoked(&revoked);
        t.handed_out(2, &[(p(1), 9)]);
        t.acked(2);
        assert_eq!(t.take_committable(None), vec![(p(0), 10)]);
    }
}
