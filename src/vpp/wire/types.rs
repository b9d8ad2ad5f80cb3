//! Primitive encodings of the VPP binary API (WIRE.md §2): a bounds-checked
//! [`Reader`] over a message body, a [`Writer`] appending to a `Vec<u8>`, and
//! the shared composite types (`vl_api_address_t`, `vl_api_prefix_t`).
//!
//! Everything is big-endian and packed (no padding anywhere). The reader
//! never panics: each read checks the remaining length first and reports the
//! message, field and offset on failure.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::WireError;

/// Encoded size of `vl_api_address_t`: `u8 af` + 16-byte union.
pub const ADDRESS_LEN: usize = 17;
/// Encoded size of `vl_api_prefix_t` / `vl_api_address_with_prefix_t`.
pub const PREFIX_LEN: usize = 18;

const AF_IP4: u8 = 0;
const AF_IP6: u8 = 1;

/// `vl_api_prefix_t` and `vl_api_address_with_prefix_t` (same encoding).
///
/// `len` is kept as sent: IPv4 prefixes use 0–32 on the wire (VPP adds 96
/// internally), and VPP does not validate it, so neither do we.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn new(addr: IpAddr, len: u8) -> Self {
        Prefix { addr, len }
    }

    /// The all-zero IPv4 prefix `0.0.0.0/0` dumps use to mean "everything".
    pub const ZERO_V4: Prefix = Prefix {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        len: 0,
    };
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Bounds-checked cursor over one message body (the body starts with the
/// 2-byte message id).
#[derive(Debug)]
pub struct Reader<'a> {
    message: &'static str,
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned after the message id (offset 2). The id itself is
    /// the dispatcher's business; it is only length-checked here.
    pub fn after_msg_id(message: &'static str, body: &'a [u8]) -> Result<Self, WireError> {
        let mut reader = Reader {
            message,
            body,
            pos: 0,
        };
        reader.u16("_vl_msg_id")?;
        Ok(reader)
    }

    /// Offset of the next byte to be read, from the start of the body.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.body.len().saturating_sub(self.pos)
    }

    /// Fails unless the whole body has been consumed.
    pub fn finish(self) -> Result<(), WireError> {
        if self.pos == self.body.len() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes {
                message: self.message,
                consumed: self.pos,
                len: self.body.len(),
            })
        }
    }

    /// The next `n` bytes, or a `Truncated` error naming `field`.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], WireError> {
        let available = self.remaining();
        if n > available {
            return Err(WireError::Truncated {
                message: self.message,
                field,
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let start = self.pos;
        self.pos += n;
        self.body.get(start..start + n).ok_or(WireError::Truncated {
            message: self.message,
            field,
            offset: start,
            needed: n,
            available,
        })
    }

    /// Fixed-size byte array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    /// An error for a value read at `offset` that its type does not allow.
    pub fn invalid(&self, field: &'static str, offset: usize, value: u32) -> WireError {
        WireError::InvalidValue {
            message: self.message,
            field,
            offset,
            value,
        }
    }

    /// `bool`: one byte, strictly 0 or 1 (anything else means we are
    /// decoding the wrong layout).
    pub fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        let offset = self.pos;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.invalid(field, offset, u32::from(other))),
        }
    }

    /// A u32 enum, converted by `from_u32`; unknown members are errors.
    pub fn enum_u32<T>(
        &mut self,
        field: &'static str,
        from_u32: fn(u32) -> Option<T>,
    ) -> Result<T, WireError> {
        let offset = self.pos;
        let raw = self.u32(field)?;
        from_u32(raw).ok_or_else(|| self.invalid(field, offset, raw))
    }

    pub fn ip4(&mut self, field: &'static str) -> Result<Ipv4Addr, WireError> {
        Ok(Ipv4Addr::from(self.array::<4>(field)?))
    }

    pub fn ip6(&mut self, field: &'static str) -> Result<Ipv6Addr, WireError> {
        Ok(Ipv6Addr::from(self.array::<16>(field)?))
    }

    /// `vl_api_address_t`: af 0 takes union bytes 0–3 and ignores 4–15 (as
    /// VPP's own decoder does); af 1 takes all 16; other af values are errors.
    pub fn address(&mut self, field: &'static str) -> Result<IpAddr, WireError> {
        let offset = self.pos;
        let raw: [u8; ADDRESS_LEN] = self.array(field)?;
        let (af, union) = raw.split_at(1);
        match af.first().copied() {
            Some(AF_IP4) => {
                let mut v4 = [0u8; 4];
                v4.copy_from_slice(union.get(..4).unwrap_or(&[0; 4]));
                Ok(IpAddr::V4(Ipv4Addr::from(v4)))
            }
            Some(AF_IP6) => {
                let mut v6 = [0u8; 16];
                v6.copy_from_slice(union);
                Ok(IpAddr::V6(Ipv6Addr::from(v6)))
            }
            other => Err(self.invalid(field, offset, u32::from(other.unwrap_or(0)))),
        }
    }

    /// `vl_api_prefix_t`: address + `u8 len`.
    pub fn prefix(&mut self, field: &'static str) -> Result<Prefix, WireError> {
        let addr = self.address(field)?;
        let len = self.u8(field)?;
        Ok(Prefix { addr, len })
    }

    /// `string x[N]`: exactly N bytes, text up to the first NUL (all N if
    /// there is none). Invalid UTF-8 is replaced, not rejected: these are
    /// display strings.
    pub fn fixed_string(&mut self, field: &'static str, n: usize) -> Result<String, WireError> {
        let raw = self.take(field, n)?;
        let text = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// `string x[]`: u32 byte count + bytes, no terminator. The count is
    /// checked against the remaining body before anything is allocated.
    pub fn var_string(&mut self, field: &'static str) -> Result<String, WireError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let raw = self.take(field, len)?;
        Ok(String::from_utf8_lossy(raw).into_owned())
    }
}

