//! A tiny PEM → DER decoder (RFC 7468 "strict" textual encoding, lenient on
//! whitespace), so the system CA bundle can be loaded without extra crates.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemError {
    /// A BEGIN line without its END line.
    Unterminated { label: String },
    /// A character outside the base64 alphabet, or bad padding.
    BadBase64 { label: String, block: usize },
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemError::Unterminated { label } => write!(f, "unterminated PEM block {label:?}"),
            PemError::BadBase64 { label, block } => {
                write!(f, "invalid base64 in PEM block {label:?} #{block}")
            }
        }
    }
}

/// The DER contents of every `-----BEGIN <label>-----` block, in order.
/// Blocks with other labels and text between blocks are skipped.
pub fn decode_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != begin {
            continue;
        }
        let mut body = String::new();
        let mut terminated = false;
        for line in lines.by_ref() {
            if line == end {
                terminated = true;
                break;
            }
            body.push_str(line);
        }
        if !terminated {
            return Err(PemError::Unterminated {
                label: label.to_owned(),
            });
        }
        let der = base64_decode(&body).ok_or_else(|| PemError::BadBase64 {
            label: label.to_owned(),
            block: blocks.len(),
        })?;
        blocks.push(der);
    }
    Ok(blocks)
}

/// Standard-alphabet base64 with optional `=` padding; whitespace ignored.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            // Data after padding.
            return None;
        }
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be the zero tail of the last quantum, and padding
    // (if any) must complete the quantum.
    if bits >= 6 || acc != 0 || padding > 2 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_table() {
        let cases: [(&str, Option<&[u8]>); 9] = [
            ("", Some(b"")),
            ("Zg==", Some(b"f")),
            ("Zm8=", Some(b"fo")),
            ("Zm9v", Some(b"foo")),
            ("Zm9vYmFy", Some(b"foobar")),
            ("Zm9v\r\nYmE=", Some(b"fooba")),
            ("Zm9v!", None),
            ("Zg==Zg", None),
            ("Zh==", None),
        ];
        for (text, want) in cases {
            assert_eq!(base64_decode(text).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn blocks() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nZm9v\nYmFy\n-----END CERTIFICATE-----\n\
                    -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
                    -----BEGIN CERTIFICATE-----\r\nYQ==\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(
            decode_blocks(text, "CERTIFICATE").unwrap(),
            vec![b"foobar".to_vec(), b"a".to_vec()]
        );
        assert_eq!(
            decode_blocks(text, "PRIVATE KEY").unwrap(),
            vec![vec![0, 0, 0]]
        );
        assert!(matches!(
            decode_blocks("-----BEGIN CERTIFICATE-----\nZm9v\n", "CERTIFICATE"),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            decode_blocks(
                "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----",
                "CERTIFICATE"
            ),
            Err(PemError::BadBase64 { block: 0, .. })
        ));
    }
}
