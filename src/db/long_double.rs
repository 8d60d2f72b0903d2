//! INCRBYFLOAT's arithmetic, bit for bit as Redis on x86-64: `strtold` into an x87 80-bit long double (64-bit
//! mantissa, exponent down to subnormals at 2^-16445), one addition rounded to nearest-even, and `%.17Lf` with the
//! trailing zeros cut. With f64 instead, `0.1 + 0.2` would answer "0.30000000000000004" where Redis answers "0.3",
//! `1e-20` would not round to "0", and `1e400` would be refused. Exact big-integer arithmetic is used for the
//! conversions; it is only reached by INCRBYFLOAT, whose inputs are at most 5119 characters as in Redis.

use std::cmp::Ordering;

/// The exponent after `e` or `p`: an optional sign and at least one digit, to the end of the text (saturating far
/// beyond any representable value).
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (sign, digits) = match s.first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |e, &d| (e * 10 + (d - b'0') as i64).min(1 << 40));
    Some(sign * magnitude)
}

/// Values must stay below 2^16384 (the largest long double is (2^64-1)·2^16320).
const MAX_TOP: i64 = 16384;
/// The weight of the last mantissa bit of the smallest subnormal.
const MIN_LSB: i64 = -16445;
/// Redis's MAX_LONG_DOUBLE_CHARS: longer arguments are refused before parsing.
const MAX_CHARS: usize = 5 * 1024;

/// A finite long double, `(-1)^neg · mant · 2^exp`, or an infinity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Finite { neg: bool, mant: u64, exp: i32 },
    Inf,
}

impl Num {
    pub const ZERO: Num = Num::Finite { neg: false, mant: 0, exp: 0 };

    pub fn from_i64(n: i64) -> Num {
        Num::Finite { neg: n < 0, mant: n.unsigned_abs(), exp: 0 }
    }

    /// Redis's string2ld: None where it says "value is not a valid float" (empty, too long, leading space,
    /// trailing garbage, a NUL byte, NaN, overflow, or underflow to zero).
    pub fn parse(s: &[u8]) -> Option<Num> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        if s.first().is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Num::Inf);
        }
        match lower.strip_prefix(b"0x") {
            Some(hex) => parse_hex(neg, hex),
            None => parse_decimal(neg, body),
        }
    }

    /// `self + other` rounded to a long double; None for an infinite (or NaN) result.
    pub fn checked_add(self, other: Num) -> Option<Num> {
        let (Num::Finite { neg: an, mant: am, exp: ae }, Num::Finite { neg: bn, mant: bm, exp: be }) = (self, other)
        else {
            return None;
        };
        if am == 0 {
            return Some(if bm == 0 { Num::Finite { neg: an && bn, mant: 0, exp: 0 } } else { other });
        }
        if bm == 0 {
            return Some(self);
        }
        let e = ae.min(be);
        let a = Big::from_u64(am).shl((ae - e) as u64);
        let b = Big::from_u64(bm).shl((be - e) as u64);
        if an == bn {
            return round(an, a.add(&b), e as i64, false);
        }
        match a.cmp(&b) {
            Ordering::Equal => Some(Num::ZERO),
            Ordering::Greater => round(an, a.sub(&b), e as i64, false),
            Ordering::Less => round(bn, b.sub(&a), e as i64, false),
        }
    }

    /// Redis's ld2string in "human friendly" mode: `%.17Lf`, trailing zeros and dot removed, "-0" made "0".
    pub fn format(self) -> String {
        let Num::Finite { neg, mant, exp } = self else {
            return "inf".into();
        };
        let mut scaled = Big::from_u64(mant);
        scaled.mul_pow10(17);
        let fixed = if exp >= 0 {
            scaled.shl(exp as u64)
        } else {
            let (mut q, half, rest) = scaled.shr_round(-exp as u64);
            if half && (rest || q.bit(0)) {
                q = q.add(&Big::from_u64(1));
            }
            q
        };
        let mut digits = fixed.to_decimal();
        if digits.len() < 18 {
            digits.insert_str(0, &"0".repeat(18 - digits.len()));
        }
        let point = digits.len() - 17;
        let mut s = String::with_capacity(digits.len() + 2);
        if neg {
            s.push('-');
        }
        s.push_str(&digits[..point]);
        s.push('.');
        s.push_str(&digits[point..]);
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

/// Rounds `big · 2^exp` (plus something below 2^exp when `sticky`) to nearest-even at 64 significant bits, or at
/// the subnormal floor. None when it overflows to infinity; Some(zero) when it underflows.
fn round(neg: bool, big: Big, exp: i64, sticky: bool) -> Option<Num> {
    let bits = big.bits() as i64;
    if bits == 0 {
        return Some(Num::Finite { neg, mant: 0, exp: 0 });
    }
    let mut lsb = (exp + bits - 64).max(MIN_LSB);
    let shift = lsb - exp;
    let mut mant = if shift <= 0 {
        big.low_u64() << (-shift)
    } else {
        let (q, half, rest) = big.shr_round(shift as u64);
        let mut m = q.low_u64();
        if half && (rest || sticky || m & 1 == 1) {
            m = m.wrapping_add(1);
            if m == 0 {
                m = 1 << 63;
                lsb += 1;
            }
        }
        m
    };
    if mant == 0 {
        return Some(Num::Finite { neg, mant: 0, exp: 0 });
    }
    if lsb + 64 - mant.leading_zeros() as i64 > MAX_TOP {
        return None;
    }
    // Keep small exponents canonical so additions shift as little as possible.
    let tz = mant.trailing_zeros().min((MAX_TOP - lsb) as u32);
    mant >>= tz;
    lsb += tz as i64;
    Some(Num::Finite { neg, mant, exp: lsb as i32 })
}

/// strtold's ERANGE cases, which Redis refuses: overflow to infinity (None) and underflow to zero.
fn finish(rounded: Option<Num>) -> Option<Num> {
    rounded.filter(|n| !matches!(n, Num::Finite { mant: 0, .. }))
}

/// `digits[.digits][e[+-]digits]`, the whole of `s`.
fn parse_decimal(neg: bool, s: &[u8]) -> Option<Num> {
    let mut i = 0;
    let mut mantissa = Vec::with_capacity(s.len());
    let mut frac_digits: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        mantissa.push(s[i]);
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            mantissa.push(s[i]);
            frac_digits += 1;
            i += 1;
        }
    }
    if mantissa.is_empty() {
        return None;
    }
    let exp10 = match s.get(i) {
        None => 0,
        Some(b'e' | b'E') => parse_exponent(&s[i + 1..])?,
        Some(_) => return None,
    };
    let first = mantissa.iter().position(|&d| d != b'0');
    let Some(first) = first else {
        return Some(Num::Finite { neg, mant: 0, exp: 0 });
    };
    let last = mantissa.iter().rposition(|&d| d != b'0').expect("a non-zero digit");
    let digits = &mantissa[first..=last];
    let exp10 = exp10 - frac_digits + (mantissa.len() - 1 - last) as i64;
    let nd = digits.len() as i64;
    if nd - 1 + exp10 > 4932 {
        return None;
    }
    if nd + exp10 < -4952 {
        return None;
    }
    let mut d = Big::default();
    for chunk in digits.chunks(9) {
        let mut v = 0u32;
        for &c in chunk {
            v = v * 10 + (c - b'0') as u32;
        }
        d.mul_small(10u32.pow(chunk.len() as u32));
        d.add_small(v);
    }
    if exp10 >= 0 {
        d.mul_pow10(exp10 as u32);
        return finish(round(neg, d, 0, false));
    }
    let mut p = Big::from_u64(1);
    p.mul_pow10((-exp10) as u32);
    let k = (p.bits() as i64 - d.bits() as i64 + 66).max(0);
    let (q, inexact) = d.shl(k as u64).div_rem(&p);
    finish(round(neg, q, -k, inexact))
}

