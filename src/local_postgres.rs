//! A first run that needs no database set-up. In the debug profile (`cargo
//! run`), when no `DATABASE_URL` is given and nothing usable answers at the
//! configured address (no server, or one that does not let `postgres` in
//! without a password, as no distribution does by default), Storefront runs
//! a PostgreSQL of its own: from the distribution's server programs
//! (`pg_config --bindir`, or `/usr/lib/postgresql/*/bin`), a cluster in a
//! data folder of the user's (`STOREFRONT_DATA_DIR`, by default
//! `~/.local/share/storefront/postgres`) with owner-only files, listening on
//! a Unix socket in that folder and on no TCP port. It is made on the first
//! run, reused on the next, and stopped when Storefront stops unless
//! `STOREFRONT_KEEP_DATABASE` is set. The test harness uses the same.
//!
//! PostgreSQL refuses to run as root: as root, its programs run as the
//! `postgres` user, and the data folder is `/var/lib/storefront/postgres`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::{Connection, PgConnection};

/// A private cluster in use.
#[derive(Debug)]
pub struct LocalPostgres {
    programs: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    /// Started by this process (and so stopped by it, unless kept).
    started: bool,
}

/// Where the settings say PostgreSQL is, or where a private one was found.
#[derive(Debug)]
pub struct Resolved {
    pub url: String,
    pub local: Option<LocalPostgres>,
    /// The one line that says what happened, for a private cluster.
    pub said: Option<String>,
}

/// What to install, for someone with neither a server nor its programs.
const INSTALL: &str = "install PostgreSQL's server (Debian and Ubuntu: `sudo apt install postgresql`; \
     Fedora: `sudo dnf install postgresql-server`; macOS: `brew install postgresql`), \
     or set DATABASE_URL to a server that lets you in";

/// Whether `url`'s server takes a connection now.
pub fn answers(url: &str) -> bool {
    let Some((server, _)) = crate::db::split_database_url(url) else { return false };
    let server = crate::db::with_parameter(&server, "connect_timeout", "2");
    PgConnection::establish(&server).is_ok()
}

/// The database URL to use: `url` when `DATABASE_URL` names it or its server
/// answers; otherwise a private cluster's, started if need be.
pub fn resolve(url: &str, database_url_given: bool) -> Result<Resolved, String> {
    if database_url_given || answers(url) {
        return Ok(Resolved { url: url.to_owned(), local: None, said: None });
    }
    let name = crate::db::split_database_url(url).map_or_else(|| "storefront".to_owned(), |(_, name)| name);
    let programs = find_programs(pg_config_bindir(), installed_bindirs()).ok_or_else(|| {
        format!(
            "nothing answers at {} and PostgreSQL's server programs are not installed: {INSTALL}",
            crate::db::redact(url)
        )
    })?;
    let root = is_root();
    let data = data_dir(root);
    let (local, made) = LocalPostgres::start(programs, data, root)?;
    let version = std::fs::read_to_string(local.data.join("PG_VERSION")).unwrap_or_default();
    let said = format!(
        "Nothing answers at {}: using a private PostgreSQL {} in {} ({}, Unix socket only){}.",
        crate::db::redact(url),
        version.trim(),
        local.data.display(),
        if made {
            "made now"
        } else if local.started {
            "started now"
        } else {
            "already running"
        },
        if local.started && !keep() {
            "; it stops when Storefront does (STOREFRONT_KEEP_DATABASE=1 keeps it)"
        } else {
            ""
        },
    );
    Ok(Resolved { url: local.url(&name), local: Some(local), said: Some(said) })
}

