//! Value syntaxes: how each kind of directive is parsed, validated and shown, with Redis's error texts.
//!
//! Parsing is the same wherever a value comes from (config file, command line, `CONFIG SET`, the built-in
//! defaults), so a value that loads also sets, and one that is refused is refused with the same words.
//! A parsed [`Value`] goes into a typed field of [`Config`](super::Config) through [`Setting`].

use crate::text::parse_i64;

/// Redis's default for `client-output-buffer-limit`.
pub const DEFAULT_OUTPUT_BUFFER_LIMITS: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// Keyspace notification classes, in the order Redis renders them. `A` is an alias for all the type classes
/// (everything but `K`, `E`, `m`, `n`).
const EVENT_TYPE_CLASSES: &str = "g$lshzxetd";

/// The syntax a directive's value is written in, which decides parsing, validation, error texts and rendering
/// (all as Redis does them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`, case-insensitive.
    Bool,
    /// A strict integer (no `+`, no leading zeros) within `min..=max`.
    Int { min: i64, max: i64 },
    /// A byte count with an optional unit: `k` = 1000, `kb` = 1024, `m`, `mb`, `g`, `gb` (case-insensitive),
    /// within `min..=max`. Rendered by `CONFIG GET` as the plain byte count.
    Memory { min: u64, max: u64 },
    /// One of a fixed set of words, case-insensitive, rendered lowercase.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `save`: pairs of `seconds changes`; `""` disables snapshots.
    Save,
    /// `bind`: up to 16 addresses.
    Bind,
    /// `client-output-buffer-limit`: groups of `class hard soft seconds`.
    OutputBufferLimits,
    /// `notify-keyspace-events`: a set of event-class characters.
    KeyspaceEvents,
}

/// A parsed directive value, on its way into or out of a typed field of [`Config`](super::Config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    /// An `Int` directive's value.
    Int(i64),
    /// A `Memory` directive's value in bytes.
    Bytes(u64),
    /// Enum words, free text, and the canonical forms of `save`, `client-output-buffer-limit` and
    /// `notify-keyspace-events`.
    Text(String),
    /// `bind` addresses.
    List(Vec<String>),
}

impl Kind {
    /// Multi-argument directives take several words on one line; given a single non-empty word they split it on
    /// spaces (so `--save "60 1"` and `CONFIG SET save "60 1"` work), as Redis's MULTI_ARG configs do.
    pub fn multi_arg(self) -> bool {
        matches!(self, Kind::Save | Kind::Bind | Kind::OutputBufferLimits)
    }

