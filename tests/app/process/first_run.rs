//! A first run on a machine where PostgreSQL's server programs are
//! installed but nothing answers at the configured address: the binary
//! makes a private cluster of its own, says so in one line, uses it, stops
//! it when done, and reuses it next time.

use std::process::Command;

fn run(data: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_storefront"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("ROCKET_PROFILE", "debug")
        // Nothing answers here; and no DATABASE_URL.
        .env("ROCKET_DATABASES", "{main={url=\"postgres://postgres@127.0.0.1:1/storefront\"}}")
        .env("STOREFRONT_DATA_DIR", data)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the binary runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn with_no_server_the_binary_makes_a_private_cluster_and_reuses_it() {
    use std::os::unix::fs::PermissionsExt;
    let data = std::env::temp_dir().join(format!("storefront-first-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);

    let (ok, said) = run(&data, &["migrate"]);
    assert!(ok, "{said}");
    let line =
        said.lines().find(|line| line.starts_with("Nothing answers at")).unwrap_or_else(|| panic!("{said}"));
    assert!(line.contains("postgres://postgres@127.0.0.1:1/storefront"), "{line}");
    assert!(line.contains(&format!("in {} (made now, Unix socket only)", data.display())), "{line}");
    assert!(said.contains("Applied "), "{said}");
    assert!(data.join("PG_VERSION").is_file());
    assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700, "owner-only");
    let conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    assert!(conf.contains("listen_addresses = ''"), "no TCP port");
    assert!(!data.join(".s.PGSQL.5432").exists(), "stopped when the binary was done");

    // Reused: started again, its migrations already there.
    let (ok, said) = run(&data, &["migrate"]);
    assert!(ok, "{said}");
    assert!(
        said.contains("(started now, Unix socket only)") && said.contains("Applied 0 migration(s)."),
        "{said}"
    );
    assert!(!data.join(".s.PGSQL.5432").exists());
    std::fs::remove_dir_all(&data).unwrap();
}