/// Appends big-endian, packed fields to a body buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// Starts a body: reserves `len` more bytes and writes the message id.
    pub fn start(buf: &'a mut Vec<u8>, msg_id: u16, len: usize) -> Self {
        buf.reserve(len);
        let mut writer = Writer { buf };
        writer.u16(msg_id);
        writer
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    pub fn ip4(&mut self, v: Ipv4Addr) {
        self.bytes(&v.octets());
    }

    pub fn ip6(&mut self, v: Ipv6Addr) {
        self.bytes(&v.octets());
    }

    /// `vl_api_address_t`; IPv4 goes in union bytes 0–3, the rest zero (not
    /// IPv4-mapped IPv6).
    pub fn address(&mut self, v: IpAddr) {
        match v {
            IpAddr::V4(v4) => {
                self.u8(AF_IP4);
                self.ip4(v4);
                self.bytes(&[0; 12]);
            }
            IpAddr::V6(v6) => {
                self.u8(AF_IP6);
                self.ip6(v6);
            }
        }
    }

    pub fn prefix(&mut self, v: Prefix) {
        self.address(v.addr);
        self.u8(v.len);
    }

    /// `string x[N]`: at most N−1 bytes of text (so a NUL always
    /// terminates), NUL-padded to exactly N bytes.
    pub fn fixed_string(&mut self, s: &str, n: usize) {
        let text = s.as_bytes();
        let used = text.len().min(n.saturating_sub(1));
        self.bytes(text.get(..used).unwrap_or(&[]));
        self.buf.resize(self.buf.len() + (n - used), 0);
    }

    /// `string x[]`: u32 byte count + bytes. Text beyond u32::MAX bytes
    /// cannot be represented and is cut.
    pub fn var_string(&mut self, s: &str) {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.bytes(s.as_bytes().get(..len as usize).unwrap_or(&[]));
    }
}

