//! lb's internal 16-byte address form (`ip46_address_t`) and VPP's text
//! rendering of it.
//!
//! VPP keeps IPv4 addresses as twelve zero bytes followed by the four IPv4
//! bytes, and decides "is this IPv4?" by looking at those twelve bytes only.
//! So the IPv6 address `::198.51.100.1` *is* the IPv4 address 198.51.100.1 for
//! lb: equality, hashing, the address-family checks and the dumps all work on
//! this form. Modelling it (instead of `IpAddr`) is what makes those quirks
//! come out right.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address in lb's internal form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ip46(pub [u8; 16]);

impl Ip46 {
    pub const ZERO: Ip46 = Ip46([0; 16]);

    /// The form `ip_address_decode` produces from an API address.
    pub fn from_ip(addr: IpAddr) -> Ip46 {
        match addr {
            IpAddr::V4(v4) => {
                let mut bytes = [0u8; 16];
                bytes[12..].copy_from_slice(&v4.octets());
                Ip46(bytes)
            }
            IpAddr::V6(v6) => Ip46(v6.octets()),
        }
    }

    /// `ip46_address_is_ip4`: the twelve pad bytes are zero.
    pub fn is_ip4(&self) -> bool {
        self.0[..12].iter().all(|b| *b == 0)
    }

    /// The address as `ip_address_encode(.., IP46_TYPE_ANY, ..)` reports it.
    pub fn to_ip(&self) -> IpAddr {
        if self.is_ip4() {
            IpAddr::V4(self.ip4())
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }

    fn ip4(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.0[12], self.0[13], self.0[14], self.0[15])
    }

    /// The two `as_u64` words as a little-endian host reads them; the Maglev
    /// seed and the flow hash are computed on these.
    pub fn words_le(&self) -> (u64, u64) {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&self.0[..8]);
        hi.copy_from_slice(&self.0[8..]);
        (u64::from_le_bytes(lo), u64::from_le_bytes(hi))
    }

    /// `ip46_prefix_normalize`: clear the bits past `plen` (internal length,
    /// IPv4 prefixes count from 96).
    pub fn normalized(&self, plen: u8) -> Ip46 {
        let mut out = self.0;
        for (i, byte) in out.iter_mut().enumerate() {
            let bit_start = i * 8;
            let keep = usize::from(plen).saturating_sub(bit_start).min(8);
            let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            *byte &= mask;
        }
        Ip46(out)
    }
}

/// `format_ip46_address(.., IP46_TYPE_ANY)`.
impl fmt::Display for Ip46 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ip4() {
            write!(f, "{}", self.ip4())
        } else {
            f.write_str(&format_ip6(&self.0))
        }
    }
}

/// `format_ip46_prefix(.., IP46_TYPE_ANY)` as lb's util.c writes it: IPv4
/// when the internal length is at least 96 and the pad bytes are zero.
pub fn format_prefix(prefix: &Ip46, plen: u8) -> String {
    if plen >= 96 && prefix.is_ip4() {
        format!("{}/{}", prefix.ip4(), plen - 96)
    } else {
        format!("{}/{}", format_ip6(&prefix.0), plen)
    }
}

/// `format_ip6_address`: compresses the first longest run of at least two
/// zero groups, lower-case hex, never the dotted IPv4 tail that
/// `Ipv6Addr`'s `Display` uses for mapped addresses.
pub fn format_ip6(bytes: &[u8; 16]) -> String {
    let groups: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let mut best: Option<(usize, usize)> = None;
    let mut run_start = 0;
    let mut run_len = 0;
    for (i, group) in groups.iter().enumerate() {
        if *group == 0 {
            if run_len == 0 {
                run_start = i;
            }
            run_len += 1;
        }
        let run_ended = *group != 0 || i == groups.len() - 1;
        if run_ended && run_len > 1 && best.map_or(true, |(_, len)| run_len > len) {
            best = Some((run_start, run_len));
        }
        if *group != 0 {
            run_len = 0;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    let mut after_double_colon = false;
    while i < groups.len() {
        match best {
            Some((start, len)) if start == i => {
                out.push_str("::");
                i += len;
                after_double_colon = true;
            }
            _ => {
                if !(after_double_colon || i == 0) {
                    out.push(':');
                }
                out.push_str(&format!("{:x}", groups[i]));
                after_double_colon = false;
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ip46 {
        Ip46::from_ip(text.parse().unwrap())
    }

    #[test]
    fn display_matches_vpp() {
        let cases = [
            ("198.51.100.1", "198.51.100.1"),
            ("2001:db8:1::1", "2001:db8:1::1"),
            ("2001:db8::443", "2001:db8::443"),
            // No pad bytes set: lb treats these as IPv4 too.
            ("::", "0.0.0.0"),
            ("::1", "0.0.0.1"),
            ("1::", "1::"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("2001:0:1:2:3:4:5:6", "2001:0:1:2:3:4:5:6"),
            ("::ffff:198.51.100.1", "::ffff:c633:6401"),
            // IPv4-compatible: lb sees an IPv4 address.
            ("::198.51.100.1", "198.51.100.1"),
        ];
        for (input, want) in cases {
            assert_eq!(ip(input).to_string(), want, "{input}");
        }
    }

    #[test]
    fn ip6_text_of_short_addresses() {
        assert_eq!(format_ip6(&[0; 16]), "::");
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(format_ip6(&one), "::1");
        assert_eq!(format_prefix(&Ip46::ZERO, 0), "::/0");
    }

    #[test]
    fn prefixes_and_normalisation() {
        assert_eq!(format_prefix(&ip("192.0.2.80"), 128), "192.0.2.80/32");
        assert_eq!(format_prefix(&ip("2001:db8::80"), 128), "2001:db8::80/128");
        assert_eq!(ip("192.0.2.81").normalized(96 + 24), ip("192.0.2.0"));
        assert_eq!(ip("2001:db8::80").normalized(64), ip("2001:db8::"));
        assert_eq!(ip("2001:db8::80").normalized(0), Ip46::ZERO);
        assert_eq!(ip("10.1.2.3").normalized(96 + 9), ip("10.0.0.0"));
        assert_eq!(
            ip("::198.51.100.1").to_ip(),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
    }
}
