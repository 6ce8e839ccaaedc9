//! Embeds what the binary needs at run time: migrations (through
//! `embed_migrations!`), and the templates and static files listed into
//! `$OUT_DIR/assets.rs` for `src/assets.rs`.

#[path = "src/fingerprint.rs"]
mod fingerprint;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Embedded migrations are read at compile time: rebuild when they change.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=static");

    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut out = String::new();
    out.push_str("/// `(name, source)` of every template, named as pages render them.\n");
    out.push_str("pub static TEMPLATES: &[(&str, &str)] = &[\n");
    for path in files(&root.join("templates")) {
        let relative = relative(&root.join("templates"), &path);
        // `home.html.tera` renders as `home.html`: Tera escapes by that suffix.
        let Some(name) = relative.strip_suffix(".tera") else { continue };
        writeln!(out, "    ({name:?}, include_str!({})),", in_crate(&format!("templates/{relative}")))
            .unwrap();
    }
    out.push_str(
        "];\n\n/// `(path under /static/, that path fingerprinted, contents)` of every static file.\n",
    );
    out.push_str("pub static STATIC_FILES: &[(&str, &str, &[u8])] = &[\n");
    for path in files(&root.join("static")) {
        let relative = relative(&root.join("static"), &path);
        let bytes = std::fs::read(&path).expect("readable static file");
        let hashed = fingerprint::fingerprinted_name(&relative, &bytes);
        let source = in_crate(&format!("static/{relative}"));
        writeln!(out, "    ({relative:?}, {hashed:?}, include_bytes!({source})),").unwrap();
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("assets.rs");
    std::fs::write(target, out).expect("write assets.rs");
}

/// A path of the crate as the compiler will find it: relative to the crate's
/// folder at the time it compiles, so that the generated list stays right
/// for another checkout sharing the same target folder.
fn in_crate(relative: &str) -> String {
    format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?})", format!("/{relative}"))
}

/// Every file under `dir`, in a stable order.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("readable folder").flatten().collect();
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn relative(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).expect("under its folder");
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