/// Encoded size of a variable string holding `s`.
pub fn var_string_len(s: &str) -> usize {
    4 + s.len().min(u32::MAX as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8]) -> Vec<u8> {
        let mut b = vec![0x12, 0x34];
        b.extend_from_slice(bytes);
        b
    }

    #[test]
    fn ipv4_address_uses_union_bytes_0_to_3() {
        // WIRE.md §2: 192.0.2.80 → 00 c0 00 02 50 + 12 zero bytes.
        let mut buf = Vec::new();
        Writer { buf: &mut buf }.address("192.0.2.80".parse().unwrap());
        let mut want = vec![0x00, 0xc0, 0x00, 0x02, 0x50];
        want.extend_from_slice(&[0; 12]);
        assert_eq!(buf, want);
        let b = body(&buf);
        let mut r = Reader::after_msg_id("t", &b).unwrap();
        assert_eq!(
            r.address("a").unwrap(),
            "192.0.2.80".parse::<IpAddr>().unwrap()
        );
        r.finish().unwrap();
    }

    #[test]
    fn ipv6_prefix_round_trips() {
        let p = Prefix::new("2001:db8::443".parse().unwrap(), 128);
        let mut buf = Vec::new();
        Writer { buf: &mut buf }.prefix(p);
        assert_eq!(buf.len(), PREFIX_LEN);
        assert_eq!(buf[0], 1);
        assert_eq!(buf[17], 128);
        let b = body(&buf);
        let mut r = Reader::after_msg_id("t", &b).unwrap();
        assert_eq!(r.prefix("p").unwrap(), p);
        assert_eq!(p.to_string(), "2001:db8::443/128");
    }

    #[test]
    fn bad_address_family_and_bool_are_errors() {
        let mut raw = vec![2u8];
        raw.extend_from_slice(&[0; 16]);
        let b = body(&raw);
        let err = Reader::after_msg_id("m", &b)
            .unwrap()
            .address("addr")
            .unwrap_err();
        assert_eq!(
            err,
            WireError::InvalidValue {
                message: "m",
                field: "addr",
                offset: 2,
                value: 2
            }
        );
        let b = body(&[7]);
        assert!(Reader::after_msg_id("m", &b).unwrap().bool("b").is_err());
    }

    #[test]
    fn fixed_string_cases() {
        let cases: &[(&str, usize, &[u8])] = &[
            ("vpe", 6, b"vpe\0\0\0"),
            ("", 3, b"\0\0\0"),
            ("abcdef", 4, b"abc\0"), // keeps N-1 bytes + NUL
            ("abc", 4, b"abc\0"),
        ];
        for (text, n, want) in cases {
            let mut buf = Vec::new();
            Writer { buf: &mut buf }.fixed_string(text, *n);
            assert_eq!(&buf[..], *want, "{text:?}[{n}]");
            let b = body(&buf);
            let decoded = Reader::after_msg_id("t", &b)
                .unwrap()
                .fixed_string("s", *n)
                .unwrap();
            assert_eq!(decoded, text.get(..n - 1).unwrap_or(text));
        }
        // No NUL at all: all N bytes are text.
        let b = body(b"abcd");
        assert_eq!(
            Reader::after_msg_id("t", &b)
                .unwrap()
                .fixed_string("s", 4)
                .unwrap(),
            "abcd"
        );
    }

    #[test]
    fn var_string_length_is_checked_before_use() {
        let b = body(&[0xff, 0xff, 0xff, 0xff, b'x']);
        let err = Reader::after_msg_id("m", &b)
            .unwrap()
            .var_string("cmd")
            .unwrap_err();
        assert_eq!(
            err,
            WireError::Truncated {
                message: "m",
                field: "cmd",
                offset: 6,
                needed: u32::MAX as usize,
                available: 1
            }
        );
        let mut buf = Vec::new();
        Writer { buf: &mut buf }.var_string("show lb vips verbose");
        assert_eq!(&buf[..4], &[0, 0, 0, 20]);
        assert_eq!(buf.len(), var_string_len("show lb vips verbose"));
    }

    #[test]
    fn empty_body_has_no_msg_id() {
        let err = Reader::after_msg_id("m", &[0x01]).unwrap_err();
        assert!(matches!(
            err,
            WireError::Truncated {
                needed: 2,
                available: 1,
                ..
            }
        ));
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let b = body(&[1, 2]);
        let mut r = Reader::after_msg_id("m", &b).unwrap();
        r.u8("x").unwrap();
        assert_eq!(
            r.finish().unwrap_err(),
            WireError::TrailingBytes {
                message: "m",
                consumed: 3,
                len: 4
            }
        );
    }
}
