//! Test helpers: proptest strategies that mutate valid lines.

use proptest::prelude::*;

/// One edit applied to a line.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

/// A byte that is likely to confuse a log parser.
fn nasty_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(&b" \"\\[]<>:|;=()-/.0123456789\r\n\t"[..]),
        1 => any::<u8>(),
    ]
}

/// Strategy: one of `seeds` with 1 to 8 random edits (replace, insert, delete, truncate, duplicate).
pub(crate) fn mutations(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<usize>(), nasty_byte()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), nasty_byte()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::Duplicate(i, j)),
    ];
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit, 1..8),
    )
        .prop_map(|(seed, edits)| {
            let mut v = seed.to_vec();
            for e in edits {
                let n = v.len().max(1);
                match e {
                    Edit::Replace(i, c) => {
                        if let Some(b) = v.get_mut(i % n) {
                            *b = c;
                        }
                    }
                    Edit::Insert(i, c) => v.insert(i % (v.len() + 1), c),
                    Edit::Delete(i) => {
                        if !v.is_empty() {
                            v.remove(i % n);
                        }
                    }
                    Edit::Truncate(i) => v.truncate(i % (v.len() + 1)),
                    Edit::Duplicate(i, j) => {
                        let a = i % n;
                        let b = (a + j % 16).min(v.len());
                        let piece: Vec<u8> = v.get(a..b).unwrap_or(&[]).to_vec();
                        let at = b.min(v.len());
                        v.splice(at..at, piece);
                    }
                }
            }
            v
        })
}

/// The parameters of a structured-data field as (id, name, value) text, for assertions.
pub fn params(sd: &[u8]) -> Vec<(String, String, String)> {
    crate::syslog::sd_params(sd)
        .map(|p| {
            let p = p.expect("well-formed structured data");
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (s(p.id), s(p.name), s(&p.value))
        })
        .collect()
}
