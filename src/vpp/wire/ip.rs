//! ip messages: `ip_route_lookup`, used to learn each VIP route's
//! `stats_index` (the row of `/net/route/to` in the stats segment).
//!
//! The reply's paths (`vl_api_fib_path_t`, 167 bytes each) are not needed by
//! maglevd; they are kept as opaque, bounds-checked byte blocks with a few
//! accessors, so the reply still re-encodes byte-exactly.

use super::types::{Prefix, Reader, Writer, PREFIX_LEN};
use super::{Message, WireError};

/// Encoded size of one `vl_api_fib_path_t`.
pub const FIB_PATH_LEN: usize = 167;

/// `ip_route_lookup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRouteLookup {
    pub client_index: u32,
    pub context: u32,
    pub table_id: u32,
    /// 1 = exact match only (-6 NO_SUCH_ENTRY if there is no such route).
    pub exact: u8,
    pub prefix: Prefix,
}

impl Message for IpRouteLookup {
    const NAME: &'static str = "ip_route_lookup";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = IpRouteLookup {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            table_id: r.u32("table_id")?,
            exact: r.u8("exact")?,
            prefix: r.prefix("prefix")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + 4 + 1 + PREFIX_LEN
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.u32(self.table_id);
        w.u8(self.exact);
        w.prefix(self.prefix);
    }
}

/// One `vl_api_fib_path_t`, kept as its raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FibPath(pub [u8; FIB_PATH_LEN]);

impl std::fmt::Debug for FibPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FibPath")
            .field("sw_if_index", &self.sw_if_index())
            .field("table_id", &self.table_id())
            .field("weight", &self.weight())
            .field("preference", &self.preference())
            .field("path_type", &self.path_type())
            .field("flags", &self.flags())
            .field("proto", &self.proto())
            .field("n_labels", &self.n_labels())
            .finish()
    }
}

impl FibPath {
    fn be_u32(&self, at: usize) -> u32 {
        let mut word = [0u8; 4];
        if let Some(bytes) = self.0.get(at..at + 4) {
            word.copy_from_slice(bytes);
        }
        u32::from_be_bytes(word)
    }

    fn byte(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }

    pub fn sw_if_index(&self) -> u32 {
        self.be_u32(0)
    }

    pub fn table_id(&self) -> u32 {
        self.be_u32(4)
    }

    pub fn rpf_id(&self) -> u32 {
        self.be_u32(8)
    }

    pub fn weight(&self) -> u8 {
        self.byte(12)
    }

    pub fn preference(&self) -> u8 {
        self.byte(13)
    }

    /// `vl_api_fib_path_type_t`.
    pub fn path_type(&self) -> u32 {
        self.be_u32(14)
    }

    /// `vl_api_fib_path_flags_t`.
    pub fn flags(&self) -> u32 {
        self.be_u32(18)
    }

    /// `vl_api_fib_path_nh_proto_t`.
    pub fn proto(&self) -> u32 {
        self.be_u32(22)
    }

    /// The next-hop address union (16 bytes; no family field of its own).
    pub fn nh_address(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        if let Some(bytes) = self.0.get(26..42) {
            out.copy_from_slice(bytes);
        }
        out
    }

    pub fn n_labels(&self) -> u8 {
        self.byte(54)
    }
}

/// `vl_api_ip_route_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRoute {
    pub table_id: u32,
    /// Row of this route in the stats segment's `/net/route/to`.
    pub stats_index: u32,
    pub prefix: Prefix,
    /// `n_paths` on the wire is this vector's length (at most 255 encoded).
    pub paths: Vec<FibPath>,
}

/// `ip_route_lookup_reply`: 37 + 167·n_paths bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRouteLookupReply {
    pub context: u32,
    pub retval: i32,
    pub route: IpRoute,
}

impl IpRouteLookupReply {
    fn path_count(&self) -> usize {
        self.route.paths.len().min(usize::from(u8::MAX))
    }
}

impl Message for IpRouteLookupReply {
    const NAME: &'static str = "ip_route_lookup_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let context = r.u32("context")?;
        let retval = r.i32("retval")?;
        let table_id = r.u32("route.table_id")?;
        let stats_index = r.u32("route.stats_index")?;
        let prefix = r.prefix("route.prefix")?;
        let n_paths = usize::from(r.u8("route.n_paths")?);
        let mut paths = Vec::with_capacity(n_paths.min(r.remaining() / FIB_PATH_LEN));
        for _ in 0..n_paths {
            paths.push(FibPath(r.array("route.paths")?));
        }
        r.finish()?;
        Ok(IpRouteLookupReply {
            context,
            retval,
            route: IpRoute {
                table_id,
                stats_index,
                prefix,
                paths,
            },
        })
    }

    fn buffer_len(&self) -> usize {
        10 + 4 + 4 + PREFIX_LEN + 1 + self.path_count() * FIB_PATH_LEN
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let n_paths = self.path_count();
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.retval);
        w.u32(self.route.table_id);
        w.u32(self.route.stats_index);
        w.prefix(self.route.prefix);
        w.u8(n_paths as u8);
        for path in self.route.paths.iter().take(n_paths) {
            w.bytes(&path.0);
        }
    }
}
