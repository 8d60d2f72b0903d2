//! The layers of `src/` import downwards only (see docs/ARCHITECTURE.md, "Layers"): the shard runtime knows nothing
//! of commands or connections, commands nothing of sockets, and the data structures, protocol and configuration
//! nothing above them. Checked on the source text, so that an upward `use` fails the build's tests at once.
use std::path::{Path, PathBuf};

/// Each layer, by the source paths it covers, and the modules it must not name.
const RULES: &[(&[&str], &[&str])] = &[
    (&["text.rs"], &["glob", "proto", "config", "db", "shard", "shared", "cmd", "conn", "server"]),
    (&["glob.rs", "proto", "config", "db"], &["shard", "shared", "cmd", "conn", "server"]),
    (&["shard", "shared.rs"], &["cmd", "conn", "server"]),
    (&["cmd"], &["conn", "server"]),
    (&["conn.rs"], &["server"]),
];

fn rust_files(at: &Path, out: &mut Vec<PathBuf>) {
    if at.is_dir() {
        for entry in std::fs::read_dir(at).expect("read src") {
            rust_files(&entry.expect("entry").path(), out);
        }
    } else if at.extension().is_some_and(|e| e == "rs") {
        out.push(at.to_path_buf());
    }
}

#[test]
fn layers_import_downwards_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (paths, forbidden) in RULES {
        let mut files = Vec::new();
        for p in *paths {
            rust_files(&src.join(p), &mut files);
        }
        assert!(!files.is_empty(), "no sources under {paths:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for m in *forbidden {
                    if code.contains(&format!("crate::{m}::")) || code.contains(&format!("crate::{m};")) {
                        broken.push(format!("{}:{}: names crate::{m}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "upward imports:\n{}", broken.join("\n"));
}
