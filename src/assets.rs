//! Templates and static files. Both are compiled into the binary, so that
//! the binary alone is the deployable and runs from any directory. For
//! editing them without a rebuild, `assets_dir` (`ROCKET_ASSETS_DIR`) names a
//! folder holding `templates/` and `static/` to use instead.
//!
//! Pages link to embedded static files by fingerprinted URLs
//! (`{{ static_url(name="style.css") }}` gives `/static/style.<digest>.css`),
//! which browsers may keep for a year: a changed file gets a new URL. The
//! plain URL still works, to be revalidated each time.

use std::path::{Path, PathBuf};

use rocket::fairing::{AdHoc, Fairing};
use rocket::fs::FileServer;
use rocket::http::ContentType;
use rocket::{Build, Rocket, Route};
use rocket_dyn_templates::Template;

use crate::price::{Money, Price};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Where templates and static files come from.
#[derive(Debug, Clone)]
pub enum Assets {
    Embedded,
    Folder(PathBuf),
}

impl Assets {
    pub fn of(rocket: &Rocket<Build>) -> Assets {
        match rocket.figment().extract_inner::<PathBuf>("assets_dir") {
            Ok(dir) => Assets::Folder(dir),
            Err(_) => Assets::Embedded,
        }
    }

    /// The template engine, loaded with every template under the name pages
    /// render it by (`home.html` for `templates/home.html.tera`), and the
    /// `static_url` function.
    fn template_fairing(&self, money: Money) -> impl Fairing {
        let source = self.clone();
        Template::try_custom(move |engines| {
            engines.tera.add_raw_templates(source.template_sources()?)?;
            engines.tera.register_function("static_url", StaticUrl(matches!(source, Assets::Embedded)));
            let prefix = money.prefix().to_owned();
            engines.tera.register_function("currency_prefix", move |_: &TeraArgs| Ok(prefix.clone().into()));
            engines.tera.register_filter("money", MoneyFilter(money.clone()));
            Ok(())
        })
    }

    fn template_sources(&self) -> Result<Vec<(String, String)>, std::io::Error> {
        match self {
            Assets::Embedded => Ok(embedded::TEMPLATES
                .iter()
                .map(|(name, source)| (name.to_string(), source.to_string()))
                .collect()),
            Assets::Folder(dir) => {
                let root = dir.join("templates");
                let mut templates = Vec::new();
                for path in files_under(&root)? {
                    let name = relative_name(&root, &path);
                    if let Some(name) = name.strip_suffix(".tera") {
                        templates.push((name.to_owned(), std::fs::read_to_string(&path)?));
                    }
                }
                Ok(templates)
            }
        }
    }

    /// What serves `/static/`.
    pub fn static_routes(&self) -> Vec<Route> {
        match self {
            Assets::Embedded => rocket::routes![embedded_file],
            Assets::Folder(dir) => FileServer::from(dir.join("static")).into(),
        }
    }
}

/// Loads templates and mounts `/static/` from where the configuration says.
pub fn stage() -> impl Fairing {
    AdHoc::try_on_ignite("Templates and static files", |rocket| async {
        let assets = Assets::of(&rocket);
        // `rocket_dyn_templates` insists on a folder to load from; it is
        // given an empty one, and every template is registered by name.
        let folder = match empty_folder() {
            Ok(folder) => folder,
            Err(why) => {
                tracing::error!("cannot load templates: {why}");
                return Err(rocket);
            }
        };
        let figment = rocket.figment().clone().merge(("template_dir", folder));
        let currency = rocket.state::<crate::config::AppConfig>().map_or("EUR", |c| c.currency.as_str());
        let money = Money::new(currency).unwrap_or_else(|| Money::new("EUR").expect("EUR is a currency"));
        Ok(rocket
            .configure(figment)
            .mount("/static", assets.static_routes())
            .attach(assets.template_fairing(money)))
    })
}

/// `static_url(name="style.css")`: where pages link to a static file. The
/// fingerprinted URL when the files are embedded; the plain one when they
/// come from a folder, since it may change at any time.
struct StaticUrl(bool);

