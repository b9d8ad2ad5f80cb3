//! API socket framing (WIRE.md §1): every message in both directions is a
//! 16-byte header (`q` junk, big-endian u32 body length, `gc_mark`) followed
//! by the body. [`FrameReader`] reassembles frames from arbitrary byte chunks
//! without doing any I/O itself.

use super::error::WireError;

/// Size of the frame header that precedes every body.
pub const HEADER_LEN: usize = 16;

/// Default limit for one body. The largest legitimate frame is the
/// handshake reply (57,638-byte body with 873 table entries); 1 MiB leaves
/// room for much larger message tables while refusing absurd lengths.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// One complete message body as received (header stripped; the `q` and
/// `gc_mark` words carry no meaning for a socket client and are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub body: Vec<u8>,
}

impl Frame {
    /// The big-endian message id in the first two body bytes.
    pub fn msg_id(&self) -> Result<u16, WireError> {
        body_msg_id(&self.body)
    }
}

/// The message id of a body, or an error if it has fewer than 2 bytes.
pub fn body_msg_id(body: &[u8]) -> Result<u16, WireError> {
    match body {
        [hi, lo, ..] => Ok(u16::from_be_bytes([*hi, *lo])),
        _ => Err(WireError::FrameWithoutMsgId { len: body.len() }),
    }
}

/// Appends the header for a body of `body_len` bytes: `q` = 0, the length,
/// `gc_mark` = 0 (what VPP expects from a client).
pub fn encode_header(body_len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(body_len).unwrap_or(u32::MAX);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
}

/// Appends a whole frame (header + `body`).
pub fn encode_frame(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(HEADER_LEN + body.len());
    encode_header(body.len(), out);
    out.extend_from_slice(body);
}

