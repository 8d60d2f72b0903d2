//! The command table: every family's specs (`spec`) joined with their documentation text (`docs`), in the order
//! COMMAND lists them, and where a concrete command line's keys are.
//!
//! * `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`, `COMMAND INFO` and `COMMAND DOCS` render [`commands`];
//! * `COMMAND GETKEYS` and key routing call [`key_indexes`];
//! * container commands find their subcommands with [`lookup`] / [`lookup_sub`].
//!
//! Arity, flags, key positions, ACL categories, tips, group, since and complexity follow Redis 7.4 as reported by
//! `COMMAND INFO` / `COMMAND DOCS` (flags that Redis hides from `COMMAND INFO`, such as `may_replicate`,
//! `sentinel` and `protected`, are left out). The one-line summaries are our own wording.

use super::docs::{self, Doc};
use super::spec::{acl, Family, Spec, NO_MANDATORY_KEYS};
use bytes::Bytes;
use std::ops::Deref;
use std::sync::OnceLock;

pub use super::spec::KeySpec;

/// One command (or one subcommand) as COMMAND describes it: its spec, its documentation, and what derives from
/// the two. Reads as its `Spec` (`meta.name`, `meta.arity`, `meta.keys`...).
pub struct CommandMeta {
    /// A copy, so that routing reaches the key spec through one pointer, as it reaches the rest.
    pub spec: Spec,
    pub doc: Doc,
    /// Every ACL category: the spec's own, those its flags imply, and its group's (a container has none of its
    /// group's, as in Redis).
    pub acl: acl::Categories,
    /// Subcommands of a container command (empty otherwise).
    pub subcommands: Vec<CommandMeta>,
}

impl Deref for CommandMeta {
    type Target = Spec;

    fn deref(&self) -> &Spec {
        &self.spec
    }
}

impl CommandMeta {
    /// The legacy first/last/step triple.
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        self.keys.legacy_range()
    }
}

/// Every command the families declare, in their order, subcommands inside their containers.
pub fn commands() -> &'static [CommandMeta] {
    static TABLE: OnceLock<Vec<CommandMeta>> = OnceLock::new();
    TABLE.get_or_init(|| build(super::FAMILIES).unwrap_or_else(|e| panic!("command table: {e}")))
}

