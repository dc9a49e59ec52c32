//! What the three directory entity sets (`/applications`, `/servicePrincipals`, `/oauth2PermissionGrants`)
//! share: routing a request to the set or to one member, `$filter`ed lists, and reads and writes that see
//! the directory as a lagging replica may (see `crate::replication`).

use axum::response::Response;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde_json::Value;

use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, collection, entity};
use crate::directory::DirectoryObject;
use crate::emulator::{Emulator, State};

/// One kind of directory object served as a Graph entity set.
pub trait EntitySet: DirectoryObject {
    /// The set's name in `@odata.context`, e.g. `applications`.
    const NAME: &'static str;
    /// The entity type `$filter` errors name, e.g. `Application`.
    const TYPE_NAME: &'static str;
    /// The properties `$filter` may name.
    const FILTERABLE: &'static [&'static str];

    /// The value of a filterable property (its name lowercased).
    fn property(&self, name: &str) -> Option<String>;

    /// Whether `key` addresses this object.
    fn is(&self, key: &EntityKey) -> bool;

    /// Graph's JSON for it.
    fn to_json(&self, state: &State) -> Value;

    /// `POST` to the set.
    fn create(emu: &Emulator, state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError>;

    /// A request to one member (and what follows it in the path).
    fn member(state: &mut State, key: EntityKey, request: &GraphRequest<'_>) -> Result<Response, GraphError>;
}

/// A request to the set (GET lists, POST creates) or to one member.
pub fn route<T: EntitySet>(emu: &Emulator, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let mut guard = emu.state();
    let state = &mut *guard;
    match request.key.clone() {
        Some(key) => T::member(state, key, request),
        None if *request.method == Method::GET => list::<T>(state, request),
        None if *request.method == Method::POST => T::create(emu, state, request),
        None => Err(GraphError::method_not_allowed()),
    }
}

/// `GET` of the set: the members this request sees that `$filter` picks.
fn list<T: EntitySet>(state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    request.query.only(T::FILTERABLE, T::TYPE_NAME)?;
    let wanted = |object: &T| request.query.matches(|p| object.property(p));
    let (committed, removed) = T::collections(&mut state.directory);
    let seen = state.replicator.list(committed, removed, wanted, request.now);
    Ok(collection(
        T::NAME,
        seen.iter().map(|object| object.to_json(state)).collect(),
    ))
}

/// One member as Graph answers it (`status`, with its `@odata.context`).
pub fn one<T: EntitySet>(status: StatusCode, object: &T, state: &State) -> Response {
    entity(status, &format!("{}/$entity", T::NAME), object.to_json(state))
}

/// The member `key` addresses as this request sees it: 404 while its creation is missed; a deleted one
/// while its deletion is missed.
pub fn seen<T: EntitySet>(state: &mut State, key: &EntityKey, now: DateTime<Utc>) -> Result<T, GraphError> {
    let (committed, removed) = T::collections(&mut state.directory);
    state
        .replicator
        .find(committed, removed, |object| object.is(key), now)
        .ok_or_else(|| GraphError::not_found(key.shown()))
}

/// The index of the committed member a write addresses: 404 while this request misses its creation (a
/// write to an object created moments ago fails like this in Entra).
pub fn addressed<T: EntitySet>(
    state: &mut State,
    key: &EntityKey,
    now: DateTime<Utc>,
) -> Result<usize, GraphError> {
    let (committed, _) = T::collections(&mut state.directory);
    state
        .replicator
        .for_write(committed, |object| object.is(key), now)
        .ok_or_else(|| GraphError::not_found(key.shown()))
}

/// `$filter`able properties of the objects an App ID names too (applications, service principals).
pub const APP_OBJECT_FILTERABLE: &[&str] = &["appId", "id", "displayName"];

/// The value of one of [`APP_OBJECT_FILTERABLE`] (its name lowercased).
pub fn app_object_property(name: &str, id: &str, app_id: &str, display_name: &str) -> Option<String> {
    let value = match name {
        "appid" => app_id,
        "id" => id,
        "displayname" => display_name,
        _ => return None,
    };
    Some(value.to_owned())
}
