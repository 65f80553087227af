//! Finding runs of six or more ASCII digits, 16 bytes at a time: where a CPR number can start.
//!
//! Every string of every event is searched for CPR numbers, and nearly all of them hold none. A
//! digit mask per 16-byte window (one SSE2 compare and `movemask` on x86_64) finds the runs of six
//! without looking at the bytes one by one. The byte-wise scan this replaced walked every short
//! digit run that syslog lines are full of (times, PIDs, addresses, ports): about 400 instructions
//! per syslog line against about 250 now (`benches/callgrind/instructions.sh`).

/// The bits of the 48 bytes a step of [`next_run_start`] looks for runs in.
const FIRST_48: u64 = (1 << 48) - 1;

/// Where the next maximal run of at least six ASCII digits starting at or after `from` begins.
///
/// A run is maximal when the byte before it is not a digit; a run that begins before `from` and
/// goes on past it is not reported. Callers pass a `from` that is the start of the text or the end
/// of a run, so no run is missed.
pub fn next_run_start(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    // Whether the byte before `at` is a digit: a run that goes on across `at` does not start there.
    let mut before = at > 0 && bytes.get(at - 1).is_some_and(u8::is_ascii_digit);
    let mut next = mask_at(bytes, at);
    while at < bytes.len() {
        // Bit i: byte `at + i` is a digit. Runs are looked for among the first 48 bits; the last 16
        // show whether a run found near the end of those goes on for six digits.
        let last = mask_at(bytes, at + 48);
        let mask =
            next | mask_at(bytes, at + 16) << 16 | mask_at(bytes, at + 32) << 32 | last << 48;
        let six = mask & mask >> 1 & mask >> 2 & mask >> 3 & mask >> 4 & mask >> 5;
        let starts = six & !(mask << 1 | u64::from(before)) & FIRST_48;
        if starts != 0 {
            return Some(at + starts.trailing_zeros() as usize);
        }
        before = mask & 1 << 47 != 0;
        next = last;
        at += 48;
    }
    None
}

/// The digit mask of the 16 bytes from `at`, with no bits for bytes past the end of `bytes`.
#[inline(always)]
fn mask_at(bytes: &[u8], at: usize) -> u64 {
    let len = bytes.len();
    if let Some(window) = bytes.get(at..at + 16) {
        return digit_mask(window.try_into().expect("a 16-byte slice"));
    }
    if at >= len {
        return 0;
    }
    if let Some(tail) = len.checked_sub(16) {
        // The last 16 bytes, shifted so that bit 0 is byte `at`.
        return digit_mask(bytes[tail..].try_into().expect("a 16-byte slice")) >> (at - tail);
    }
    // Shorter than one window: its bytes, zero-padded (zero is not a digit).
    let mut window = [0; 16];
    window[..len - at].copy_from_slice(&bytes[at..]);
    digit_mask(&window)
}

/// Bit i is set when byte i of `window` is an ASCII digit.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn digit_mask(window: &[u8; 16]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    // SAFETY: the load reads exactly the 16 bytes of `window` and needs no alignment. SSE2, the
    // only feature the intrinsics use, is part of every x86_64 CPU.
    unsafe {
        let bytes = _mm_loadu_si128(window.as_ptr().cast());
        // A digit is a byte whose distance above b'0' (wrapping) is at most 9.
        let above_zero = _mm_sub_epi8(bytes, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(above_zero, _mm_set1_epi8(9)), above_zero);
        _mm_movemask_epi8(digit) as u64
    }
}

/// Bit i is set when byte i of `window` is an ASCII digit.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn digit_mask(window: &[u8; 16]) -> u64 {
    window
        .iter()
        .enumerate()
        .fold(0, |mask, (i, b)| mask | u64::from(b.is_ascii_digit()) << i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every maximal run of six or more digits starting at or after `from`, the slow way.
    fn reference(bytes: &[u8], from: usize) -> Option<usize> {
        let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        (from..bytes.len()).find(|&i| (i == 0 || !digit(i - 1)) && (i..i + 6).all(digit))
    }

    #[test]
    fn runs_at_and_across_window_borders() {
        for len in [6, 7, 10, 11, 20] {
            for at in 0..100 {
                let mut text = vec![b'x'; 128];
                text[at..at + len].fill(b'7');
                assert_eq!(next_run_start(&text, 0), Some(at), "run of {len} at {at}");
                assert_eq!(next_run_start(&text[..at + len], 0), Some(at), "at the end");
                assert_eq!(
                    next_run_start(&text[..at + len - 1], 0),
                    (len > 6).then_some(at)
                );
            }
        }
        assert_eq!(next_run_start(b"12345 x 123456", 0), Some(8));
        assert_eq!(next_run_start(b"10:00:00 [1001] 10.0.0.1", 0), None);
        assert_eq!(next_run_start(b"", 0), None);
        assert_eq!(next_run_start(b"123456", 6), None);
    }

    #[test]
    fn the_mask_marks_exactly_the_digits() {
        for b in 0..=255u8 {
            for at in 0..16 {
                let mut window = [b'x'; 16];
                window[at] = b;
                let expected = if b.is_ascii_digit() { 1 << at } else { 0 };
                assert_eq!(digit_mask(&window), expected, "{b:#x} at {at}");
            }
        }
    }

    #[test]
    fn a_run_started_before_from_is_not_reported() {
        assert_eq!(next_run_start(b"x1234567 123456", 2), Some(9));
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition(
            text in proptest::collection::vec(proptest::sample::select(b"0123456789x-".to_vec()), 0..200),
            from in 0usize..200,
        ) {
            prop_assert_eq!(next_run_start(&text, from), reference(&text, from));
        }
    }
}
