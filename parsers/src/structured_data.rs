//! RFC 5424 structured data: `[id name="value" …]…` elements and their parameters.

use std::borrow::Cow;

use crate::scan::{from, split_at};
use crate::ParseError;

/// One structured-data parameter.
///
/// Invariants: `id` and `name` are non-empty and hold no space, `=`, `]` or `"`;
/// `value` has `\"`, `\\` and `\]` unescaped (other backslashes kept) and is borrowed
/// when there was nothing to unescape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParam<'a> {
    /// SD-ID of the element the parameter belongs to, e.g. `exampleSDID@32473`.
    pub id: &'a [u8],
    /// PARAM-NAME.
    pub name: &'a [u8],
    /// PARAM-VALUE with `\"`, `\\` and `\]` unescaped.
    pub value: Cow<'a, [u8]>,
}

/// Iterator over the parameters of a structured-data field, made by [`sd_params`].
#[derive(Debug, Clone)]
pub struct SdParams<'a> {
    sd: &'a [u8],
    pos: usize,
    id: Option<&'a [u8]>,
    done: bool,
}

/// Iterates the parameters of every SD element in order; a malformed element yields Err once and ends.
///
/// `sd` is the raw field including brackets (as in [`SyslogRecord::structured_data`]);
/// `-` and the empty slice give no parameters. Error offsets are from the start of `sd`.
pub fn sd_params(sd: &[u8]) -> SdParams<'_> {
    SdParams {
        sd,
        pos: 0,
        id: None,
        done: sd == b"-",
    }
}

impl<'a> Iterator for SdParams<'a> {
    type Item = Result<SdParam<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let step = match self.id {
                None => match self.sd.get(self.pos) {
                    None => {
                        self.done = true;
                        return None;
                    }
                    Some(b'[') => sd_id(self.sd, self.pos + 1).map(|(id, p)| {
                        self.id = Some(id);
                        self.pos = p;
                        None
                    }),
                    Some(_) => Err(ParseError::new("expected '['", self.pos)),
                },
                Some(id) => match self.sd.get(self.pos) {
                    Some(b']') => {
                        self.id = None;
                        self.pos += 1;
                        Ok(None)
                    }
                    Some(b' ') => sd_param(self.sd, self.pos + 1).map(|(name, raw, p)| {
                        self.pos = p;
                        Some(SdParam {
                            id,
                            name,
                            value: unescape_sd(raw),
                        })
                    }),
                    _ => Err(ParseError::new("expected ' ' or ']'", self.pos)),
                },
            };
            match step {
                Ok(None) => continue,
                Ok(Some(p)) => return Some(Ok(p)),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Whether `c` may appear in an SD-NAME.
#[inline]
fn is_sd_name(c: u8) -> bool {
    (33..=126).contains(&c) && !matches!(c, b'=' | b']' | b'"' | b' ')
}

/// SD-ID starting at `pos`: the id and the position after it.
fn sd_id(b: &[u8], pos: usize) -> Result<(&[u8], usize), ParseError> {
    let rest = from(b, pos);
    let n = rest.iter().take_while(|&&c| is_sd_name(c)).count();
    if n == 0 {
        return Err(ParseError::new("expected SD-ID", pos));
    }
    Ok((split_at(rest, n).0, pos + n))
}

/// `name="value"` starting at `pos`: name, raw value and the position after the closing quote.
fn sd_param(b: &[u8], pos: usize) -> Result<(&[u8], &[u8], usize), ParseError> {
    let (name, p) = sd_id(b, pos).map_err(|e| ParseError::new("expected PARAM-NAME", e.offset))?;
    if b.get(p..p + 2) != Some(b"=\"") {
        return Err(ParseError::new("expected '=\"'", p));
    }
    let start = p + 2;
    let body = from(b, start);
    let mut i = 0usize;
    loop {
        // Values are short: a plain loop costs less than `memchr2`'s dispatch and set-up.
        let Some(j) = from(body, i).iter().position(|&c| c == b'"' || c == b'\\') else {
            return Err(ParseError::new("unterminated PARAM-VALUE", b.len()));
        };
        let j = i + j;
        if body.get(j) == Some(&b'"') {
            return Ok((name, split_at(body, j).0, start + j + 1));
        }
        i = j + 2;
    }
}

/// Validates one SD element starting with `[` at `pos`; returns the position after its `]`.
pub(crate) fn sd_element_end(b: &[u8], pos: usize) -> Result<usize, ParseError> {
    let (_, mut p) = sd_id(b, pos + 1)?;
    loop {
        match b.get(p) {
            Some(b']') => return Ok(p + 1),
            Some(b' ') => p = sd_param(b, p + 1)?.2,
            _ => return Err(ParseError::new("expected ' ' or ']' in SD element", p)),
        }
    }
}

/// Undoes `\"`, `\\` and `\]` in a PARAM-VALUE; borrowed when there is nothing to undo.
fn unescape_sd(raw: &[u8]) -> Cow<'_, [u8]> {
    let needs = raw.contains(&b'\\')
        && raw
            .windows(2)
            .any(|w| matches!(w, [b'\\', b'"' | b'\\' | b']']));
    if !needs {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter().copied();
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some(n @ (b'"' | b'\\' | b']')) => out.push(n),
            Some(n) => out.extend_from_slice(&[b'\\', n]),
            None => out.push(b'\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syslog::parse;
    use crate::testutil::{mutations, params};
    use proptest::prelude::*;

    #[test]
    fn sd_escapes_and_errors() {
        let sd = br#"[a@1 x="q\"b\\s\]e\n" y=""][empty@2][c z="]"]"#;
        let r = parse(&[&b"<1>1 - h a p m "[..], sd, b" msg"].concat())
            .map(|r| r.structured_data.map(<[u8]>::to_vec))
            .unwrap();
        assert_eq!(r.as_deref(), Some(&sd[..]));
        let p = params(sd);
        assert_eq!(p[0].2, "q\"b\\s]e\\n");
        assert_eq!(p[1].2, "");
        assert_eq!(p[2], ("c".into(), "z".into(), "]".into()));
        assert!(matches!(
            sd_params(br#"[a x="plain"]"#).next(),
            Some(Ok(SdParam {
                value: Cow::Borrowed(_),
                ..
            }))
        ));
        assert_eq!(sd_params(b"-").count(), 0);
        assert_eq!(sd_params(b"").count(), 0);
        for bad in [
            &br#"[a x="1"#[..],
            br#"[a x=1]"#,
            b"[]",
            br#"[a x="1"]x"#,
            br#"[a  x="1"]"#,
            b"x",
        ] {
            let items: Vec<_> = sd_params(bad).collect();
            assert!(
                matches!(items.last(), Some(Err(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The iterator on any bytes ends (after at most one error) and never panics.
        #[test]
        fn sd_params_never_panic_and_end(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let items: Vec<_> = sd_params(&b).take(b.len() + 1).collect();
            prop_assert!(items.len() <= b.len());
            prop_assert!(items.iter().filter(|i| i.is_err()).count() <= 1);
        }

        #[test]
        fn sd_params_never_panic_on_mutations(b in mutations(&[
            br#"[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#,
            br#"[a@1 x="q\"b\\s\]e\n" y=""][empty@2][c z="]"]"#,
        ])) {
            let items: Vec<_> = sd_params(&b).take(b.len() + 1).collect();
            prop_assert!(items.len() <= b.len());
            prop_assert!(items.iter().filter(|i| i.is_err()).count() <= 1);
        }
    }
}
