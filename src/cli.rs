//! The operator's commands: serve (the default), migrate, create-admin and
//! seed-demo. Each prints one clear line and exits non-zero when it fails.

use std::io::IsTerminal;
use std::process::ExitCode;

use diesel::{Connection, PgConnection};

use crate::config::AppConfig;
use crate::db::{self, SetupError};
use crate::models::{Role, Via};
use crate::services::accounts;
use crate::{demo, figment};

const USAGE: &str = "usage: storefront [COMMAND]

commands:
  serve                  run the web server (the default)
  migrate                create the database if needed and apply migrations
  create-admin --email EMAIL
                         create an admin account; asks for a password on a
                         terminal, otherwise generates and prints one
  seed-demo              load demo data into an empty database

configuration: Rocket.toml, ROCKET_* variables and DATABASE_URL (see README.md)";

pub fn run(args: Vec<String>) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = check_config_file().and_then(|()| match args.as_slice() {
        [] | ["serve"] => with_database(serve),
        ["migrate"] => with_database(|| migrate().map(|applied| println!("Applied {applied} migration(s)."))),
        ["create-admin", "--email", email] => with_database(|| create_admin(email)),
        ["seed-demo"] => with_database(seed_demo),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command line: {}\n\n{USAGE}", args.join(" "))),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `command` on the configured database; in the debug profile, with
/// no `DATABASE_URL` and nothing usable at the configured address, on a
/// private PostgreSQL of its own (see `local_postgres`), stopped afterwards.
fn with_database(command: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let figment = figment();
    let debug = figment.profile() == "debug";
    let given = std::env::var_os("DATABASE_URL").is_some();
    if !debug || given {
        return command();
    }
    let url = database_url()?;
    let resolved = crate::local_postgres::resolve(&url, given)?;
    if let Some(said) = &resolved.said {
        println!("{said}");
        // The rest of the process reads the database's URL from here.
        std::env::set_var("DATABASE_URL", &resolved.url);
    }
    let outcome = command();
    if let Some(local) = &resolved.local {
        local.stop();
    }
    outcome
}

/// A configuration file that was asked for by name must be there.
fn check_config_file() -> Result<(), String> {
    match crate::config_file() {
        Some(file) if !file.is_file() => {
            Err(format!("ROCKET_CONFIG names {}, which is not a file that can be read", file.display()))
        }
        _ => Ok(()),
    }
}

fn database_url() -> Result<String, String> {
    figment()
        .extract_inner::<String>("databases.main.url")
        .map_err(|_| "no database URL: set DATABASE_URL or databases.main.url in Rocket.toml".to_owned())
}

/// Connects, creating the database if PostgreSQL is up but it is missing.
fn connect() -> Result<PgConnection, String> {
    let url = database_url()?;
    let explain = |e: SetupError| match e {
        SetupError::Unreachable(why) => format!(
            "cannot reach PostgreSQL at {} ({}). Start PostgreSQL (for example \
             `pg_ctlcluster 15 main start`) or set DATABASE_URL to a server that is running.",
            db::redact(&url),
            why.lines().next().unwrap_or("no answer")
        ),
        SetupError::Other(why) => why,
    };
    if db::ensure_database(&url).map_err(explain)? {
        println!("Created database {}.", db::redact(&url));
    }
    PgConnection::establish(&url).map_err(|e| format!("cannot connect to {}: {e}", db::redact(&url)))
}

fn migrate() -> Result<usize, String> {
    let mut conn = connect()?;
    db::migrate(&mut conn).map_err(|e| format!("migrations failed: {e}"))
}

fn serve() -> Result<(), String> {
    let figment = figment();
    figment.extract::<rocket::Config>().map_err(|e| {
        // Rocket's message quotes the value it refused, which may be a secret.
        let mut message = format!("invalid configuration: {e}");
        for key in ["secret_key", "jwt_secret"] {
            if let Ok(secret) = figment.extract_inner::<String>(key) {
                if !secret.is_empty() {
                    message = message.replace(&secret, "***");
                }
            }
        }
        message
    })?;
    let config = AppConfig::from_figment(&figment)?;
    crate::logging::init(&figment)?;
    announce_configuration(&figment, &config);
    // Create the database before the pool tries to open connections to it.
    connect()?;
    rocket::execute(crate::rocket(figment).launch())
        .map(|_| ())
        .map_err(|e| format!("the server stopped: {e}"))
}

/// Says where the settings came from, and the ones that keep a deployment
/// safe, so that an operator sees at once what the binary runs with.
fn announce_configuration(figment: &rocket::figment::Figment, config: &AppConfig) {
    let file = crate::config_file()
        .map(|file| std::fs::canonicalize(&file).unwrap_or(file).display().to_string())
        .unwrap_or_else(|| "none".to_owned());
    let ip_header = figment.extract_inner::<String>("ip_header").unwrap_or_else(|_| "none".to_owned());
    let limits = figment.extract_inner::<rocket::data::Limits>("limits").unwrap_or_default();
    let limit = |name: &str| limits.get(name).map_or_else(|| "unset".to_owned(), |bytes| bytes.to_string());
    let pool_size = figment.extract_inner::<u32>("databases.main.pool_size").ok();
    tracing::info!(
        profile = %figment.profile(),
        file = %file,
        secure_cookies = config.secure_cookies,
        ip_header = %ip_header,
        json_limit = %limit("json"),
        form_limit = %limit("form"),
        pool_size = ?pool_size,
        "configuration: the built-in Rocket.toml, then this file, then ROCKET_* variables"
    );
}

fn create_admin(raw_email: &str) -> Result<(), String> {
    let (password, generated) = if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password("Password (leave empty to generate one): ")
            .map_err(|e| e.to_string())?;
        if typed.is_empty() {
            (demo::generate_password(), true)
        } else {
            let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
            if again != typed {
                return Err("the passwords differ".into());
            }
            (typed, false)
        }
    } else {
        (demo::generate_password(), true)
    };
    let email = accounts::validate_new_account(raw_email, &password).map_err(|e| match e {
        crate::error::Error::Invalid(errors) => {
            errors.iter().map(|(field, why)| format!("{field} {why}")).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    })?;
    migrate()?;
    let mut conn = connect()?;
    let hash = crate::auth::password::hash(&password).map_err(|e| e.to_string())?;
    let user = accounts::create_user(&mut conn, &email, &hash, Role::Admin, Via::Cli, None)
        .map_err(|e| e.to_string())?;
    println!("Created admin {} (id {}).", user.email, user.id);
    if generated {
        println!("Password: {password}  (shown only now)");
    }
    Ok(())
}

fn seed_demo() -> Result<(), String> {
    migrate()?;
    let mut conn = connect()?;
    if !demo::is_empty(&mut conn).map_err(|e| e.to_string())? {
        return Err("the database already has users or stores; demo data goes only into an empty one".into());
    }
    let password = demo::generate_password();
    let hash = crate::auth::password::hash(&password).map_err(|e| e.to_string())?;
    let seeded = demo::seed(&mut conn, &hash).map_err(|e| e.to_string())?;
    demo::announce(&seeded, &password);
    Ok(())
}
