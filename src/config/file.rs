//! Loading: redis.conf syntax and command-line overrides.
//!
//! A config file is a list of `name value...` lines split with `sdssplitargs` quoting ([`split_args`]); the
//! command line is the same lines as `--name value...` groups, applied after the file as if appended to it. Both
//! go through one function, `Config::apply_directive`, so a directive is read the same wherever it is written,
//! and its parsing is the same as `CONFIG SET`'s (only the error prefixes differ: `FILE:LINE:` or
//! `command line:` here, Redis's `CONFIG SET failed` there).

use super::directives::{lookup_index, Directive, DIRECTIVES};
use super::value::{Kind, Value};
use super::Config;
use crate::text::split_args;
use std::path::{Path, PathBuf};

/// Command-line overrides: `(directive name, arguments)` in order.
pub type Overrides = Vec<(String, Vec<String>)>;

/// State that spans the lines of one load (file plus overrides).
#[derive(Default)]
struct LoadState {
    /// Redis resets the built-in `save` points at the first `save` directive
    /// and appends on later ones, so `save 3600 1` + `save 300 100` means both.
    save_seen: bool,
}

impl Config {
    /// Loads the configuration: defaults, then the file at `path` (if any),
    /// then `overrides` in order (command-line `--name value...`, as produced
    /// by [`parse_cli_overrides`] plus whatever clap parsed itself).
    ///
    /// Override names may keep their leading `--` and any case. Like Redis,
    /// the overrides behave as lines appended to the file, so `save` points
    /// given in both places add up unless the override is `--save ""`.
    ///
    /// Errors are `FILE:LINE: reason`, or `command line: reason` for an
    /// override, and should stop start-up.
    pub fn load(path: Option<&Path>, overrides: &[(String, Vec<String>)]) -> Result<Config, String> {
        let mut cfg = Config::default();
        let mut state = LoadState::default();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: can't read config file: {e}", path.display()))?;
            cfg.apply_text(&text, &path.display().to_string(), &mut state)?;
        }
        for (name, args) in overrides {
            let name = name.trim_start_matches("--");
            cfg.apply_directive(name, args, &mut state).map_err(|e| format!("command line: {e}"))?;
        }
        Ok(cfg)
    }

    /// The configuration a config file's text alone gives (defaults, then the text); errors name `origin`.
    pub(super) fn from_text(text: &str, origin: &str) -> Result<Config, String> {
        let mut cfg = Config::default();
        cfg.apply_text(text, origin, &mut LoadState::default())?;
        Ok(cfg)
    }

    fn apply_text(&mut self, text: &str, origin: &str, state: &mut LoadState) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let args = match split_line(line) {
                Ok(Some(args)) => args,
                Ok(None) => continue,
                Err(e) => return Err(format!("{origin}:{}: {e}", n + 1)),
            };
            self.apply_directive(&args[0], &args[1..], state).map_err(|e| format!("{origin}:{}: {e}", n + 1))?;
        }
        Ok(())
    }

    fn apply_directive(&mut self, name: &str, args: &[String], state: &mut LoadState) -> Result<(), String> {
        let idx = lookup_index(name).ok_or_else(|| format!("unknown directive '{name}'"))?;
        let dir = &DIRECTIVES[idx];
        let lname = name.to_ascii_lowercase();
        let args = normalize_args(dir, args).ok_or_else(|| format!("{lname}: wrong number of arguments"))?;
        let current = self.render(idx);
        let mut value = dir.parse(&args, &current).map_err(|e| format!("{lname}: {e}"))?;
        if dir.kind == Kind::Save {
            let first = !std::mem::replace(&mut state.save_seen, true);
            if let (false, Value::Text(new)) = (first, &value) {
                if !new.is_empty() {
                    let mut all = current;
                    if !all.is_empty() {
                        all.push(' ');
                    }
                    all.push_str(new);
                    value = Value::Text(all);
                }
            }
        }
        self.store(idx, value);
        Ok(())
    }
}

/// Checks the argument count of a directive, splitting a single word of a
/// multi-argument directive on spaces. `None` means a wrong count.
fn normalize_args(dir: &Directive, args: &[String]) -> Option<Vec<String>> {
    if dir.kind.multi_arg() {
        if args.len() == 1 && !args[0].is_empty() {
            return Some(args[0].split_ascii_whitespace().map(String::from).collect());
        }
        return Some(args.to_vec());
    }
    (args.len() == 1).then(|| args.to_vec())
}