impl rocket_dyn_templates::tera::Function for StaticUrl {
    fn call(
        &self,
        args: &std::collections::HashMap<String, rocket_dyn_templates::tera::Value>,
    ) -> rocket_dyn_templates::tera::Result<rocket_dyn_templates::tera::Value> {
        let name = args.get("name").and_then(|name| name.as_str()).ok_or("static_url needs name=\"...\"")?;
        if !self.0 {
            return Ok(format!("/static/{name}").into());
        }
        match embedded::STATIC_FILES.iter().find(|(plain, _, _)| *plain == name) {
            Some((_, fingerprinted, _)) => Ok(format!("/static/{fingerprinted}").into()),
            None => Err(format!("static_url: no static file {name:?}").into()),
        }
    }

    fn is_safe(&self) -> bool {
        true
    }
}

type TeraArgs = std::collections::HashMap<String, rocket_dyn_templates::tera::Value>;

/// `{{ item.price | money }}`: a price as pages write it (`€12.50`), from
/// its exact decimal text.
struct MoneyFilter(Money);

impl rocket_dyn_templates::tera::Filter for MoneyFilter {
    fn filter(
        &self,
        value: &rocket_dyn_templates::tera::Value,
        _: &TeraArgs,
    ) -> rocket_dyn_templates::tera::Result<rocket_dyn_templates::tera::Value> {
        let text = match value {
            rocket_dyn_templates::tera::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let price = Price::parse(&text).map_err(|why| format!("money: {text:?} {why}"))?;
        Ok(self.0.format(price).into())
    }
}

/// Keep for a year: the URL names this very content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The plain URL may get other content: ask again each time.
const REVALIDATE: &str = "no-cache";

/// An embedded static file and how long it may be kept.
struct StaticFile {
    content_type: ContentType,
    contents: &'static [u8],
    cache_control: &'static str,
}

impl<'r> rocket::response::Responder<'r, 'static> for StaticFile {
    fn respond_to(self, request: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        let mut response = (self.content_type, self.contents).respond_to(request)?;
        response.set_header(rocket::http::Header::new("Cache-Control", self.cache_control));
        Ok(response)
    }
}

/// An embedded static file, by its path under `static/`, plain or fingerprinted.
#[rocket::get("/<path..>")]
fn embedded_file(path: PathBuf) -> Option<StaticFile> {
    let wanted = path.to_str()?;
    let (name, cache_control, contents) =
        embedded::STATIC_FILES.iter().find_map(|(plain, fingerprinted, contents)| {
            if *fingerprinted == wanted {
                Some((plain, IMMUTABLE, contents))
            } else if *plain == wanted {
                Some((plain, REVALIDATE, contents))
            } else {
                None
            }
        })?;
    let content_type = Path::new(name)
        .extension()
        .and_then(|ext| ext.to_str())
        .and_then(ContentType::from_extension)
        .unwrap_or(ContentType::Binary);
    Some(StaticFile { content_type, contents, cache_control })
}

/// A folder with nothing in it, private to this process (made once).
fn empty_folder() -> Result<PathBuf, String> {
    static FOLDER: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let name = format!("storefront-{}-{}", std::process::id(), crate::auth::random_token(6));
            let folder = std::env::temp_dir().join(name);
            std::fs::create_dir(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            Ok(folder)
        })
        .clone()
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files_under(&path)?);
        } else {
            found.push(path);
        }
    }
    Ok(found)
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{fingerprint, fingerprinted_name};

    #[test]
    fn embedded_files_are_named_by_their_contents() {
        assert!(!embedded::STATIC_FILES.is_empty());
        for (plain, fingerprinted, contents) in embedded::STATIC_FILES {
            assert_eq!(*fingerprinted, fingerprinted_name(plain, contents));
            assert_ne!(plain, fingerprinted);
        }
        assert_eq!(fingerprinted_name("a/live.js", b"x"), format!("a/live.{}.js", fingerprint(b"x")));
        assert_eq!(fingerprinted_name("LICENSE", b"x"), format!("LICENSE.{}", fingerprint(b"x")));
        assert_ne!(fingerprint(b"body{}"), fingerprint(b"body{ }"));
        assert_eq!(fingerprint(b"").len(), 12);
    }
}
