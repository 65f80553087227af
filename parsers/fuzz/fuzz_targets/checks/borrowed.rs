//! Fuzz check shared by the targets: a zero-copy field points into the input it was parsed from.

/// Asserts that `part` lies inside `whole` (a zero-copy field points into its line).
pub fn assert_within(whole: &[u8], part: &[u8], what: &str) {
    let (start, end) = (
        whole.as_ptr() as usize,
        whole.as_ptr() as usize + whole.len(),
    );
    let (p_start, p_end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    assert!(
        part.is_empty() || (start <= p_start && p_end <= end),
        "{what} does not borrow from the input"
    );
}
