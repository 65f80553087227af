//! A one-entry memo that threads share without a lock: the last `key → value` pair, in one atomic word.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bits of the packed word that hold the value; the key takes the other 40.
const VALUE_BITS: u32 = 24;
/// Keys `put` accepts lie strictly between `-KEY_LIMIT` and `KEY_LIMIT`.
const KEY_LIMIT: i64 = 1 << (63 - VALUE_BITS);
/// Values `put` accepts lie in `-VALUE_LIMIT..VALUE_LIMIT`.
const VALUE_LIMIT: i32 = 1 << (VALUE_BITS - 1);
/// The word of an empty memo (key `-KEY_LIMIT`, which `put` never stores, value 0).
const EMPTY: u64 = 1 << 63;

/// Remembers the last `key → value` pair put in it, for lookups that nearly always repeat.
///
/// Invariant: the key (high 40 bits, signed) and the value (low 24 bits, signed) share one
/// `AtomicU64`, so a reader sees a whole pair, never one half of an old pair and one of a new one;
/// `Relaxed` ordering suffices because nothing else is published with the pair. Keys outside
/// ±(2^39 − 1) and values outside −2^23..2^23 are not remembered (`put` ignores them).
#[derive(Debug)]
pub struct Memo {
    word: AtomicU64,
}

impl Memo {
    pub const fn new() -> Self {
        Memo {
            word: AtomicU64::new(EMPTY),
        }
    }

    /// The value put with `key`, if that was the last pair put.
    pub fn get(&self, key: i64) -> Option<i32> {
        let word = self.word.load(Ordering::Relaxed);
        // Arithmetic shifts sign-extend both halves back to their signed values.
        let stored_key = (word as i64) >> VALUE_BITS;
        let value = ((word << (64 - VALUE_BITS)) as i64 >> (64 - VALUE_BITS)) as i32;
        (stored_key == key && word != EMPTY).then_some(value)
    }

    /// Remembers `key → value` in place of the last pair, when both fit (see [`Memo`]).
    pub fn put(&self, key: i64, value: i32) {
        let fits = (-KEY_LIMIT + 1..KEY_LIMIT).contains(&key)
            && (-VALUE_LIMIT..VALUE_LIMIT).contains(&value);
        if fits {
            let value_bits = u64::from(value as u32) & ((1 << VALUE_BITS) - 1);
            self.word
                .store(((key << VALUE_BITS) as u64) | value_bits, Ordering::Relaxed);
        }
    }
}

impl Default for Memo {
    fn default() -> Self {
        Memo::new()
    }
}

/// A clone starts empty: a memo is a cache, not state.
impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_pair_only() {
        let memo = Memo::new();
        assert_eq!(memo.get(0), None, "empty");
        assert_eq!(
            memo.get(-KEY_LIMIT),
            None,
            "empty, asked for the empty word's key"
        );
        memo.put(7, -3600);
        assert_eq!(memo.get(7), Some(-3600));
        assert_eq!(memo.get(8), None);
        memo.put(8, 5);
        assert_eq!((memo.get(7), memo.get(8)), (None, Some(5)));
    }

    #[test]
    fn signs_and_limits_round_trip() {
        let memo = Memo::new();
        for key in [-KEY_LIMIT + 1, -1, 0, 1, KEY_LIMIT - 1] {
            for value in [-VALUE_LIMIT, -1, 0, 1, VALUE_LIMIT - 1] {
                memo.put(key, value);
                assert_eq!(memo.get(key), Some(value), "{key} → {value}");
            }
        }
    }

    #[test]
    fn out_of_range_pairs_are_not_stored() {
        let memo = Memo::new();
        memo.put(1, 1);
        memo.put(KEY_LIMIT, 2);
        memo.put(-KEY_LIMIT, 2);
        memo.put(2, VALUE_LIMIT);
        assert_eq!(memo.get(1), Some(1), "the last pair that fitted stays");
    }
}
