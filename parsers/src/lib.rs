//! Zero-copy, panic-free parsers for the log formats logferry reads (access and error logs, syslog and program messages, auditd).
//!
//! Every parser takes `&[u8]`, borrows from it, allocates nothing on the common path
//! and never panics, whatever the input bytes are.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod auditd;
pub mod drupal;
pub mod java;
pub mod kv;
mod layout_match;
pub mod log_format;
pub mod sshd;
mod structured_data;
pub mod su;
pub mod sudo;
pub mod syscalls;
pub mod syslog;
pub mod time;
pub mod web_error;

pub use layout_match::{LayoutRecord, LayoutTime};

mod scan;

#[cfg(test)]
pub(crate) mod testutil;

/// Why a line could not be parsed: a short static reason and the byte offset where parsing stopped.
///
/// `offset` is counted from the start of the slice handed to the public parser
/// (it is at most that slice's length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// A short, static description of what was expected.
    pub reason: &'static str,
    /// Byte offset in the input where parsing stopped.
    pub offset: usize,
}

impl ParseError {
    /// Builds an error at `offset`.
    pub(crate) const fn new(reason: &'static str, offset: usize) -> Self {
        ParseError { reason, offset }
    }

    /// The same error, with its offset moved forward by `base` (for sub-parsers on a suffix).
    pub(crate) const fn shifted(self, base: usize) -> Self {
        ParseError {
            reason: self.reason,
            offset: self.offset.saturating_add(base),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::ParseError;

    #[test]
    fn display_names_reason_and_offset() {
        let e = ParseError::new("expected ']'", 17);
        assert_eq!(e.to_string(), "expected ']' at byte 17");
        assert_eq!(e.shifted(3).offset, 20);
        assert_eq!(e.shifted(usize::MAX).offset, usize::MAX);
    }
}
