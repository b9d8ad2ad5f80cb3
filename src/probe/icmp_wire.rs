//! ICMP / ICMPv6 echo packets as the ICMP prober writes and reads them.
//! Pure: builds requests into arrays and classifies received datagrams.
//!
//! Request payload (24 bytes): an 8-byte magic, the probe key and a
//! timestamp (nanoseconds since the engine's epoch), all big-endian. A reply
//! is ours only if it echoes the magic and the key of the outstanding probe
//! with that sequence number.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const MAGIC: [u8; 8] = *b"maglev\x00\x01";
pub const HEADER_LEN: usize = 8;
pub const PAYLOAD_LEN: usize = 24;
pub const REQUEST_LEN: usize = HEADER_LEN + PAYLOAD_LEN;

const V4_ECHO_REPLY: u8 = 0;
const V4_DEST_UNREACH: u8 = 3;
const V4_ECHO_REQUEST: u8 = 8;
const V4_TIME_EXCEEDED: u8 = 11;
const V6_DEST_UNREACH: u8 = 1;
const V6_TIME_EXCEEDED: u8 = 3;
const V6_ECHO_REQUEST: u8 = 128;
const V6_ECHO_REPLY: u8 = 129;
const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;

/// What a received ICMP message says about one of our probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    EchoReply {
        ident: u16,
        seq: u16,
        key: u64,
    },
    /// An error about an echo request we sent to `dest`.
    Error {
        ident: u16,
        seq: u16,
        dest: IpAddr,
        reason: &'static str,
    },
}

