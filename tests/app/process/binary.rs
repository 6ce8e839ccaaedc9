use super::Process;

#[rocket::async_test]
async fn the_binary_serves_pages_and_static_files_from_any_directory() {
    let process = Process::start(&[]).await;
    assert!(!process.dir.join("templates").exists() && !process.dir.join("static").exists());

    let home = process.request("GET", "/", &[], "").await;
    assert_eq!(home.status, 200, "{}", process.output());
    assert_eq!(home.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(home.body.contains("<h1>"), "{}", home.body);

    // Pages link to fingerprinted URLs, which may be kept for a year.
    let stylesheet = linked(&home.body, "<link rel=\"stylesheet\" href=\"");
    assert!(
        stylesheet.starts_with("/static/style.") && stylesheet.len() > "/static/style.css".len(),
        "{stylesheet}"
    );
    let css = process.request("GET", &stylesheet, &[], "").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(css.body, std::fs::read_to_string("static/style.css").expect("the stylesheet"));
    // The plain URL still answers, to be revalidated every time.
    let plain = process.request("GET", "/static/style.css", &[], "").await;
    assert_eq!((plain.status, plain.header("cache-control")), (200, Some("no-cache")));
    assert_eq!(plain.body, css.body);
    let script = process.request("GET", "/static/live.js", &[], "").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    let live = linked(&home.body, "<script src=\"");
    let fingerprinted = process.request("GET", &live, &[], "").await;
    assert_eq!((fingerprinted.status, fingerprinted.body.as_str()), (200, script.body.as_str()), "{live}");
    assert_eq!(process.request("GET", "/static/style.0123456789ab.css", &[], "").await.status, 404);
    assert_eq!(process.request("GET", "/static/nope.css", &[], "").await.status, 404);
    assert_eq!(process.request("GET", "/static/../Cargo.toml", &[], "").await.status, 404);

    // Embedded templates escape like the ones on disk.
    let search = process.request("GET", "/search?q=%3Cscript%3E", &[], "").await;
    assert_eq!(search.status, 200);
    assert!(search.body.contains("&lt;script&gt;") && !search.body.contains("<script>alert"));
    let missing = process.request("GET", "/stores/999999", &[], "").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page not found"), "{}", missing.body);
    // Demo data is asked for here as in a deployment: not at all.
    assert_eq!(process.app.count("stores"), 0);
}

#[rocket::async_test]
async fn a_folder_named_by_assets_dir_overrides_the_embedded_files() {
    let assets = std::env::temp_dir().join(format!("storefront-assets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&assets);
    std::fs::create_dir_all(assets.join("static")).expect("static folder");
    copy_tree(std::path::Path::new("templates"), &assets.join("templates"));
    std::fs::write(assets.join("static/style.css"), "body { color: teal }").expect("stylesheet");
    let home = std::fs::read_to_string(assets.join("templates/home.html.tera")).expect("home");
    let marker = "<p>Edited without a rebuild</p>";
    std::fs::write(
        assets.join("templates/home.html.tera"),
        home.replacen("<h1>", &format!("{marker}<h1>"), 1),
    )
    .expect("home");

    let dir = assets.to_string_lossy().into_owned();
    let process = Process::start(&[("ROCKET_ASSETS_DIR", &dir)]).await;
    let css = process.request("GET", "/static/style.css", &[], "").await;
    assert_eq!((css.status, css.body.as_str()), (200, "body { color: teal }"));
    let page = process.request("GET", "/", &[], "").await;
    assert_eq!(page.status, 200, "{}", process.output());
    assert!(page.body.contains(marker), "{}", page.body);
    // Files that may change at any time are linked by their plain URL.
    assert_eq!(linked(&page.body, "<link rel=\"stylesheet\" href=\""), "/static/style.css");
    let _ = std::fs::remove_dir_all(&assets);
}

/// The URL after `marker` in a page.
fn linked(page: &str, marker: &str) -> String {
    page.split(marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}
