//! The JSON API under `/api`: routes, their guards and views, the problem
//! catchers, and the OpenAPI document with its Swagger UI.

mod accounts;
mod cors;
mod events;
pub(crate) mod guards;
mod idempotency;
mod images;
mod items;
mod layer;
mod limits;
mod pagination;
mod problem;
pub(crate) mod respond;
mod stores;
mod tags;
mod webhooks;

use rocket::fairing::AdHoc;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

pub use idempotency::KEPT_HOURS as IDEMPOTENT_ANSWERS_KEPT_HOURS;
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
            .attach(layer::stage())
            .mount("/api", layer::wrap(accounts::routes()))
            .mount("/api", layer::wrap(stores::routes()))
            .mount("/api", layer::wrap(items::routes()))
            .mount("/api", layer::wrap(images::routes()))
            .mount("/api", layer::wrap(tags::routes()))
            .mount("/api", layer::wrap(events::routes()))
            .mount("/api", layer::wrap(webhooks::routes()))
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
            or a personal access token. Errors are RFC 9457 problem details.\n\n\
            To try it here as a new member: `POST /api/register`, then `POST /api/login`, \
            press Authorize and paste the `access_token`; `POST /api/stores` opens a store of \
            your own, and its `id` is the `store_id` for `POST /api/items` and the `{id}` for \
            `POST /api/stores/{id}/tags`. Other people's stores are theirs to change (403).\n\n\
            Requests with a token count against the account's hourly budgets of writes and of \
            reads; every answer says where it stands (`RateLimit-Policy`, `RateLimit`, \
            `x-ratelimit-limit`, `-remaining`, `-used`, `-reset`), and past a budget the \
            answer is 429 with `Retry-After`. A write sent with an `Idempotency-Key` may be \
            sent again with it: the first answer comes back, with `Idempotent-Replayed: true`."
    ),
    paths(
        accounts::register, accounts::login, accounts::logout, accounts::refresh,
        accounts::get_me, accounts::get_user, accounts::delete_user,
        stores::list_stores, stores::create_store, stores::get_store, stores::update_store,
        stores::delete_store,
        items::list_items, items::item_facets, items::create_item, items::get_item, items::update_item,
        items::delete_item, items::link_tags, items::unlink_tag,
        images::add_image, images::change_image, images::remove_image,
        tags::list_store_tags, tags::create_tag, tags::get_tag, tags::delete_tag,
        events::events,
        webhooks::list_endpoints, webhooks::create_endpoint, webhooks::get_endpoint,
        webhooks::update_endpoint, webhooks::delete_endpoint, webhooks::rotate_secret,
        webhooks::list_deliveries, webhooks::redeliver,
    ),
    components(schemas(Problem, events::ResyncView, crate::views::StoreView, crate::views::ItemView,
        crate::views::ImageView, crate::views::ImageSizeView,
        crate::views::TagView, crate::views::FacetsView, crate::views::TagCountView,
        crate::views::StoreCountView, crate::views::PriceBandView,
        webhooks::WebhookEndpointView, webhooks::WebhookEndpointInput, webhooks::DeliveryView,
        webhooks::AttemptView, webhooks::RedeliveryView)),
    modifiers(&BearerScheme, &ClientBookkeeping, &CommonResponses, &ClosedRequestBodies, &PlainSummaries),
    tags(
        (name = "accounts", description = "Registration and tokens"),
        (name = "users", description = "Accounts"),
        (name = "stores", description = "Stores"),
        (name = "items", description = "Items of stores"),
        (name = "tags", description = "Tags of stores, and their links to items"),
        (name = "events", description = "Live changes, as Server-Sent Events"),
        (name = "webhooks", description = "Live changes pushed to your endpoints, signed"),
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
                    .description(Some(
                        "Paste one of: the `access_token` of `POST /api/login` (register first with \
                         `POST /api/register`; it lasts 15 minutes, `POST /api/refresh` gives another), \
                         or a personal access token (`sfp_…`) made on the site's account page, under \
                         API tokens (`/account/tokens`). Without the word Bearer: it is added.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the errors any operation can answer with, so that each route
/// declares only its own, and gives every error response (the routes' own
/// too, which state only a status and a description) its problem+json body.
struct CommonResponses;

fn problem_response(
    status: &str,
    description: &str,
    header: Option<&str>,
) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", problem_content(status));
    if let Some(header) = header {
        response = response.header(header, HeaderBuilder::new().description(Some("Seconds to wait")).build());
    }
    RefOr::T(response.build())
}

impl CommonResponses {
    fn add(operation: &mut Operation) {
        let responses = &mut operation.responses.responses;
        let mut add = |status: &str, description: &str, header: Option<&str>| {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| problem_response(status, description, header));
        };
        add("500", "Unexpected failure; the body carries a request id", None);
        add(
            "503",
            "The database is unavailable (`unavailable`: nothing was changed), or it stopped answering \
             after a change was sent to be committed (`outcome_unknown`: the change may have been \
             applied; read before sending it again)",
            Some("Retry-After"),
        );
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
                    response
                        .content
                        .insert("application/problem+json".to_owned(), RefOr::T(problem_content(status)));
                }
                _ => {}
            }
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                CommonResponses::add(operation);
            }
        }
    }
}