/// Whether the cluster is to keep running after Storefront stops.
fn keep() -> bool {
    std::env::var("STOREFRONT_KEEP_DATABASE").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The data folder: `STOREFRONT_DATA_DIR`, else the user's data folder.
fn data_dir(root: bool) -> PathBuf {
    if let Some(dir) = std::env::var_os("STOREFRONT_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if root {
        return PathBuf::from("/var/lib/storefront/postgres");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("storefront/postgres")
}

/// `pg_config --bindir`, if `pg_config` is on the `PATH`.
fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    output.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// Debian's and Ubuntu's server programs, newest version first.
fn installed_bindirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().split('.').next()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    dirs.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}

/// The first of the folders that holds `initdb` and `pg_ctl`.
pub fn find_programs(pg_config: Option<PathBuf>, installed: Vec<PathBuf>) -> Option<PathBuf> {
    pg_config
        .into_iter()
        .chain(installed)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

impl LocalPostgres {
    /// Makes the cluster if it is not there, and starts it if it is not
    /// running; whether it was made now.
    fn start(programs: PathBuf, data: PathBuf, as_postgres: bool) -> Result<(LocalPostgres, bool), String> {
        let mut local = LocalPostgres { programs, data, as_postgres, started: false };
        let made = !local.data.join("PG_VERSION").is_file();
        if made {
            local.init()?;
        }
        if !local.pg_ctl(&["status"]).is_ok_and(|output| output.status.success()) {
            let log = local.data.join("server.log");
            let started = local.pg_ctl(&["-w", "-t", "60", "-l", &log.to_string_lossy(), "start"])?;
            if !started.status.success() {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let last = tail.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
                return Err(format!(
                    "the private PostgreSQL in {} did not start: {last}",
                    local.data.display()
                ));
            }
            local.started = true;
        }
        Ok((local, made))
    }

    fn init(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.data)
            .map_err(|e| format!("cannot make the data folder {}: {e}", self.data.display()))?;
        set_owner_only(&self.data)?;
        if self.as_postgres {
            let (uid, gid) =
                postgres_user().ok_or("PostgreSQL does not run as root, and there is no postgres user")?;
            std::os::unix::fs::chown(&self.data, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to the postgres user: {e}", self.data.display()))?;
        }
        let data = self.data.to_string_lossy().into_owned();
        let output =
            self.program("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed in {}: {}",
                self.data.display(),
                String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or("")
            ));
        }
        // No TCP port; the socket in the data folder, for its owner only.
        let quoted = data.replace('\'', "''");
        let settings = format!(
            "\n# Storefront's private cluster: a Unix socket in this folder only.\n\
             listen_addresses = ''\nunix_socket_directories = '{quoted}'\nunix_socket_permissions = 0700\n"
        );
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|e| format!("cannot write postgresql.conf: {e}"))
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        let host: String = self
            .data
            .to_string_lossy()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("postgres://postgres@/{name}?host={host}")
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        let data = self.data.to_string_lossy().into_owned();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.program("pg_ctl", &all)
    }

    /// Runs one of the server programs, as `postgres` when this process is root.
    fn program(&self, name: &str, args: &[&str]) -> Result<Output, String> {
        let path = self.programs.join(name);
        let (mut command, runner) = if self.as_postgres {
            // Found where it lives whatever the PATH (root's has sbin, others' may not).
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
                .into_iter()
                .find(|candidate| Path::new(candidate).is_file())
                .unwrap_or("runuser");
            let mut command = Command::new(runuser);
            command.args(["-u", "postgres", "--"]).arg(&path);
            (command, format!("{runuser} -u postgres -- "))
        } else {
            (Command::new(&path), String::new())
        };
        command
            .args(args)
            .current_dir("/")
            .output()
            .map_err(|e| format!("cannot run {runner}{}: {e}", path.display()))
    }

    /// Stops the cluster if this process started it and it is not to be kept.
    pub fn stop(&self) {
        if self.started && !keep() {
            let _ = self.pg_ctl(&["-m", "fast", "-w", "stop"]);
        }
    }

    pub fn data(&self) -> &Path {
        &self.data
    }
}

/// The `postgres` user's uid and gid, from `/etc/passwd`.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn set_owner_only(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot make {} owner-only: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_folder_with_the_server_programs_is_taken() {
        let empty = std::env::temp_dir().join(format!("storefront-no-pg-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        assert_eq!(find_programs(None, vec![empty.clone()]), None);
        assert_eq!(find_programs(Some(empty.clone()), Vec::new()), None);
        let with = empty.join("bin");
        std::fs::create_dir_all(&with).unwrap();
        for program in ["initdb", "pg_ctl"] {
            std::fs::write(with.join(program), "").unwrap();
        }
        assert_eq!(find_programs(Some(empty.clone()), vec![with.clone()]), Some(with.clone()));
        assert_eq!(find_programs(Some(with.clone()), vec![empty.clone()]), Some(with));
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn the_url_points_at_the_socket_folder() {
        let local = LocalPostgres {
            programs: PathBuf::new(),
            data: PathBuf::from("/home/ann/my data/pg"),
            as_postgres: false,
            started: false,
        };
        assert_eq!(local.url("storefront"), "postgres://postgres@/storefront?host=/home/ann/my%20data/pg");
        assert_eq!(
            crate::db::split_database_url(&local.url("storefront")).map(|(_, name)| name).as_deref(),
            Some("storefront")
        );
    }
}