/// Splits one config line. `Ok(None)` for blank lines and comments (a line
/// whose first non-blank character is `#`; a `#` later in a line is an
/// ordinary character, as in Redis). The directive name is returned as
/// written.
pub(super) fn split_line(line: &str) -> Result<Option<Vec<String>>, String> {
    let trimmed = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let args = split_args(trimmed.as_bytes()).ok_or_else(|| "Unbalanced quotes in configuration line".to_string())?;
    if args.is_empty() {
        return Ok(None);
    }
    args.into_iter()
        .map(|a| String::from_utf8(a).map_err(|_| "argument is not valid UTF-8".to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Splits the server's arguments (without the program name) the way
/// `redis-server` does: an optional config file path first, then
/// `--name value [value ...]` groups, each value list ending at the next
/// `--name`. Returns the path and the `(name, values)` pairs for
/// [`Config::load`], names lowercased without their `--`.
///
/// Redis's details kept: a `--word` right after an option name that has no
/// value yet is that option's value (`--requirepass --secret`); `--save` with
/// no value (last, or followed by another option) means `--save ""`; a single
/// argument `"--port 7000"` is split like a config line.
pub fn parse_cli_overrides(args: &[String]) -> Result<(Option<PathBuf>, Overrides), String> {
    let mut path = None;
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            path = Some(PathBuf::from(first));
            rest = &args[1..];
        }
    }
    let mut pairs: Overrides = Vec::new();
    // Whether the last option already has at least one value.
    let mut last_has_value = true;
    for (i, arg) in rest.iter().enumerate() {
        if last_has_value && arg.starts_with("--") {
            let words = split_args(&arg.as_bytes()[2..])
                .ok_or_else(|| format!("command line: unbalanced quotes in '{arg}'"))?;
            let mut words = words
                .into_iter()
                .map(|w| String::from_utf8(w).map_err(|_| format!("command line: '{arg}' is not valid UTF-8")));
            let name = match words.next() {
                Some(name) => name?.to_ascii_lowercase(),
                None => return Err(format!("command line: invalid option '{arg}'")),
            };
            let values = words.collect::<Result<Vec<_>, _>>()?;
            last_has_value = !values.is_empty();
            if !last_has_value && name == "save" {
                let next_is_option = rest.get(i + 1).is_none_or(|n| n.starts_with("--"));
                if next_is_option {
                    pairs.push((name, vec![String::new()]));
                    last_has_value = true;
                    continue;
                }
            }
            pairs.push((name, values));
        } else {
            match pairs.last_mut() {
                Some((_, values)) => values.push(arg.clone()),
                None => return Err(format!("command line: unexpected argument '{arg}'")),
            }
            last_has_value = true;
        }
    }
    Ok((path, pairs))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn parses_a_file() {
        let c = load_text(
            "# comment\n\
             \n\
             \t  # indented comment\n\
             PORT 7000\n\
             bind 0.0.0.0 -::1\n\
             requirepass \"p a\\x41ss\\n\"\n\
             maxmemory 1gb\n\
             Hash-Max-Ziplist-Entries 99\n\
             appendonly YES\n\
             maxmemory-policy ALLKEYS-LRU\n\
             logfile 'it\\'s.log'\n\
             save 900 1\n\
             save 300 10\n\
             client-output-buffer-limit pubsub 32mb 8mb 60\n\
             notify-keyspace-events KEA\n\
             hz 1000\n\
             dbfilename \"\"\n",
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["0.0.0.0", "-::1"]);
        assert_eq!(c.requirepass.as_deref(), Some("p aAss\n"));
        assert_eq!(c.bytes("maxmemory"), Some(1 << 30));
        assert_eq!(c.int("hash-max-listpack-entries"), Some(99));
        assert!(c.appendonly);
        assert_eq!(get1(&c, "maxmemory-policy"), "allkeys-lru");
        assert_eq!(get1(&c, "logfile"), "it's.log");
        assert_eq!(c.save, "900 1 300 10");
        assert_eq!(
            get1(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(get1(&c, "notify-keyspace-events"), "AKE");
        assert_eq!(c.hz, 500);
        assert_eq!(c.dbfilename, "");
    }

    #[test]
    fn file_errors_carry_file_and_line() {
        let cases = [
            ("port abc\n", "t.conf:1: port: argument couldn't be parsed into an integer"),
            ("\nfoo bar\n", "t.conf:2: unknown directive 'foo'"),
            ("port 1 2\n", "t.conf:1: port: wrong number of arguments"),
            ("port\n", "t.conf:1: port: wrong number of arguments"),
            ("port 6379 # comment\n", "t.conf:1: port: wrong number of arguments"),
            ("bind \"127.0.0.1\n", "t.conf:1: Unbalanced quotes in configuration line"),
            ("requirepass \"a\"b\n", "t.conf:1: Unbalanced quotes in configuration line"),
            ("appendonly maybe\n", "t.conf:1: appendonly: argument must be 'yes' or 'no'"),
            ("port 70000\n", "t.conf:1: port: argument must be between 0 and 65535 inclusive"),
            ("port 007\n", "t.conf:1: port: argument couldn't be parsed into an integer"),
            ("save 1\n", "t.conf:1: save: Invalid save parameters"),
            ("save 0 1\n", "t.conf:1: save: Invalid save parameters"),
            ("dbfilename a/b\n", "t.conf:1: dbfilename: dbfilename can't be a path, just a filename"),
            ("appendfilename a/b\n", "t.conf:1: appendfilename: appendfilename can't be a path, just a filename"),
            ("dir /nonexistent/rill\n", "t.conf:1: dir: No such file or directory"),
            ("notify-keyspace-events Q\n", "t.conf:1: notify-keyspace-events: Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            ("maxmemory 1xb\n", "t.conf:1: maxmemory: argument must be a memory value"),
            ("maxmemory-policy x\n", "t.conf:1: maxmemory-policy: argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
            ("client-output-buffer-limit normal 1 2\n", "t.conf:1: client-output-buffer-limit: Wrong number of arguments in buffer limit configuration."),
            ("daemonize yes\n", "t.conf:1: daemonize: rill does not daemonize; run it in the foreground under a supervisor"),
            ("daemonize maybe\n", "t.conf:1: daemonize: argument must be 'yes' or 'no'"),
            ("loglevel loud\n", "t.conf:1: loglevel: argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
        ];
        for (text, want) in cases {
            assert_eq!(load_text(text).unwrap_err(), want, "{text:?}");
        }
        let missing = Config::load(Some(Path::new("/nonexistent/rill.conf")), &[]).unwrap_err();
        assert!(missing.starts_with("/nonexistent/rill.conf: can't read config file"), "{missing}");
    }

    #[test]
    fn multi_arg_directives_accept_empty() {
        let c = load_text("bind\nsave\n").unwrap();
        assert!(c.bind.is_empty());
        assert_eq!(c.save, "");
        let c = load_text("save \"\"\n").unwrap();
        assert_eq!(c.save, "");
        let c = load_text("save \"100 2 50 3\"\n").unwrap();
        assert_eq!(c.save, "100 2 50 3");
    }

    #[test]
    fn overrides_apply_after_file() {
        let dir = tmpdir("overrides");
        let path = dir.join("a.conf");
        std::fs::write(&path, "port 7000\nsave 3600 1\nsave 300 100\n").unwrap();
        let ov = vec![
            ("--port".to_string(), strs(&["7001"])),
            ("SAVE".to_string(), strs(&["60", "5"])),
            ("hash-max-ziplist-entries".to_string(), strs(&["7"])),
        ];
        let c = Config::load(Some(&path), &ov).unwrap();
        assert_eq!(c.port, 7001);
        // As redis-server 7.0: file points plus command-line points.
        assert_eq!(c.save, "3600 1 300 100 60 5");
        assert_eq!(c.int("hash-max-listpack-entries"), Some(7));
        let c = Config::load(Some(&path), &[("save".into(), strs(&[""]))]).unwrap();
        assert_eq!(c.save, "");
        let c = Config::load(None, &[("save".into(), strs(&["100 2 50 3"]))]).unwrap();
        assert_eq!(c.save, "100 2 50 3");
        let e = Config::load(None, &[("port".into(), strs(&["x"]))]).unwrap_err();
        assert_eq!(e, "command line: port: argument couldn't be parsed into an integer");
        let e = Config::load(None, &[("bogus".into(), strs(&["x"]))]).unwrap_err();
        assert_eq!(e, "command line: unknown directive 'bogus'");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cli_overrides() {
        let p = |a: &[&str]| parse_cli_overrides(&strs(a));
        let (path, pairs) = p(&["/etc/rill.conf", "--port", "7000", "--save", "", "--bind", "a", "b"]).unwrap();
        assert_eq!(path, Some(PathBuf::from("/etc/rill.conf")));
        assert_eq!(
            pairs,
            vec![
                ("port".to_string(), strs(&["7000"])),
                ("save".to_string(), strs(&[""])),
                ("bind".to_string(), strs(&["a", "b"])),
            ]
        );
        let (path, pairs) = p(&["--save", "--Port", "1", "--requirepass", "--secret", "--save"]).unwrap();
        assert_eq!(path, None);
        assert_eq!(
            pairs,
            vec![
                ("save".to_string(), strs(&[""])),
                ("port".to_string(), strs(&["1"])),
                ("requirepass".to_string(), strs(&["--secret"])),
                ("save".to_string(), strs(&[""])),
            ]
        );
        let (_, pairs) = p(&["--port 7000", "--maxmemory", "1gb"]).unwrap();
        assert_eq!(pairs[0], ("port".to_string(), strs(&["7000"])));
        assert_eq!(pairs[1], ("maxmemory".to_string(), strs(&["1gb"])));
        assert!(p(&["a.conf", "stray"]).is_err());
        assert!(p(&["--"]).is_err());
        assert_eq!(p(&[]).unwrap(), (None, vec![]));
        // The pairs feed Config::load directly.
        let (_, pairs) = p(&["--port", "7002", "--appendonly", "yes"]).unwrap();
        let c = Config::load(None, &pairs).unwrap();
        assert_eq!((c.port, c.appendonly), (7002, true));
    }

    #[test]
    fn shipped_conf_loads_and_is_all_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/rill.conf"));
        let c = Config::load(Some(path), &[]).unwrap();
        assert_eq!(c, Config::default());
        // Every directive is documented in the shipped file.
        let text = std::fs::read_to_string(path).unwrap();
        let mut named = std::collections::HashSet::new();
        for line in text.lines() {
            if let Ok(Some(args)) = split_line(line) {
                named.insert(args[0].to_ascii_lowercase());
            }
        }
        for d in DIRECTIVES {
            assert!(named.contains(d.name), "conf/rill.conf does not set {}", d.name);
        }
    }
}