/// Appends a frame whose body is produced by `emit_body`; the length is
/// patched in afterwards so it is always the number of bytes really written.
pub fn encode_frame_with(out: &mut Vec<u8>, emit_body: impl FnOnce(&mut Vec<u8>)) {
    let header_at = out.len();
    encode_header(0, out);
    let body_at = out.len();
    emit_body(out);
    let len = u32::try_from(out.len() - body_at).unwrap_or(u32::MAX);
    if let Some(field) = out.get_mut(header_at + 8..header_at + 12) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

/// Sans-IO reassembly of frames from a byte stream.
///
/// Feed whatever `read()` returned with [`push`](Self::push), then call
/// [`next_frame`](Self::next_frame) until it returns `None`. A header
/// announcing a body above the limit is an error and poisons the reader: the
/// stream cannot be resynchronised, so the connection must be dropped.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Start of the first unconsumed byte in `buf`.
    start: usize,
    max_body: usize,
    failed: Option<WireError>,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    pub fn new() -> Self {
        Self::with_max_body(DEFAULT_MAX_BODY)
    }

    pub fn with_max_body(max_body: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            start: 0,
            max_body,
            failed: None,
        }
    }

    /// Appends received bytes. Ignored once the reader has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // Compact lazily: only when the consumed prefix dominates, so a
        // chunk holding many small frames costs one move, not one per frame.
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame, `None` if more bytes are needed, or the
    /// (sticky) error if the stream is unusable.
    pub fn next_frame(&mut self) -> Option<Result<Frame, WireError>> {
        if let Some(err) = &self.failed {
            return Some(Err(err.clone()));
        }
        let pending = self.buf.get(self.start..)?;
        let len_field: [u8; 4] = pending.get(8..12)?.try_into().ok()?;
        let body_len = usize::try_from(u32::from_be_bytes(len_field)).unwrap_or(usize::MAX);
        if body_len > self.max_body {
            let err = WireError::FrameTooLarge {
                len: body_len,
                max: self.max_body,
            };
            self.failed = Some(err.clone());
            self.buf = Vec::new();
            self.start = 0;
            return Some(Err(err));
        }
        let frame_len = HEADER_LEN.saturating_add(body_len);
        let body = pending.get(HEADER_LEN..frame_len)?.to_vec();
        self.start += frame_len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Some(Ok(Frame { body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_bytes(body: &[u8], junk_q: bool) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(body, &mut out);
        if junk_q {
            out[..8].copy_from_slice(&[0xc0, 0xc4, 0x04, 0x30, 0x01, 0, 0, 0]);
        }
        out
    }

    fn bodies(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut b = vec![0, (i % 256) as u8];
                b.extend(std::iter::repeat(i as u8).take(i * 7 % 40));
                b
            })
            .collect()
    }

    #[test]
    fn header_layout() {
        let mut out = Vec::new();
        encode_frame(&[0, 15, 1, 2], &mut out);
        assert_eq!(out[..16], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
        assert_eq!(out[16..], [0, 15, 1, 2]);
    }

    #[test]
    fn encode_frame_with_patches_the_length() {
        let mut out = vec![0xaa];
        encode_frame_with(&mut out, |b| b.extend_from_slice(&[1, 2, 3]));
        assert_eq!(out.len(), 1 + HEADER_LEN + 3);
        assert_eq!(out[9..13], [0, 0, 0, 3]);
    }

    #[test]
    fn one_byte_chunks() {
        let want = bodies(20);
        let stream: Vec<u8> = want.iter().flat_map(|b| frame_bytes(b, true)).collect();
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        for byte in &stream {
            reader.push(std::slice::from_ref(byte));
            while let Some(frame) = reader.next_frame() {
                got.push(frame.unwrap().body);
            }
        }
        assert_eq!(got, want);
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn many_frames_in_one_chunk_then_a_split_one() {
        let want = bodies(50);
        let mut stream: Vec<u8> = want.iter().flat_map(|b| frame_bytes(b, false)).collect();
        let tail = frame_bytes(&[0, 99, 7, 7, 7], true);
        stream.extend_from_slice(&tail[..10]);
        let mut reader = FrameReader::new();
        reader.push(&stream);
        let mut got = Vec::new();
        while let Some(frame) = reader.next_frame() {
            got.push(frame.unwrap().body);
        }
        assert_eq!(got, want);
        assert_eq!(reader.buffered(), 10);
        reader.push(&tail[10..]);
        let last = reader.next_frame().unwrap().unwrap();
        assert_eq!(last.msg_id().unwrap(), 99);
        assert!(reader.next_frame().is_none());
    }

    #[test]
    fn handshake_sized_frame_passes_default_limit() {
        let body = vec![0u8; 57_638];
        let mut reader = FrameReader::new();
        for chunk in frame_bytes(&body, false).chunks(4096) {
            reader.push(chunk);
        }
        assert_eq!(reader.next_frame().unwrap().unwrap().body.len(), 57_638);
    }

    #[test]
    fn oversized_length_is_an_error_without_allocation() {
        let mut reader = FrameReader::new();
        let mut header = Vec::new();
        encode_header(0xffff_fff0, &mut header);
        reader.push(&header);
        let err = reader.next_frame().unwrap().unwrap_err();
        assert_eq!(
            err,
            WireError::FrameTooLarge {
                len: 0xffff_fff0,
                max: DEFAULT_MAX_BODY
            }
        );
        // Sticky: later bytes are not trusted.
        reader.push(&frame_bytes(&[0, 1], false));
        assert_eq!(reader.next_frame().unwrap().unwrap_err(), err);
    }

    #[test]
    fn limit_is_inclusive() {
        let mut reader = FrameReader::with_max_body(4);
        reader.push(&frame_bytes(&[0, 1, 2, 3], false));
        assert!(reader.next_frame().unwrap().is_ok());
        reader.push(&frame_bytes(&[0, 1, 2, 3, 4], false));
        assert!(reader.next_frame().unwrap().is_err());
    }

    #[test]
    fn empty_body_frame_has_no_msg_id() {
        let mut reader = FrameReader::new();
        reader.push(&frame_bytes(&[], false));
        let frame = reader.next_frame().unwrap().unwrap();
        assert_eq!(frame.msg_id(), Err(WireError::FrameWithoutMsgId { len: 0 }));
    }
}
