//! The JSON API under `/api`: routes, their guards and views, the problem
//! catchers, and the OpenAPI document with its Swagger UI.

mod accounts;
mod cors;
mod events;
mod guards;
mod items;
mod pagination;
mod problem;
mod respond;
mod stores;
mod tags;

use rocket::fairing::AdHoc;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

pub use problem::Problem;

/// Mounts the API, its catchers and its documentation.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        let origins = rocket.state::<crate::config::AppConfig>().map(|c| c.cors_origins.clone());
        let rocket = match origins {
            Some(origins) if !origins.is_empty() => rocket.attach(cors::Cors::new(origins)),
            _ => rocket,
        };
        rocket
            .mount("/api", accounts::routes())
            .mount("/api", stores::routes())
            .mount("/api", items::routes())
            .mount("/api", tags::routes())
            .mount("/api", events::routes())
            .mount("/", SwaggerUi::new("/api/docs/<_..>").url("/api/openapi.json", ApiDoc::openapi()))
            .register("/api", problem::catchers())
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Storefront API",
        version = "1",
        description = "Stores, their items and tags. Reads are public; changes need \
            `Authorization: Bearer <token>` with an access token from `POST /api/login` \
            or a personal access token. Errors are RFC 9457 problem details."
    ),
    paths(
        accounts::register, accounts::login, accounts::logout, accounts::refresh,
        accounts::get_me, accounts::get_user, accounts::delete_user,
        stores::list_stores, stores::create_store, stores::get_store, stores::update_store,
        stores::delete_store,
        items::list_items, items::create_item, items::get_item, items::update_item,
        items::delete_item, items::link_tags, items::unlink_tag,
        tags::list_store_tags, tags::create_tag, tags::get_tag, tags::delete_tag,
        events::events,
    ),
    components(schemas(Problem, events::ResyncView, crate::views::StoreView, crate::views::ItemView,
        crate::views::TagView)),
    modifiers(&BearerScheme, &CommonResponses, &ClosedRequestBodies),
    tags(
        (name = "accounts", description = "Registration and tokens"),
        (name = "users", description = "Accounts"),
        (name = "stores", description = "Stores"),
        (name = "items", description = "Items of stores"),
        (name = "tags", description = "Tags of stores, and their links to items"),
        (name = "events", description = "Live changes, as Server-Sent Events"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or personal access token (sfp_...)")
                    .build(),
            ),
        );
    }
}

/// Adds the errors any operation can answer with, so that each route
/// declares only its own, and gives every error response (the routes' own
/// too, which state only a status and a description) its problem+json body.
struct CommonResponses;

fn problem_response(description: &str, header: Option<&str>) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
    );
    if let Some(header) = header {
        response = response.header(header, HeaderBuilder::new().description(Some("Seconds to wait")).build());
    }
    RefOr::T(response.build())
}

impl CommonResponses {
    fn add(operation: &mut Operation) {
        let responses = &mut operation.responses.responses;
        let mut add = |status: &str, description: &str, header: Option<&str>| {
            responses.entry(status.to_owned()).or_insert_with(|| problem_response(description, header));
        };
        add("500", "Unexpected failure; the body carries a request id", None);
        add("503", "The database is unavailable", Some("Retry-After"));
        let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let has_body = operation.request_body.is_some();
        if has_parameters || has_body {
            add("422", "Invalid parameters or fields; `errors` names each", None);
        }
        if has_body {
            add("400", "The body is not valid JSON", None);
            add("413", "The body is too large", None);
            add("415", "The body is not application/json", None);
        }
        for (status, response) in responses.iter_mut() {
            let is_error = status.starts_with('4') || status.starts_with('5');
            match response {
                RefOr::T(response) if is_error && response.content.is_empty() => {
                    let problem =
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                    response.content.insert("application/problem+json".to_owned(), RefOr::T(problem));
                }
                _ => {}
            }
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.delete].into_iter().flatten()
            {
                CommonResponses::add(operation);
            }
        }
    }
}

/// Request bodies refuse members they do not define.
struct ClosedRequestBodies;

impl Modify for ClosedRequestBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in [
            "Credentials",
            "LoginRequest",
            "StoreInput",
            "NewItemInput",
            "ItemChangesInput",
            "TagInput",
            "TagIdsInput",
        ] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}