/// An echo request. The checksum is filled for IPv4; for ICMPv6 the kernel
/// computes it (it needs the pseudo-header), and ping sockets recompute both.
pub fn echo_request(v6: bool, ident: u16, seq: u16, key: u64, stamp_ns: u64) -> [u8; REQUEST_LEN] {
    let mut p = [0u8; REQUEST_LEN];
    p[0] = if v6 { V6_ECHO_REQUEST } else { V4_ECHO_REQUEST };
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(&MAGIC);
    p[16..24].copy_from_slice(&key.to_be_bytes());
    p[24..32].copy_from_slice(&stamp_ns.to_be_bytes());
    if !v6 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// RFC 1071 Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for pair in chunks.by_ref() {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Skip an IPv4 header (as raw v4 sockets deliver it); `None` if not IPv4/ICMP.
fn strip_ipv4(packet: &[u8]) -> Option<(&[u8], Ipv4Addr)> {
    let first = *packet.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || *packet.get(9)? != PROTO_ICMP {
        return None;
    }
    let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    Some((packet.get(ihl..)?, Ipv4Addr::from(dst)))
}

fn echo_reply(icmp: &[u8]) -> Option<Received> {
    if icmp.get(8..16)? != MAGIC {
        return None;
    }
    Some(Received::EchoReply {
        ident: be16(icmp, 4)?,
        seq: be16(icmp, 6)?,
        key: be64(icmp, 16)?,
    })
}

/// Parse an ICMPv4 message; `with_ip_header` for raw sockets.
pub fn parse_v4(packet: &[u8], with_ip_header: bool) -> Option<Received> {
    let icmp = if with_ip_header {
        strip_ipv4(packet)?.0
    } else {
        packet
    };
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    match kind {
        V4_ECHO_REPLY => echo_reply(icmp),
        V4_DEST_UNREACH | V4_TIME_EXCEEDED => {
            let (inner, dest) = strip_ipv4(icmp.get(HEADER_LEN..)?)?;
            if *inner.first()? != V4_ECHO_REQUEST {
                return None;
            }
            let reason = if kind == V4_TIME_EXCEEDED {
                "time exceeded"
            } else {
                match code {
                    0 => "network unreachable",
                    1 => "host unreachable",
                    2 => "protocol unreachable",
                    3 => "port unreachable",
                    9 | 10 | 13 => "administratively prohibited",
                    _ => "destination unreachable",
                }
            };
            Some(Received::Error {
                ident: be16(inner, 4)?,
                seq: be16(inner, 6)?,
                dest: IpAddr::V4(dest),
                reason,
            })
        }
        _ => None,
    }
}

/// Parse an ICMPv6 message (sockets never include the IPv6 header).
pub fn parse_v6(icmp: &[u8]) -> Option<Received> {
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    match kind {
        V6_ECHO_REPLY => echo_reply(icmp),
        V6_DEST_UNREACH | V6_TIME_EXCEEDED => {
            let ip6 = icmp.get(HEADER_LEN..)?;
            if *ip6.first()? >> 4 != 6 || *ip6.get(6)? != PROTO_ICMPV6 {
                return None;
            }
            let dst: [u8; 16] = ip6.get(24..40)?.try_into().ok()?;
            let inner = ip6.get(40..)?;
            if *inner.first()? != V6_ECHO_REQUEST {
                return None;
            }
            let reason = if kind == V6_TIME_EXCEEDED {
                "time exceeded"
            } else {
                match code {
                    0 => "no route to destination",
                    1 => "administratively prohibited",
                    3 => "address unreachable",
                    4 => "port unreachable",
                    _ => "destination unreachable",
                }
            };
            Some(Received::Error {
                ident: be16(inner, 4)?,
                seq: be16(inner, 6)?,
                dest: IpAddr::V6(Ipv6Addr::from(dst)),
                reason,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_header(proto: u8, dst: [u8; 4]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 127, 0, 0, 1];
        h.extend_from_slice(&dst);
        h
    }

    #[test]
    fn request_layout_and_checksum() {
        let p = echo_request(false, 0x1234, 7, 99, 5);
        assert_eq!(p[0], 8);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        let p6 = echo_request(true, 1, 2, 3, 4);
        assert_eq!((p6[0], p6[2], p6[3]), (128, 0, 0));
        // RFC 1071 example.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn parse_table() {
        let mut reply_v4 = echo_request(false, 0xabcd, 42, 7, 0).to_vec();
        reply_v4[0] = 0;
        let mut raw_reply_v4 = ipv4_header(1, [127, 0, 0, 1]);
        raw_reply_v4.extend_from_slice(&reply_v4);
        let mut own_request_raw = ipv4_header(1, [127, 0, 0, 1]);
        own_request_raw.extend_from_slice(&echo_request(false, 0xabcd, 42, 7, 0));
        let mut unreach_v4 = ipv4_header(1, [127, 0, 0, 1]);
        unreach_v4.extend_from_slice(&[3, 1, 0, 0, 0, 0, 0, 0]);
        unreach_v4.extend_from_slice(&ipv4_header(1, [192, 0, 2, 9]));
        unreach_v4.extend_from_slice(&echo_request(false, 0xabcd, 43, 7, 0)[..8]);
        let mut reply_v6 = echo_request(true, 5, 6, 8, 0).to_vec();
        reply_v6[0] = 129;
        let mut unreach_v6 = vec![1, 3, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 8, 58, 64];
        unreach_v6.extend_from_slice(&[0; 16]);
        unreach_v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        unreach_v6.extend_from_slice(&echo_request(true, 5, 9, 8, 0)[..8]);
        let mut foreign = reply_v4.clone();
        foreign[8] = b'X';

        let cases: Vec<(&str, Option<Received>)> = vec![
            ("v4 dgram reply", parse_v4(&reply_v4, false)),
            ("v4 raw reply", parse_v4(&raw_reply_v4, true)),
            ("v4 own request ignored", parse_v4(&own_request_raw, true)),
            ("v4 unreachable", parse_v4(&unreach_v4, true)),
            ("v4 truncated", parse_v4(&raw_reply_v4[..25], true)),
            ("v4 foreign payload", parse_v4(&foreign, false)),
            ("v6 reply", parse_v6(&reply_v6)),
            ("v6 unreachable", parse_v6(&unreach_v6)),
            ("v6 empty", parse_v6(&[])),
        ];
        let want = [
            Some(Received::EchoReply {
                ident: 0xabcd,
                seq: 42,
                key: 7,
            }),
            Some(Received::EchoReply {
                ident: 0xabcd,
                seq: 42,
                key: 7,
            }),
            None,
            Some(Received::Error {
                ident: 0xabcd,
                seq: 43,
                dest: "192.0.2.9".parse().unwrap(),
                reason: "host unreachable",
            }),
            None,
            None,
            Some(Received::EchoReply {
                ident: 5,
                seq: 6,
                key: 8,
            }),
            Some(Received::Error {
                ident: 5,
                seq: 9,
                dest: "::1".parse().unwrap(),
                reason: "address unreachable",
            }),
            None,
        ];
        for ((name, got), want) in cases.into_iter().zip(want) {
            assert_eq!(got, want, "{name}");
        }
    }
}
