//! The error answers the admin API's operations document (`openapi`), in groups each handler
//! names in its `#[utoipa::path(responses(...))]`: every one the [`ErrorBody`] shape that
//! `ApiError::into_response` writes. A leaf: handlers and the document both import it.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};

use crate::http::respond::ErrorBody;

/// An error answer: the [`ErrorBody`] shape.
fn error(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
    ResponseBuilder::new().description(description).content("application/json", body).build().into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter().map(|(status, description)| ((*status).to_owned(), error(description))).collect()
}

/// What any authenticated admin route may answer besides its own answers.
pub struct Denied;

impl IntoResponses for Denied {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("401", "No credential, or not a live admin key, access token or API key of the tenant"),
            (
                "403",
                "The credential may not do this: a missing permission, another tenant, or a route only the admin key may use",
            ),
            ("413", "The request body is over 64 KiB"),
            ("500", "Something broke; the detail is in the server's log only"),
            ("503", "The store is unavailable, or too much password work at once (with `Retry-After`)"),
        ])
    }
}

/// 404: the tenant or another resource the path names does not exist.
pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("404", "The tenant, or what the path names in it, does not exist")])
    }
}

/// What a route with a JSON body answers to one it cannot take.
pub struct Invalid;

impl IntoResponses for Invalid {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("400", "The body is not a JSON object of this shape, or a value is refused"),
            ("415", "The body is not `application/json`"),
        ])
    }
}

/// 409: the change conflicts with what is stored.
pub struct Conflict;

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[(
            "409",
            "A name or id is taken, a limit is reached, or a record changed or went meanwhile",
        )])
    }
}
