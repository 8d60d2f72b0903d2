//! Every fixed error text a client can see. Clients match on prefixes (`WRONGTYPE`, `NOAUTH`...), so these are
//! Redis 7.4's strings, byte for byte.

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const INVALID_EXPIRE: &str = "ERR invalid expire time in '{}' command";
pub const DB_INDEX_RANGE: &str = "ERR DB index is out of range";
pub const INVALID_DB_INDEX: &str = "ERR invalid DB index";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const INCR_NAN: &str = "ERR increment would produce NaN or Infinity";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// A command flagged `no_multi` (SHUTDOWN, SAVE...) sent after MULTI; it also dooms the transaction.
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{}' command", name.to_ascii_lowercase())
}

/// `ERR unknown command 'FOO', with args beginning with: 'a' 'b' ` (Redis quotes at most a few args, each cut short).
pub fn unknown_command(args: &[bytes::Bytes]) -> String {
    let mut tail = String::new();
    for a in args[1..].iter() {
        if tail.len() >= 128 {
            break;
        }
        tail.push_str(&format!("'{}' ", printable(a, 128 - tail.len())));
    }
    format!("ERR unknown command '{}', with args beginning with: {}", printable(&args[0], 128), tail)
}

/// `ERR unknown subcommand 'foo'. Try CLIENT HELP.`
pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> String {
    format!("ERR unknown subcommand '{}'. Try {} HELP.", printable(sub, 128), cmd.to_ascii_uppercase())
}

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(cmd: &str) -> String {
    INVALID_EXPIRE.replace("{}", &cmd.to_ascii_lowercase())
}

/// Bytes as Redis shows them inside an error: cut to `max` characters, control characters replaced by spaces.
pub fn printable(b: &[u8], max: usize) -> String {
    let cut = &b[..b.len().min(max)];
    String::from_utf8_lossy(cut).chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