    /// Parses and validates a directive's arguments (count already checked). `current` is the directive's present
    /// rendering, needed by `client-output-buffer-limit`, whose lines each change one client class.
    pub fn parse(self, args: &[String], current: &str) -> Result<Value, String> {
        let one = || args.first().map(String::as_str).unwrap_or("");
        Ok(match self {
            Kind::Bool => match one().to_ascii_lowercase().as_str() {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                _ => return Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Int { min, max } => {
                let n = parse_i64(one().as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
                if n < min || n > max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                Value::Int(n)
            }
            Kind::Memory { min, max } => {
                let n = parse_memory(one()).ok_or("argument must be a memory value")?;
                if n < min || n > max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                Value::Bytes(n)
            }
            Kind::Enum(words) => match words.iter().find(|w| w.eq_ignore_ascii_case(one())) {
                Some(w) => Value::Text(w.to_string()),
                None => return Err(format!("argument(s) must be one of the following: {}", words.join(", "))),
            },
            Kind::Str => Value::Text(one().to_string()),
            Kind::Save => Value::Text(parse_save(args)?),
            Kind::Bind => {
                let addrs: Vec<String> = if args.len() == 1 && args[0].is_empty() { Vec::new() } else { args.to_vec() };
                if addrs.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                Value::List(addrs)
            }
            Kind::OutputBufferLimits => Value::Text(parse_output_buffer_limits(args, current)?),
            Kind::KeyspaceEvents => Value::Text(parse_keyspace_events(one())?),
        })
    }

    /// Renders a value the way `CONFIG GET` shows it. Only keyspace events differ from [`Value::render`]: Redis
    /// prints `A` instead of the type classes and then forgets to print `n` (new-key events) although it is still
    /// enabled; the field keeps `n` (so the server and `CONFIG REWRITE` see it), `CONFIG GET` hides it like Redis.
    pub fn show(self, value: &Value) -> String {
        match (self, value) {
            (Kind::KeyspaceEvents, Value::Text(s)) if s.starts_with('A') => s.replace('n', ""),
            _ => value.render(),
        }
    }
}

impl Value {
    /// Renders the value in config-file syntax (memory as a plain byte count).
    pub fn render(&self) -> String {
        match self {
            Value::Bool(b) => String::from(if *b { "yes" } else { "no" }),
            Value::Int(n) => n.to_string(),
            Value::Bytes(n) => n.to_string(),
            Value::Text(s) => s.clone(),
            Value::List(v) => v.join(" "),
        }
    }

    /// A numeric or yes/no value as the `u64` a live atomic holds (bounds keep integers non-negative there).
    pub fn as_u64(&self) -> u64 {
        match *self {
            Value::Bool(b) => u64::from(b),
            Value::Int(n) => n as u64,
            Value::Bytes(n) => n,
            _ => panic!("{self:?} has no numeric form"),
        }
    }
}

/// How a typed [`Config`](super::Config) field holds its directive's [`Value`]: an `Int` directive in a signed or
/// narrower integer, a `Memory` one in a `u64`, text in a `String`. The declaration's bounds guarantee every
/// conversion fits; a field whose type cannot hold its directive's values is a declaration error, caught by the
/// first `Config::default()`.
pub trait Setting: Sized {
    fn from_value(v: Value) -> Self;
    fn to_value(&self) -> Value;
}

fn mismatch<T>(v: &Value) -> ! {
    panic!("a {} field cannot hold {v:?}: its declaration has the wrong type or bounds", std::any::type_name::<T>())
}

macro_rules! int_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn from_value(v: Value) -> Self {
                match v {
                    Value::Int(n) => <$t>::try_from(n).unwrap_or_else(|_| mismatch::<Self>(&v)),
                    _ => mismatch::<Self>(&v),
                }
            }
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).expect("an Int field holds an i64"))
            }
        }
    )*};
}

int_setting!(i64, u32, u16, usize);