/// The part after `0x`: `hex[.hex][p[+-]digits]`. Without a hex digit strtold reads just the "0", and the
/// rest is trailing garbage: refused all the same.
fn parse_hex(neg: bool, s: &[u8]) -> Option<Num> {
    let mut i = 0;
    let mut m = Big::default();
    let mut any = false;
    let mut frac: i64 = 0;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(v) = (c as char).to_digit(16) {
            m.mul_small(16);
            m.add_small(v);
            any = true;
            frac += seen_dot as i64;
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    let exp2 = match s.get(i) {
        None => 0,
        Some(b'p') => parse_exponent(&s[i + 1..])?,
        Some(_) => return None,
    };
    if m.bits() == 0 {
        return Some(Num::Finite { neg, mant: 0, exp: 0 });
    }
    let e = exp2 - 4 * frac;
    let top = m.bits() as i64 + e;
    if !(MIN_LSB - 1..=MAX_TOP + 1).contains(&top) {
        return None;
    }
    finish(round(neg, m, e, false))
}

/// A non-negative big integer, little-endian 32-bit limbs, no high zero limbs.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as u64 * 32 - top.leading_zeros() as u64,
        }
    }

    fn bit(&self, i: u64) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|l| l >> (i % 32) & 1 == 1)
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0) as u64 | (self.0.get(1).copied().unwrap_or(0) as u64) << 32
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.0 {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for l in &mut self.0 {
            if carry == 0 {
                return;
            }
            let v = *l as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_small(1_000_000_000);
            n -= 9;
        }
        self.mul_small(10u32.pow(n));
    }

    fn shl(&self, n: u64) -> Big {
        if self.0.is_empty() {
            return Big::default();
        }
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u32;
        for &l in &self.0 {
            out.push(if bits == 0 { l } else { l << bits | carry });
            carry = if bits == 0 { 0 } else { l >> (32 - bits) };
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self >> n`, with the bit just below the cut (half) and whether any bit below that is set (rest).
    fn shr_round(&self, n: u64) -> (Big, bool, bool) {
        let half = n > 0 && self.bit(n - 1);
        let rest = n > 1 && {
            let below = n - 1;
            let full = (below / 32) as usize;
            self.0.iter().take(full).any(|&l| l != 0)
                || (!below.is_multiple_of(32)
                    && self.0.get(full).is_some_and(|&l| l & ((1u32 << (below % 32)) - 1) != 0))
        };
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let src = self.0.get(limbs..).unwrap_or_default();
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let hi = if bits == 0 { 0 } else { src.get(i + 1).map_or(0, |&h| h << (32 - bits)) };
            out.push(l >> bits | hi);
        }
        let mut b = Big(out);
        b.trim();
        (b, half, rest)
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut b = self.clone();
        b.sub_assign(other);
        b
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = (v < 0) as i64;
            self.0[i] = v.rem_euclid(1 << 32) as u32;
        }
        debug_assert_eq!(borrow, 0, "subtraction below zero");
        self.trim();
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.0.iter_mut().rev() {
            let next = *l & 1;
            *l = *l >> 1 | carry << 31;
            carry = next;
        }
        self.trim();
    }

    fn set_bit(&mut self, i: u64) {
        let limb = (i / 32) as usize;
        if self.0.len() <= limb {
            self.0.resize(limb + 1, 0);
        }
        self.0[limb] |= 1 << (i % 32);
    }

    /// Quotient and whether the remainder is non-zero, by shift-and-subtract over the quotient's bits only.
    fn div_rem(&self, d: &Big) -> (Big, bool) {
        let (nb, db) = (self.bits(), d.bits());
        if nb < db {
            return (Big::default(), !self.0.is_empty());
        }
        let qbits = nb - db + 1;
        let mut rem = self.clone();
        let mut sh = d.shl(qbits - 1);
        let mut q = Big::default();
        for i in (0..qbits).rev() {
            if rem.cmp(&sh) != Ordering::Less {
                rem.sub_assign(&sh);
                q.set_bit(i);
            }
            sh.shr1();
        }
        (q, !rem.0.is_empty())
    }

    fn to_decimal(&self) -> String {
        let mut chunks = Vec::new();
        let mut n = self.clone();
        while !n.0.is_empty() {
            let mut rem = 0u64;
            for l in n.0.iter_mut().rev() {
                let v = rem << 32 | *l as u64;
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = chunks.last().map_or("0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev().skip(1) {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> Option<String> {
        let (a, b) = (Num::parse(a.as_bytes())?, Num::parse(b.as_bytes())?);
        Some(a.checked_add(b).map_or("inf".into(), Num::format))
    }

    #[test]
    fn matches_redis_on_x86_64() {
        // Replies of Redis 7 (x86-64, 80-bit long double) to SET k a; INCRBYFLOAT k b.
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(incr("0", "5.0e3").as_deref(), Some("5000"));
        assert_eq!(incr("3.0e3", "2.0e3").as_deref(), Some("5000"));
        assert_eq!(incr("0", "1e-20").as_deref(), Some("0"));
        assert_eq!(incr("0", "-1e-20").as_deref(), Some("0"));
        assert_eq!(incr("0", "1.5e20").as_deref(), Some("150000000000000000000"));
        assert_eq!(incr("0", "1.23456789012345678").as_deref(), Some("1.23456789012345678"));
        assert_eq!(incr("0", "3.14159265358979323846").as_deref(), Some("3.14159265358979324"));
        assert_eq!(incr("0.3", "-0.1").as_deref(), Some("0.2"));
        assert_eq!(incr("0", "123456789.123456789").as_deref(), Some("123456789.12345678899873747"));
        assert_eq!(incr("123456789.12345678899873747", "0.000000001").as_deref(), Some("123456789.12345678999554366"));
        assert_eq!(incr("0", "0x10").as_deref(), Some("16"));
        assert_eq!(incr("-5", "5").as_deref(), Some("0"));
        assert_eq!(incr("0", "1e-5000"), None);
        assert_eq!(incr("0", "0e-5000").as_deref(), Some("0"));
        assert_eq!(incr("0", "nan"), None);
        assert_eq!(incr("0", " 1"), None);
        assert_eq!(incr("0", "1e"), None);
        assert_eq!(incr("0", "inf").as_deref(), Some("inf"));
        let e308 = incr("0", "1e308").unwrap();
        assert!(e308.starts_with("99999999999999999996685879655845645660560099847415567207797047994921"), "{e308}");
        assert_eq!(e308.len(), 308);
        let e400 = incr("0", "1e400").unwrap();
        assert!(e400.starts_with("10000000000000000000281880683947586514586453433629052038625910693539"), "{e400}");
        assert_eq!(e400.len(), 401);
        assert_eq!(incr("1e4932", "1e4932").as_deref(), Some("inf"));
        assert_eq!(incr("0", "1e4933"), None);
    }
}
