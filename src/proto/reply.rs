//! Reply encoding, written straight into a connection's (or a shard batch's) output buffer.
//!
//! One writer serves both protocols: where RESP2 and RESP3 differ (nulls, maps, sets, doubles, booleans, pushes)
//! the writer picks the form for the connection's protocol, so commands describe their reply once.

use bytes::{BufMut, BytesMut};

/// A reply writer over an output buffer, knowing which protocol the client speaks.
pub struct Out<'a> {
    pub buf: &'a mut BytesMut,
    pub resp3: bool,
}

impl<'a> Out<'a> {
    pub fn new(buf: &'a mut BytesMut, resp3: bool) -> Self {
        Out { buf, resp3 }
    }

    fn header(&mut self, kind: u8, n: i64) {
        self.buf.put_u8(kind);
        let mut tmp = itoa_buf();
        self.buf.put_slice(fmt_i64(&mut tmp, n));
        self.buf.put_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.put_u8(b'+');
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// An error reply; `msg` carries its own prefix (`ERR ...`, `WRONGTYPE ...`). Newlines are replaced so the
    /// reply stays one line, as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// An error reply quoting bytes that need not be UTF-8 (a client's command name, a protocol byte): Redis sends
    /// them raw, only newlines replaced.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.put_u8(b'-');
        for &b in msg {
            self.buf.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.put_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// A bulk string holding a decimal integer (GET of an integer-encoded value, INCRBYFLOAT's result...).
    pub fn bulk_int(&mut self, n: i64) {
        let mut tmp = itoa_buf();
        let s = fmt_i64(&mut tmp, n);
        self.header(b'$', s.len() as i64);
        self.buf.put_slice(s);
        self.buf.put_slice(b"\r\n");
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.buf.put_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array (BLPOP timeout, EXEC abort): `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.buf.put_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n elements in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set of `n` elements: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A push message of `n` elements: `>n` in RESP3, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// A double: `,x` in RESP3, a bulk string in RESP2 (formatted as Redis does, `%.17g`-like shortest form).
    pub fn double(&mut self, v: f64) {
        let s = fmt_double(v);
        if self.resp3 {
            self.buf.put_u8(b',');
            self.buf.put_slice(s.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf.put_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2), as INFO and CLIENT LIST reply.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Appends bytes that already hold encoded replies.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.put_slice(encoded);
    }
}

type ItoaBuf = [u8; 20];

fn itoa_buf() -> ItoaBuf {
    [0u8; 20]
}

/// Formats an integer into `tmp` without allocating; returns the digits.
pub fn fmt_i64(tmp: &mut ItoaBuf, n: i64) -> &[u8] {
    let mut i = tmp.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        tmp[i] = b'-';
    }
    &tmp[i..]
}

/// Formats a double the way Redis replies with one: `inf`, `-inf`, `nan`, integers without a fraction, otherwise
/// the shortest text that reads back to the same value (what Redis 7's `%.17g` + trimming achieves).
pub fn fmt_double(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v == v.trunc() && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else {
        let s = format!("{}", v);
        if s.len() > 24 {
            format!("{:e}", v)
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(resp3: bool, f: impl FnOnce(&mut Out)) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut Out::new(&mut buf, resp3));
        buf.to_vec()
    }

    #[test]
    fn both_protocols() {
        assert_eq!(enc(false, |o| o.null()), b"$-1\r\n");
        assert_eq!(enc(true, |o| o.null()), b"_\r\n");
        assert_eq!(enc(false, |o| o.map(2)), b"*4\r\n");
        assert_eq!(enc(true, |o| o.map(2)), b"%2\r\n");
        assert_eq!(enc(false, |o| o.double(1.5)), b"$3\r\n1.5\r\n");
        assert_eq!(enc(true, |o| o.double(1.5)), b",1.5\r\n");
        assert_eq!(enc(false, |o| o.int(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(enc(false, |o| o.error("ERR a\r\nb")), b"-ERR a  b\r\n");
        assert_eq!(enc(false, |o| o.error_bytes(b"ERR '\xff\r'")), b"-ERR '\xff '\r\n");
    }
}