impl Setting for u64 {
    fn from_value(v: Value) -> Self {
        match v {
            Value::Bytes(n) => n,
            _ => mismatch::<Self>(&v),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bytes(*self)
    }
}

impl Setting for bool {
    fn from_value(v: Value) -> Self {
        match v {
            Value::Bool(b) => b,
            _ => mismatch::<Self>(&v),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl Setting for String {
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => s,
            _ => mismatch::<Self>(&v),
        }
    }
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

/// Text where the empty string means "not set" (`requirepass`, as Redis treats it).
impl Setting for Option<String> {
    fn from_value(v: Value) -> Self {
        Some(String::from_value(v)).filter(|s| !s.is_empty())
    }
    fn to_value(&self) -> Value {
        Value::Text(self.clone().unwrap_or_default())
    }
}

impl Setting for Vec<String> {
    fn from_value(v: Value) -> Self {
        match v {
            Value::List(v) => v,
            _ => mismatch::<Self>(&v),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.clone())
    }
}

/// Parses a memory size as Redis's `memtoull`: decimal digits followed by an optional unit (`b`, `k`, `kb`, `m`,
/// `mb`, `g`, `gb`, any case). Like Redis, missing digits count as 0 (`""`, `kb`); unlike Redis we reject overflow.
pub fn parse_memory(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // The digits are checked already: what is left is strtoull's range (leading zeros and all of u64 allowed).
    let n: u64 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    n.checked_mul(mul)
}

/// Formats bytes with the largest binary unit that divides them exactly, as `CONFIG REWRITE` does, so rewritten
/// files stay readable; [`parse_memory`] reads it back.
pub fn human_bytes(n: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if n == 0 {
        "0".into()
    } else if n.is_multiple_of(GB) {
        format!("{}gb", n / GB)
    } else if n.is_multiple_of(MB) {
        format!("{}mb", n / MB)
    } else if n.is_multiple_of(KB) {
        format!("{}kb", n / KB)
    } else {
        n.to_string()
    }
}

fn parse_save(args: &[String]) -> Result<String, String> {
    const INVALID: &str = "Invalid save parameters";
    if args.len() == 1 && args[0].is_empty() {
        return Ok(String::new());
    }
    if !args.len().is_multiple_of(2) {
        return Err(INVALID.into());
    }
    let mut words = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        let n: i64 = parse_i64(arg.as_bytes()).ok_or(INVALID)?;
        // Seconds must be at least 1, changes at least 0.
        if (i % 2 == 0 && n < 1) || n < 0 {
            return Err(INVALID.into());
        }
        words.push(n.to_string());
    }
    Ok(words.join(" "))
}

fn parse_output_buffer_limits(args: &[String], current: &str) -> Result<String, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let groups = |s: &str| -> Vec<[String; 4]> {
        let words: Vec<&str> = s.split(' ').collect();
        words.chunks_exact(4).map(|c| [c[0].into(), c[1].into(), c[2].into(), c[3].into()]).collect()
    };
    // Current limits per class, in render order normal, slave, pubsub.
    let mut classes = groups(current);
    if classes.len() != 3 {
        classes = groups(DEFAULT_OUTPUT_BUFFER_LIMITS);
    }
    let class_of = |name: &str| match name.to_ascii_lowercase().as_str() {
        "normal" => Some(0),
        "slave" | "replica" => Some(1),
        "pubsub" => Some(2),
        _ => None,
    };
    // Validate every group before changing any, as Redis does.
    let mut updates = Vec::new();
    for group in args.chunks_exact(4) {
        let Some(class) = class_of(&group[0]) else {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        };
        updates.push(class);
    }
    const BAD: &str = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    for (group, &class) in args.chunks_exact(4).zip(&updates) {
        let hard = parse_memory(&group[1]).ok_or(BAD)?;
        let soft = parse_memory(&group[2]).ok_or(BAD)?;
        let secs: i64 = parse_i64(group[3].as_bytes()).ok_or(BAD)?;
        if secs < 0 {
            return Err(BAD.into());
        }
        classes[class][1] = hard.to_string();
        classes[class][2] = soft.to_string();
        classes[class][3] = secs.to_string();
    }
    Ok(classes.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join(" "))
}

/// The canonical set of event classes: `A` for all the type classes, else those given, then any of `n`, `K`,
/// `E`, `m`.
fn parse_keyspace_events(s: &str) -> Result<String, String> {
    let mut set = std::collections::BTreeSet::new();
    for c in s.chars() {
        match c {
            'A' => set.extend(EVENT_TYPE_CLASSES.chars()),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 't' | 'd' | 'n' | 'K' | 'E' | 'm' => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let mut out = String::new();
    if EVENT_TYPE_CLASSES.chars().all(|c| set.contains(&c)) {
        out.push('A');
    } else {
        out.extend(EVENT_TYPE_CLASSES.chars().filter(|c| set.contains(c)));
    }
    out.extend("nKEm".chars().filter(|c| set.contains(c)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("5B"), Some(5));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("100kb"), Some(102_400));
        assert_eq!(parse_memory("1Kb"), Some(1024));
        assert_eq!(parse_memory("2m"), Some(2_000_000));
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("3G"), Some(3_000_000_000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("007"), Some(7));
        // Redis reads a missing number as 0.
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("+5"), None);
        assert_eq!(parse_memory("1 gb"), None);
        assert_eq!(parse_memory("1tb"), None);
        assert_eq!(parse_memory("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_memory("18446744073709551616"), None);
        assert_eq!(parse_memory("17179869184gb"), None);
        assert_eq!(human_bytes(1 << 30), "1gb");
        assert_eq!(human_bytes(3 << 20), "3mb");
        assert_eq!(human_bytes(2048), "2kb");
        assert_eq!(human_bytes(1000), "1000");
    }

    #[test]
    fn settings_round_trip_their_values() {
        assert_eq!(u16::from_value(Value::Int(6379)).to_value(), Value::Int(6379));
        assert_eq!(u64::from_value(Value::Bytes(u64::MAX)).to_value(), Value::Bytes(u64::MAX));
        assert_eq!(Option::<String>::from_value(Value::Text(String::new())), None);
        assert_eq!(None::<String>.to_value(), Value::Text(String::new()));
        assert_eq!(Vec::<String>::from_value(Value::List(vec![])).to_value(), Value::List(vec![]));
    }

    #[test]
    #[should_panic(expected = "cannot hold")]
    fn a_field_too_narrow_for_its_bounds_is_caught() {
        u16::from_value(Value::Int(70000));
    }
}
