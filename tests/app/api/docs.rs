//! The OpenAPI document, the Swagger UI, and the migrations behind it all.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

use crate::harness::TestApp;

#[rocket::async_test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::new().await;

    let reply = app.get("/api/openapi.json").send().await;

    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("/api/register", vec!["post"]),
        ("/api/login", vec!["post"]),
        ("/api/logout", vec!["post"]),
        ("/api/refresh", vec!["post"]),
        ("/api/user/me", vec!["get"]),
        ("/api/user/{id}", vec!["delete", "get"]),
        ("/api/stores", vec!["get", "post"]),
        ("/api/stores/{id}", vec!["delete", "get", "put"]),
        ("/api/stores/{id}/tags", vec!["get", "post"]),
        ("/api/items", vec!["get", "post"]),
        ("/api/items/facets", vec!["get"]),
        ("/api/items/{id}", vec!["delete", "get", "put"]),
        ("/api/items/{id}/tags", vec!["post"]),
        ("/api/items/{item_id}/tags/{tag_id}", vec!["delete"]),
        ("/api/items/{id}/images", vec!["post"]),
        ("/api/items/{id}/images/{image_id}", vec!["delete", "patch"]),
        ("/api/tags/{id}", vec!["delete", "get"]),
        ("/api/events", vec!["get"]),
        ("/api/webhooks", vec!["get", "post"]),
        ("/api/webhooks/{id}", vec!["delete", "get", "patch"]),
        ("/api/webhooks/{id}/rotate-secret", vec!["post"]),
        ("/api/webhooks/{id}/deliveries", vec!["get"]),
        ("/api/webhooks/{id}/deliveries/{delivery_id}/redeliver", vec!["post"]),
    ];
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), expected.len());
    for (path, methods) in expected {
        let mut documented: Vec<&str> = paths[path].as_object().unwrap().keys().map(String::as_str).collect();
        documented.sort();
        assert_eq!(documented, methods, "{path}");
        for method in methods {
            let operation = &paths[path][method];
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("500") && responses.contains_key("503"), "{method} {path}");
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            if operation.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
                // Writes with a token take a key to be retried safely.
                if method != "get" && path != "/api/refresh" {
                    let parameters = operation["parameters"].as_array().unwrap();
                    let keyed =
                        parameters.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
                    assert!(keyed, "{method} {path} lacks Idempotency-Key");
                }
            }
            // Any request may be over its budget.
            assert!(responses["429"]["headers"]["Retry-After"].is_object(), "{method} {path} lacks 429");
            // Summaries are plain text; every error shows a real example.
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.is_empty() && !summary.contains('`'), "{method} {path}: {summary:?}");
            for (status, response) in responses.iter().filter(|(status, _)| status.starts_with(['4', '5'])) {
                let example = &response["content"]["application/problem+json"]["example"];
                assert_eq!(example["status"].as_u64(), status.parse().ok(), "{method} {path} {status}");
                assert!(example["code"].is_string(), "{method} {path} {status}");
            }
        }
    }
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    let said = bearer["description"].as_str().unwrap_or_default();
    assert!(said.contains("POST /api/login") && said.contains("/account/tokens"), "{bearer}");
    let described = doc["info"]["description"].as_str().unwrap();
    assert!(described.contains("POST /api/stores") && described.contains("store_id"), "{described}");
    assert_eq!(doc["components"]["schemas"]["StoreInput"]["properties"]["name"]["example"], "My first store");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(doc["components"]["schemas"]["StoreInput"]["additionalProperties"], false);

    let stream = &paths["/api/events"]["get"];
    assert!(stream["responses"]["200"]["content"]["text/event-stream"].is_object(), "{stream}");
    let parameters: Vec<&str> =
        stream["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(parameters, ["store_id", "last_event_id", "Last-Event-ID"]);
    let schemas = &doc["components"]["schemas"];
    for name in ["Event", "Resync", "StoreView", "ItemView", "TagView", "ImageView", "ImageSizeView"] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    let objects: Vec<&str> = schemas["Event"]["properties"]["object"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["$ref"].as_str().or(s["type"].as_str()).unwrap())
        .collect();
    assert_eq!(
        objects,
        [
            "#/components/schemas/StoreView",
            "#/components/schemas/ItemView",
            "#/components/schemas/TagView",
            "null"
        ]
    );
    let kinds = schemas["EventKind"]["enum"].as_array().unwrap();
    assert_eq!(kinds.len(), 10);
    assert!(kinds.contains(&serde_json::json!("item.tags_changed")));
}

#[rocket::async_test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::new().await;
    let redirect = app.get("/api/docs").send().await;
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.header("location"), Some("/api/docs/"));

    let page = app.get("/api/docs/").send().await;

    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(!page.text.contains("cdn") && !page.text.contains("unpkg"), "{}", page.text);
    let script = app.get("/api/docs/swagger-ui-bundle.js").send().await;
    assert_eq!(script.status, 200);
    assert!(script.text.len() > 100_000);
}

#[test]
fn every_migration_reverts_and_reapplies() {
    let database = TestApp::create_database();
    let url = TestApp::database_url(&database);
    let mut conn = PgConnection::establish(&url).unwrap();

    let reverted = conn.revert_all_migrations(storefront::db::MIGRATIONS).unwrap();
    let all = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&storefront::db::MIGRATIONS)
        .unwrap()
        .len();
    assert_eq!(reverted.len(), all);
    let tables: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(tables, 0);
    assert_eq!(storefront::db::migrate(&mut conn).unwrap(), all);
    drop(conn);
    TestApp::drop_database(&database);
}
