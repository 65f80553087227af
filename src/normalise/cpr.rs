//! CPR pseudonymisation: Danish personal numbers become `CPR:` + a keyed hash before anything leaves.
//!
//! A CPR number is `DDMMYY-SSSS` or `DDMMYYSSSS` with day 01–31 and month 01–12, not part of a longer
//! run of digits. With a site key it becomes `CPR:` and the first 12 hex digits of
//! HMAC-SHA256(key, the ten digits), so one person can be followed across events; without a key it
//! becomes `CPR:REDACTED`.

use std::borrow::Cow;
use std::fmt::Write;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::digit_runs;
use super::text::lies_within;
use crate::event::{Event, Value};

/// Replaces CPR numbers in strings.
#[derive(Clone)]
pub struct CprRedactor {
    mac: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for CprRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CprRedactor")
            .field("keyed", &self.mac.is_some())
            .finish()
    }
}

impl CprRedactor {
    /// Pseudonymises with HMAC-SHA256 under `key`.
    pub fn with_key(key: &[u8]) -> Self {
        // HMAC takes keys of any length; new_from_slice cannot fail for it.
        CprRedactor {
            mac: Hmac::<Sha256>::new_from_slice(key).ok(),
        }
    }

    /// Replaces every CPR number with `CPR:REDACTED`.
    pub fn without_key() -> Self {
        CprRedactor { mac: None }
    }

    /// Redacts `msg` and every string field of `event`; true if anything was replaced.
    ///
    /// A field borrowed from inside a `msg` that holds no CPR number is not scanned again: a CPR number
    /// is defined on the record's text, and that text was just found to hold none.
    pub fn redact_event(&self, event: &mut Event<'_>) -> bool {
        let mut any = self.redact_cow(&mut event.msg);
        // Still borrowed after the scan: nothing was replaced in it.
        let clean_msg: &[u8] = match &event.msg {
            Cow::Borrowed(msg) => msg.as_bytes(),
            Cow::Owned(_) => &[],
        };
        for field in &mut event.fields {
            match &mut field.value {
                Value::Str(Cow::Borrowed(s)) if lies_within(s.as_bytes(), clean_msg) => {}
                // Too short to hold a CPR number: not worth a call.
                Value::Str(s) if s.len() < 10 => {}
                Value::Str(s) => any |= self.redact_cow(s),
                // A CPR number sent as a JSON number (ten digits, so day 10–31).
                Value::Int(n) if (1_000_000_000..=9_999_999_999).contains(n) => {
                    if let Some(text) = self.redact(&n.to_string()) {
                        field.value = Value::Str(Cow::Owned(text));
                        any = true;
                    }
                }
                _ => {}
            }
        }
        any
    }

    fn redact_cow(&self, text: &mut Cow<'_, str>) -> bool {
        match self.redact(text) {
            Some(replaced) => {
                *text = Cow::Owned(replaced);
                true
            }
            None => false,
        }
    }

    /// `text` with every CPR number replaced, or `None` when it holds none.
    ///
    /// Only a maximal digit run of exactly 6 or 10 can start a CPR number, so only the runs of six or
    /// more that [`digit_runs::next_run_start`] finds are looked at.
    pub fn redact(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut from = 0;
        while let Some(start) = digit_runs::next_run_start(bytes, from) {
            let mut end = start + 6;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            // The next search starts at the end of a digit run, as `next_run_start` asks: the end
            // of this run, or (below) of a dashed number's serial.
            from = end;
            if let Some((cpr_end, digits)) = cpr_at(bytes, start, end) {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
                out.push_str(&text[copied..start]);
                self.write_pseudonym(&digits, out);
                copied = cpr_end;
                from = cpr_end;
            }
        }
        out.map(|mut out| {
            out.push_str(&text[copied..]);
            out
        })
    }

    fn write_pseudonym(&self, digits: &[u8; 10], out: &mut String) {
        out.push_str("CPR:");
        match &self.mac {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(digits);
                for byte in &mac.finalize().into_bytes()[..6] {
                    let _ = write!(out, "{byte:02x}");
                }
            }
            None => out.push_str("REDACTED"),
        }
    }
}