/// Every operation counts against the hourly budget of a client with a
/// bearer token (429 past it); writes that need one take an
/// `Idempotency-Key`.
struct ClientBookkeeping;

fn idempotency_key_parameter() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ParameterBuilder::new()
        .name(idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "A key of your choosing, new for each request (a UUID, say). Sent again with the same \
             request, within 24 hours, it answers what the first one answered, with \
             `Idempotent-Replayed: true`, instead of doing it again; with another request, 422 \
             `idempotency_key_reused`; while the first still runs, 409 `idempotency_key_in_use`.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(idempotency::MAX_KEY_CHARS))
                .pattern(Some("^[ -~]+$")),
        ))
        .build()
}

impl Modify for ClientBookkeeping {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            // A refresh is authenticated by its refresh token, not an access token: no key.
            let keyed = path != "/api/refresh";
            for operation in [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
                .filter(|operation| keyed && operation.security.as_ref().is_some_and(|s| !s.is_empty()))
            {
                operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(idempotency_key_parameter()));
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(status, description, None));
                };
                add("400", "The `Idempotency-Key` is not 1 to 255 printable characters");
                add("409", "A request with this `Idempotency-Key` is still running");
            }
            for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                operation.responses.responses.entry("429".to_owned()).or_insert_with(|| {
                    problem_response(
                        "429",
                        "Over the hourly budget of the token's account (`rate_limited`), or too many \
                         failed logins",
                        Some("Retry-After"),
                    )
                });
            }
        }
    }
}

/// A problem+json body, with an example of what the API answers with this
/// status.
fn problem_content(status: &str) -> utoipa::openapi::content::Content {
    let example = |status: u16, title: &str, code: &str, detail: &str| serde_json::json!({"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail});
    let example = match status {
        "400" => example(400, "Bad Request", "malformed_json", "The body is not valid JSON."),
        "401" => example(401, "Unauthorized", "authorization_required", "This request needs a bearer token."),
        "403" => example(403, "Forbidden", "forbidden", "You may not do this."),
        "404" => example(404, "Not Found", "not_found", "The store does not exist."),
        "409" => example(409, "Conflict", "conflict", "A store with this name already exists."),
        "412" => example(
            412,
            "Precondition Failed",
            "precondition_failed",
            "The resource has changed since you read it. Fetch it again and retry.",
        ),
        "413" => example(413, "Payload Too Large", "payload_too_large", "The body is larger than 64 KiB."),
        "415" => example(
            415,
            "Unsupported Media Type",
            "unsupported_media_type",
            "Send the body as application/json.",
        ),
        "422" => {
            let mut body =
                example(422, "Unprocessable Entity", "validation_failed", "Some fields are not valid.");
            body["errors"] = serde_json::json!({"name": "must not be empty"});
            body
        }
        "429" => example(
            429,
            "Too Many Requests",
            "too_many_attempts",
            "Too many failed attempts. Try again later.",
        ),
        "503" => example(
            503,
            "Service Unavailable",
            "unavailable",
            "The service is temporarily unavailable. Try again shortly.",
        ),
        _ => {
            let mut body =
                example(500, "Internal Server Error", "internal_error", "Something went wrong on our side.");
            body["request_id"] = "Q2xq4hZk8pW1".into();
            body
        }
    };
    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).example(Some(example)).build()
}

/// Summaries are shown as plain text: code marks belong in descriptions.
struct PlainSummaries;

impl Modify for PlainSummaries {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                if let Some(summary) = operation.summary.as_mut() {
                    *summary = summary.replace('`', "");
                }
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
            "ImageChangesInput",
        ] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}
