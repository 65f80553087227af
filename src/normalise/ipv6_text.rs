//! The canonical text of an IPv6 address (RFC 5952, as `std`'s `Display` writes it), built on the stack.

use std::net::Ipv6Addr;

/// Canonical IPv6 text: lowercase hex groups without leading zeros, the longest run of two or more
/// zero groups (the first of equal runs) written `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
/// The same text as `Ipv6Addr`'s `Display`, without the formatting machinery.
pub struct Ipv6Text {
    /// 39 bytes is the longest form (eight groups of four hex digits).
    buf: [u8; 40],
    len: usize,
}

impl Ipv6Text {
    pub fn new(ip: Ipv6Addr) -> Self {
        let mut text = Ipv6Text {
            buf: [0; 40],
            len: 0,
        };
        if let Some(v4) = ip.to_ipv4_mapped() {
            text.push(b"::ffff:");
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text.push(b".");
                }
                text.decimal(octet);
            }
            return text;
        }
        let groups = ip.segments();
        let (start, len) = longest_zero_run(&groups);
        if len > 1 {
            text.groups(&groups[..start]);
            text.push(b"::");
            text.groups(&groups[start + len..]);
        } else {
            text.groups(&groups);
        }
        text
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// `groups` in hex, separated by `:`.
    fn groups(&mut self, groups: &[u16]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, &group) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b":");
            }
            let digits = (16 - group.leading_zeros() as usize).div_ceil(4).max(1);
            for shift in (0..digits).rev() {
                self.push(&[HEX[usize::from(group >> (4 * shift) & 0xf)]]);
            }
        }
    }

    fn decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(&[b'0' + n / 100]);
        }
        if n >= 10 {
            self.push(&[b'0' + n / 10 % 10]);
        }
        self.push(&[b'0' + n % 10]);
    }
}

/// Start and length of the first longest run of zero groups (length 0 when there is none).
fn longest_zero_run(groups: &[u16; 8]) -> (usize, usize) {
    let (mut best, mut current) = ((0, 0), (0, 0));
    for (i, &group) in groups.iter().enumerate() {
        if group == 0 {
            if current.1 == 0 {
                current.0 = i;
            }
            current.1 += 1;
            if current.1 > best.1 {
                best = current;
            }
        } else {
            current = (0, 0);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ip: Ipv6Addr) -> String {
        String::from_utf8(Ipv6Text::new(ip).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn agrees_with_display() {
        let mut rng = fastrand::Rng::with_seed(11);
        let fixed = [
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
            "::ffff:0:0".parse().unwrap(),
            "::ffff:192.0.2.128".parse().unwrap(),
            "::192.0.2.128".parse().unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            "2001:db8:0:1:1:1:1:1".parse().unwrap(),
            "2001:0:0:1:0:0:0:1".parse().unwrap(),
            "1:0:0:2:0:0:3:4".parse().unwrap(),
        ];
        for ip in fixed {
            assert_eq!(text(ip), ip.to_string());
        }
        for _ in 0..50_000 {
            // Mostly zero groups, so runs of every length and position occur.
            let groups: [u16; 8] = std::array::from_fn(|_| match rng.u8(0..4) {
                0 | 1 => 0,
                2 => rng.u16(0..0x100),
                _ => rng.u16(..),
            });
            let mut ip = Ipv6Addr::from(groups);
            if rng.u8(0..8) == 0 {
                ip = Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, groups[6], groups[7]]);
            }
            assert_eq!(text(ip), ip.to_string(), "{groups:x?}");
        }
    }
}
