//! The documentation text of a command family (`docs/<family>.txt`, compiled in): what COMMAND DOCS shows, and
//! the tips COMMAND INFO lists.
//!
//! The format is one paragraph per command: a line with the command's name, then `field: value` lines.
//!
//! ```text
//! # A comment.
//! group: list
//!
//! lpush
//! since: 1.0.0
//! complexity: O(1) for each element added.
//! summary: Prepends elements to a list.
//! tips: request_policy:all_shards response_policy:all_succeeded
//! ```
//!
//! Fields before the first name apply to every command of the file that does not set them itself (in practice
//! `group`). `summary`, `since`, `complexity` and `group` are required; `tips` (space-separated) is optional.

/// One command's documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    /// One-line description.
    pub summary: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// Documentation group: `"generic"`, `"string"`, `"list"`, ...
    pub group: &'static str,
    /// Time complexity as Redis documents it.
    pub complexity: &'static str,
    /// Command tips, e.g. `"nondeterministic_output"`, `"request_policy:all_shards"`.
    pub tips: Vec<&'static str>,
}

/// Parses a family's documentation text into (name, doc) pairs, in the file's order.
pub fn parse(text: &'static str) -> Result<Vec<(&'static str, Doc)>, String> {
    let mut defaults = Doc::default();
    let mut docs: Vec<(&'static str, Doc)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((field, value)) = line.split_once(": ") else {
            if line.contains(char::is_whitespace) {
                return Err(format!("line {}: neither a name nor `field: value`: {line}", n + 1));
            }
            docs.push((line, Doc { group: defaults.group, ..Doc::default() }));
            continue;
        };
        let doc = match docs.last_mut() {
            Some((_, doc)) => doc,
            None => &mut defaults,
        };
        let slot = match field {
            "summary" => &mut doc.summary,
            "since" => &mut doc.since,
            "group" => &mut doc.group,
            "complexity" => &mut doc.complexity,
            "tips" => {
                doc.tips = value.split_whitespace().collect();
                continue;
            }
            _ => return Err(format!("line {}: unknown field {field}", n + 1)),
        };
        *slot = value;
    }
    for (name, doc) in &docs {
        if doc.summary.is_empty() || doc.since.is_empty() || doc.group.is_empty() || doc.complexity.is_empty() {
            return Err(format!("{name}: summary, since, group and complexity are required"));
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_with_defaults() {
        let text = "# c\ngroup: list\n\nlpush\nsince: 1.0.0\ncomplexity: O(1)\nsummary: Pushes: at the head.\n\n\
                    x|y\ngroup: server\nsince: 2\ncomplexity: O(N)\nsummary: S\ntips: a b\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].0, "lpush");
        assert_eq!(docs[0].1.group, "list");
        assert_eq!(docs[0].1.summary, "Pushes: at the head.");
        assert!(docs[0].1.tips.is_empty());
        assert_eq!(docs[1].0, "x|y");
        assert_eq!(docs[1].1.group, "server");
        assert_eq!(docs[1].1.tips, ["a", "b"]);
    }

    #[test]
    fn errors() {
        assert!(parse("get\nsince: 1\ncomplexity: O(1)\n").is_err());
        assert!(parse("get\nsince: 1\ncomplexity: O(1)\ngroup: string\nsummary: s\nfoo: bar\n").is_err());
        assert!(parse("two words\n").is_err());
    }
}