/// Joins the families' specs with their documentation. A container comes before its subcommands.
fn build(families: &[&'static Family]) -> Result<Vec<CommandMeta>, String> {
    let mut table: Vec<CommandMeta> = Vec::new();
    for family in families {
        let docs = docs::parse(family.docs)?;
        for (name, _) in &docs {
            if !family.specs.iter().any(|s| s.name == *name) {
                return Err(format!("documentation of {name}, which its family does not declare"));
            }
        }
        for spec in family.specs {
            let doc = docs.iter().find(|(n, _)| *n == spec.name).ok_or_else(|| format!("{}: no docs", spec.name))?;
            let meta = CommandMeta { spec: *spec, doc: doc.1.clone(), acl: 0, subcommands: Vec::new() };
            match spec.name.split_once('|') {
                Some((parent, _)) => match table.iter_mut().find(|m| m.name == parent) {
                    Some(p) => p.subcommands.push(meta),
                    None => return Err(format!("{}: the container must come first", spec.name)),
                },
                None => table.push(meta),
            }
        }
    }
    for m in &mut table {
        m.acl = categories(m, !m.subcommands.is_empty());
        for s in &mut m.subcommands {
            s.acl = categories(s, false);
        }
    }
    Ok(table)
}

fn categories(m: &CommandMeta, container: bool) -> acl::Categories {
    let group = if container { 0 } else { acl::of_group(m.doc.group) };
    m.spec.acl | acl::of_flags(m.flags) | group
}

/// `COMMAND GETKEYS` error for an unknown command.
pub const ERR_UNKNOWN_COMMAND: &str = "ERR Invalid command specified";
/// `COMMAND GETKEYS` error for a command that never takes keys.
pub const ERR_NO_KEY_ARGS: &str = "ERR The command has no key arguments";
/// `COMMAND GETKEYS` error when the argument count violates the arity.
pub const ERR_BAD_ARG_COUNT: &str = "ERR Invalid number of arguments specified for command";
/// `COMMAND GETKEYS` error when the keys cannot be located (bad numkeys, no STREAMS, ...).
pub const ERR_BAD_ARGS: &str = "ERR Invalid arguments specified for command";

fn find_in(table: &'static [CommandMeta], name: &[u8], skip: usize) -> Option<&'static CommandMeta> {
    table.iter().find(|m| {
        let n = &m.name.as_bytes()[skip..];
        n.len() == name.len() && n.eq_ignore_ascii_case(name)
    })
}

/// Finds a top-level command by name, ignoring ASCII case.
pub fn lookup(name: &[u8]) -> Option<&'static CommandMeta> {
    find_in(commands(), name, 0)
}

/// Finds a subcommand of `parent` by its short name (`b"list"` for
/// `client|list`), ignoring ASCII case.
pub fn lookup_sub(parent: &'static CommandMeta, sub: &[u8]) -> Option<&'static CommandMeta> {
    find_in(&parent.subcommands, sub, parent.name.len() + 1)
}

/// Key argument indexes for a concrete argv (honours KeySpec; numkeys out of
/// range or missing STREAMS → Err with Redis's GETKEYS error text).
///
/// `args` is the whole command line: `args[0]` is the command name, and for a
/// subcommand `args[1]` is the subcommand name (`MEMORY USAGE key` → `[2]`).
/// Checks run in the order `COMMAND GETKEYS` uses: a command without keys
/// gives [`ERR_NO_KEY_ARGS`], a wrong argument count [`ERR_BAD_ARG_COUNT`],
/// keys that cannot be located [`ERR_BAD_ARGS`] (an empty list instead for
/// `no_mandatory_keys` commands). The errors are full RESP error texts
/// (starting with `ERR`). Redis's quirks are kept: a numkeys argument is read
/// like C's `atoi` (`"2abc"` counts as 2) and an odd number of arguments after
/// STREAMS yields the first half, rounded down.
pub fn key_indexes(meta: &Spec, args: &[Bytes]) -> Result<Vec<usize>, &'static str> {
    if matches!(meta.keys, KeySpec::None | KeySpec::Channels { .. }) {
        return Err(ERR_NO_KEY_ARGS);
    }
    if !meta.arity_ok(args.len()) {
        return Err(ERR_BAD_ARG_COUNT);
    }
    match meta.keys.find(args) {
        Some(keys) => Ok(keys),
        None if meta.has_flag(NO_MANDATORY_KEYS) => Ok(Vec::new()),
        None => Err(ERR_BAD_ARGS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split_whitespace().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
    }

    fn keys(cmd: &str) -> Result<Vec<usize>, &'static str> {
        let args = argv(cmd);
        let mut meta = lookup(&args[0]).expect("known command");
        if !meta.subcommands.is_empty() {
            meta = lookup_sub(meta, &args[1]).expect("known subcommand");
        }
        key_indexes(meta, &args)
    }

    fn all() -> impl Iterator<Item = &'static CommandMeta> {
        commands().iter().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
    }

    fn flag(m: &CommandMeta, name: &str) -> bool {
        m.flag_names().any(|f| f == name)
    }

    fn acl(m: &CommandMeta) -> Vec<&'static str> {
        acl::names(m.acl).collect()
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"get").unwrap().name, "get");
        assert_eq!(lookup(b"GET").unwrap().name, "get");
        assert_eq!(lookup(b"xReadGroup").unwrap().name, "xreadgroup");
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(b"ge").is_none());
        assert!(lookup(b"gett").is_none());
        assert!(lookup(b"").is_none());
        // Subcommands are not top-level commands.
        assert!(lookup(b"client|list").is_none());
    }

    #[test]
    fn subcommand_lookup() {
        let client = lookup(b"CLIENT").unwrap();
        assert_eq!(lookup_sub(client, b"list").unwrap().name, "client|list");
        assert_eq!(lookup_sub(client, b"No-Evict").unwrap().name, "client|no-evict");
        assert_eq!(lookup_sub(client, b"SETINFO").unwrap().arity, 4);
        assert!(lookup_sub(client, b"client|list").is_none());
        assert!(lookup_sub(client, b"nosuch").is_none());
        let xinfo = lookup(b"xinfo").unwrap();
        assert_eq!(lookup_sub(xinfo, b"STREAM").unwrap().name, "xinfo|stream");
        assert!(lookup_sub(lookup(b"get").unwrap(), b"x").is_none());
        assert_eq!(lookup_sub(client, b"list").unwrap().short_name(), "list");
    }

    #[test]
    fn names_are_lowercase_and_unique() {
        let mut seen = HashSet::new();
        for m in all() {
            assert_eq!(m.name, m.name.to_ascii_lowercase(), "{}", m.name);
            assert!(seen.insert(m.name), "duplicate {}", m.name);
        }
        for c in commands() {
            assert!(!c.name.contains('|'), "{}", c.name);
            for s in &c.subcommands {
                assert!(s.name.starts_with(&format!("{}|", c.name)), "{}", s.name);
                assert!(s.subcommands.is_empty(), "{}", s.name);
            }
        }
        assert_eq!(commands().len(), 116);
    }

    #[test]
    fn metadata_is_consistent() {
        for m in all() {
            let (first_key, last_key, step) = m.legacy_range();
            let (acl, doc) = (acl(m), &m.doc);
            assert!(m.arity != 0, "{}", m.name);
            assert!(!doc.summary.is_empty() && !doc.summary.contains('\n'), "{}", m.name);
            assert!(!doc.complexity.is_empty() && !doc.since.is_empty(), "{}", m.name);
            // Redis derives @fast/@slow from the fast flag.
            assert_eq!(flag(m, "fast"), acl.contains(&"@fast"), "{}", m.name);
            assert_ne!(acl.contains(&"@fast"), acl.contains(&"@slow"), "{}", m.name);
            if flag(m, "admin") {
                assert!(acl.contains(&"@admin") && acl.contains(&"@dangerous"));
            }
            if flag(m, "blocking") {
                assert!(acl.contains(&"@blocking"), "{}", m.name);
            }
            for f in m.flag_names().chain(acl.iter().copied()).chain(doc.tips.iter().copied()) {
                assert_eq!(f, f.to_ascii_lowercase(), "{}", m.name);
            }
            match m.keys {
                KeySpec::Channels { .. } if doc.group == "pubsub" && first_key != 0 => {
                    // Shard channels: positioned like keys, but not keys.
                    assert_eq!((first_key, step), (1, 1), "{}", m.name);
                }
                KeySpec::None | KeySpec::Channels { .. } => {
                    assert_eq!((first_key, last_key, step), (0, 0, 0), "{}", m.name)
                }
                KeySpec::Range { first, last, step: s } => {
                    assert_eq!((first_key, last_key, step), (first, last, s));
                    assert!(first > 0 && s > 0, "{}", m.name);
                }
                KeySpec::NumKeys { .. } | KeySpec::Streams { .. } => {
                    assert_eq!((first_key, last_key, step), (0, 0, 0), "{}", m.name)
                }
            }
            let movable = matches!(m.keys, KeySpec::NumKeys { .. } | KeySpec::Streams { .. });
            assert_eq!(movable, flag(m, "movablekeys"), "{}", m.name);
        }
        let groups =
            ["generic", "string", "list", "connection", "server", "pubsub", "stream", "transactions", "scripting"];
        for m in all() {
            assert!(groups.contains(&m.doc.group), "{} {}", m.name, m.doc.group);
        }
    }

    #[test]
    fn blocking_commands_place_their_timeout() {
        for m in all().filter(|m| m.handler.is_some()) {
            assert_eq!(m.has_flag(super::super::spec::BLOCKING), m.timeout_at != 0, "{}", m.name);
        }
        assert_eq!(lookup(b"blpop").unwrap().timeout_at, -1);
        assert_eq!(lookup(b"blmpop").unwrap().timeout_at, 1);
    }

    #[test]
    fn every_family_documents_what_it_declares() {
        for family in super::super::FAMILIES {
            let docs = docs::parse(family.docs).unwrap();
            assert_eq!(docs.len(), family.specs.len());
            for (spec, (name, _)) in family.specs.iter().zip(&docs) {
                assert_eq!(spec.name, *name, "the docs follow the specs' order");
            }
        }
    }

    #[test]
    fn arity() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_ok(2) && !get.arity_ok(1) && !get.arity_ok(3));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_ok(3) && set.arity_ok(7) && !set.arity_ok(2));
    }

    #[test]
    fn key_indexes_fixed_ranges() {
        assert_eq!(keys("get k"), Ok(vec![1]));
        assert_eq!(keys("GET k"), Ok(vec![1]));
        assert_eq!(keys("del a b c"), Ok(vec![1, 2, 3]));
        assert_eq!(keys("rename a b"), Ok(vec![1, 2]));
        assert_eq!(keys("copy a b DB 1 REPLACE"), Ok(vec![1, 2]));
        assert_eq!(keys("set k v EX 10"), Ok(vec![1]));
        assert_eq!(keys("mset a 1 b 2"), Ok(vec![1, 3]));
        // Redis happily reports keys for an odd MSET, as GETKEYS does.
        assert_eq!(keys("mset a 1 b"), Ok(vec![1, 3]));
        assert_eq!(keys("blpop a 0"), Ok(vec![1]));
        assert_eq!(keys("blpop a b c 0"), Ok(vec![1, 2, 3]));
        assert_eq!(keys("brpoplpush src dst 0"), Ok(vec![1, 2]));
        assert_eq!(keys("memory usage k SAMPLES 5"), Ok(vec![2]));
        assert_eq!(keys("object encoding k"), Ok(vec![2]));
        assert_eq!(keys("xgroup create s g $ MKSTREAM"), Ok(vec![2]));
        assert_eq!(keys("xinfo stream s FULL"), Ok(vec![2]));
        assert_eq!(keys("watch a b"), Ok(vec![1, 2]));
    }

    #[test]
    fn key_indexes_numkeys() {
        assert_eq!(keys("lmpop 2 a b LEFT"), Ok(vec![2, 3]));
        assert_eq!(keys("lmpop 1 a LEFT COUNT 2"), Ok(vec![2]));
        // Keys may run into the trailing arguments, as in Redis.
        assert_eq!(keys("lmpop 2 a LEFT"), Ok(vec![2, 3]));
        assert_eq!(keys("lmpop 2abc a b"), Ok(vec![2, 3]));
        assert_eq!(keys("lmpop 0 a LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("lmpop -1 a LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("lmpop 5 a LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("lmpop x a LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("lmpop 99999999999999999999999 a LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("blmpop 0 2 a b LEFT"), Ok(vec![3, 4]));
        assert_eq!(keys("blmpop 1.5 1 a RIGHT COUNT 3"), Ok(vec![3]));
        assert_eq!(keys("blmpop 0 3 a b LEFT"), Ok(vec![3, 4, 5]));
        assert_eq!(keys("blmpop 0 4 a b LEFT"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("blmpop 0 0 a LEFT"), Err(ERR_BAD_ARGS));
    }

    #[test]
    fn key_indexes_streams() {
        assert_eq!(keys("xread STREAMS a 0"), Ok(vec![2]));
        assert_eq!(keys("xread COUNT 1 BLOCK 0 streams a b 0 0"), Ok(vec![6, 7]));
        // An odd remainder yields the first half rounded down, like Redis.
        assert_eq!(keys("xread streams a b 0"), Ok(vec![2]));
        // The key spec takes the first STREAMS token, even as COUNT's value.
        assert_eq!(keys("xread COUNT streams streams 0"), Ok(vec![3]));
        assert_eq!(keys("xread COUNT 1 a b 0 0"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("xread COUNT 1 STREAMS a"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("xread COUNT 1 BLOCK STREAMS"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("xreadgroup GROUP g c STREAMS a 0"), Ok(vec![5]));
        assert_eq!(keys("xreadgroup GROUP g c COUNT 10 NOACK STREAMS a b > >"), Ok(vec![8, 9]));
        // A consumer called "streams" is not the STREAMS token.
        assert_eq!(keys("xreadgroup GROUP g streams streams a 0"), Ok(vec![5]));
        assert_eq!(keys("xreadgroup GROUP g c x STREAMS a"), Err(ERR_BAD_ARGS));
        assert_eq!(keys("xreadgroup GROUP g c COUNT 1 a 0"), Err(ERR_BAD_ARGS));
    }

    #[test]
    fn key_indexes_errors() {
        assert_eq!(keys("ping x"), Err(ERR_NO_KEY_ARGS));
        assert_eq!(keys("client list"), Err(ERR_NO_KEY_ARGS));
        // (COMMAND GETKEYS's own arity rejects a bare `GET` before this.)
        assert_eq!(keys("get"), Err(ERR_BAD_ARG_COUNT));
        assert_eq!(keys("get a b"), Err(ERR_BAD_ARG_COUNT));
        assert_eq!(keys("lmpop 1 a"), Err(ERR_BAD_ARG_COUNT));
        assert_eq!(keys("xreadgroup GROUP g c STREAMS a"), Err(ERR_BAD_ARG_COUNT));
        assert_eq!(keys("memory usage"), Err(ERR_BAD_ARG_COUNT));
        // Shard channels are not keys, as in Redis.
        assert_eq!(keys("ssubscribe c1 c2"), Err(ERR_NO_KEY_ARGS));
        assert_eq!(keys("spublish c m"), Err(ERR_NO_KEY_ARGS));
        assert_eq!(ERR_UNKNOWN_COMMAND, "ERR Invalid command specified");
    }
}