/// A CPR number starting at `start`, where the digit run is `start..run_end`: its end and ten digits.
fn cpr_at(bytes: &[u8], start: usize, run_end: usize) -> Option<(usize, [u8; 10])> {
    let mut digits = [0u8; 10];
    let end = match run_end - start {
        10 => {
            digits.copy_from_slice(&bytes[start..run_end]);
            run_end
        }
        6 if bytes.get(run_end) == Some(&b'-') => {
            let serial = bytes.get(run_end + 1..run_end + 5)?;
            let after = bytes.get(run_end + 5);
            if !serial.iter().all(u8::is_ascii_digit) || after.is_some_and(u8::is_ascii_digit) {
                return None;
            }
            digits[..6].copy_from_slice(&bytes[start..run_end]);
            digits[6..].copy_from_slice(serial);
            run_end + 5
        }
        _ => return None,
    };
    let day = (digits[0] - b'0') * 10 + (digits[1] - b'0');
    let month = (digits[2] - b'0') * 10 + (digits[3] - b'0');
    ((1..=31).contains(&day) && (1..=12).contains(&month)).then_some((end, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed() -> CprRedactor {
        CprRedactor::with_key(b"golden-test-key")
    }

    #[test]
    fn both_forms_are_pseudonymised_with_the_key() {
        let r = keyed();
        assert_eq!(
            r.redact("cpr=010190-1234&x=2").unwrap(),
            "cpr=CPR:cbaaeb5e37e1&x=2"
        );
        assert_eq!(
            r.redact("borger 2404851234 afvist").unwrap(),
            "borger CPR:15ba49e3ce95 afvist"
        );
    }

    #[test]
    fn finds_numbers_at_every_position() {
        let r = CprRedactor::without_key();
        for pad in 0..8 {
            let prefix = "x".repeat(pad);
            assert_eq!(
                r.redact(&format!("{prefix}0101901234")).unwrap(),
                format!("{prefix}CPR:REDACTED")
            );
            assert_eq!(
                r.redact(&format!("{prefix}010190-1234;")).unwrap(),
                format!("{prefix}CPR:REDACTED;")
            );
            assert_eq!(
                r.redact(&format!("{prefix}1 0101901234 2")).unwrap(),
                format!("{prefix}1 CPR:REDACTED 2")
            );
        }
        assert_eq!(
            r.redact("0101901234 0202021111-0303031234").unwrap(),
            "CPR:REDACTED CPR:REDACTED-CPR:REDACTED"
        );
    }

    /// The definition, written the slow and obvious way.
    fn reference(text: &str) -> String {
        let b = text.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let (mut out, mut i) = (String::new(), 0);
        while i < b.len() {
            let starts_run = digit(i) && (i == 0 || !digit(i - 1));
            let plain = starts_run && (i..i + 10).all(digit) && !digit(i + 10);
            let dashed = starts_run
                && (i..i + 6).all(digit)
                && b.get(i + 6) == Some(&b'-')
                && (i + 7..i + 11).all(digit)
                && !digit(i + 11);
            let valid = |d: &[u8]| {
                let day = (d[0] - b'0') * 10 + (d[1] - b'0');
                let month = (d[2] - b'0') * 10 + (d[3] - b'0');
                (1..=31).contains(&day) && (1..=12).contains(&month)
            };
            if (plain || dashed) && valid(&b[i..i + 4]) {
                out.push_str("CPR:REDACTED");
                i += if plain { 10 } else { 11 };
            } else {
                out.push(b[i] as char);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn agrees_with_the_definition_on_random_text() {
        let r = CprRedactor::without_key();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..80))
                .map(|_| *rng.choice(b"0112-x ").unwrap() as char)
                .collect();
            let got = r.redact(&text).unwrap_or_else(|| text.clone());
            assert_eq!(got, reference(&text), "input {text:?}");
        }
    }

    #[test]
    fn the_same_person_gets_the_same_pseudonym() {
        let r = keyed();
        assert_eq!(
            r.redact("0101901234").unwrap(),
            r.redact("010190-1234").unwrap()
        );
    }

    #[test]
    fn not_a_cpr() {
        let r = keyed();
        assert_eq!(r.redact("order 12345678901 shipped"), None, "11 digits");
        assert_eq!(r.redact("id 3201901234"), None, "day 32");
        assert_eq!(r.redact("id 0113901234"), None, "month 13");
        assert_eq!(r.redact("010190-12345"), None, "serial too long");
        assert_eq!(r.redact("9010190-1234"), None, "embedded");
        assert_eq!(r.redact("port 63673 from 10.0.2.2"), None);
        assert_eq!(r.redact(""), None);
        assert_eq!(r.redact("12345"), None);
    }

    #[test]
    fn numeric_fields_are_redacted_too() {
        let mut event = Event::new("d", "s");
        event.int("cpr", 2_404_851_234);
        event.int("case_id", 5512);
        assert!(keyed().redact_event(&mut event));
        assert_eq!(
            event.get("cpr"),
            Some(&Value::Str("CPR:15ba49e3ce95".into()))
        );
        assert_eq!(event.get("case_id"), Some(&Value::Int(5512)));
    }

    #[test]
    fn fields_outside_a_clean_msg_are_still_scanned() {
        let mut event = Event::new("d", "s");
        event.msg = Cow::Borrowed("no number here");
        event.str("message", String::from("unescaped 0101901234"));
        assert!(keyed().redact_event(&mut event));
        assert_eq!(
            event.get("message"),
            Some(&Value::Str("unescaped CPR:cbaaeb5e37e1".into()))
        );
    }

    #[test]
    fn without_key_redacts() {
        let r = CprRedactor::without_key();
        assert_eq!(
            r.redact("a 010190-1234 b 0202021111").unwrap(),
            "a CPR:REDACTED b CPR:REDACTED"
        );
    }
}
