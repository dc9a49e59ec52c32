//! What a token is for: the resource a v1 `resource` or v2 `scope` names, among the first-party APIs,
//! the emulated Key Vault and the tenant's own applications, with the delegated scopes it carries.

use super::error::Aadsts;
use crate::emulator::{Emulator, State};
use crate::well_known;

/// OpenID Connect scopes: they ask for an id token or refresh token, not for an API.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// A token's audience and the delegated scope values it carries.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub audience: String,
    pub api_app_id: String,
    pub scopes: Vec<String>,
}

/// Looks a resource identifier up among the first-party APIs and the tenant's own apps.
fn find_resource(emu: &Emulator, state: &State, resource: &str) -> Option<(String, Vec<String>)> {
    let wanted = resource.trim_end_matches('/');
    if let Some(key_vault) = crate::key_vault::login_resource(wanted) {
        return Some(key_vault);
    }
    for api in well_known::first_party_apis(&emu.dev_center_scope_id) {
        let named = api.app_id.eq_ignore_ascii_case(wanted)
            || api
                .identifier_uris
                .iter()
                .any(|uri| uri.trim_end_matches('/').eq_ignore_ascii_case(wanted));
        if named {
            return Some((
                api.app_id.to_owned(),
                api.scopes.into_iter().map(|s| s.value).collect(),
            ));
        }
    }
    state
        .directory
        .applications
        .iter()
        .find(|a| {
            a.app_id.eq_ignore_ascii_case(wanted)
                || format!("api://{}", a.app_id).eq_ignore_ascii_case(wanted)
        })
        .map(|a| (a.app_id.clone(), vec![]))
}

/// A v1 `resource`: the token carries every consented scope of the resource.
pub(super) fn target_v1(
    emu: &Emulator,
    state: &State,
    resource: &str,
    tenant: &str,
) -> Result<Target, Aadsts> {
    let (api_app_id, published) =
        find_resource(emu, state, resource).ok_or_else(|| Aadsts::resource_not_found(resource, tenant))?;
    Ok(Target {
        audience: resource.trim_end_matches('/').to_owned(),
        api_app_id,
        scopes: published,
    })
}

/// A v2 `scope`: client credentials name exactly one `{resource}/.default`; user flows name scopes of
/// one resource (a bare value means Microsoft Graph), each one the resource publishes, or `.default`.
pub(super) fn target_v2(
    emu: &Emulator,
    state: &State,
    scope: &str,
    client_credentials: bool,
    tenant: &str,
) -> Result<Target, Aadsts> {
    let api_scopes: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)))
        .collect();
    if client_credentials {
        return app_only_target(emu, state, scope, &api_scopes, tenant);
    }
    let (resource, values) = one_resource(&api_scopes)?;
    let (api_app_id, published) =
        find_resource(emu, state, &resource).ok_or_else(|| Aadsts::resource_not_found(&resource, tenant))?;
    let scopes = if values.iter().any(|v| v == ".default") {
        published
    } else {
        if !published.is_empty() {
            if let Some(unknown) = values
                .iter()
                .find(|v| !published.iter().any(|p| p.eq_ignore_ascii_case(v)))
            {
                return Err(Aadsts::invalid_scope(&format!("{resource}/{unknown}")));
            }
        }
        values
    };
    Ok(Target {
        audience: resource.trim_end_matches('/').to_owned(),
        api_app_id,
        scopes,
    })
}

fn app_only_target(
    emu: &Emulator,
    state: &State,
    scope: &str,
    api_scopes: &[&str],
    tenant: &str,
) -> Result<Target, Aadsts> {
    let [only] = api_scopes else {
        return Err(Aadsts::default_scope_required(scope));
    };
    let Some(resource) = only.strip_suffix("/.default") else {
        return Err(Aadsts::default_scope_required(scope));
    };
    let (api_app_id, _) =
        find_resource(emu, state, resource).ok_or_else(|| Aadsts::resource_not_found(resource, tenant))?;
    Ok(Target {
        audience: resource.trim_end_matches('/').to_owned(),
        api_app_id,
        scopes: vec![],
    })
}

/// The one resource the scopes name and their values (`User.Read` when none is named).
fn one_resource(api_scopes: &[&str]) -> Result<(String, Vec<String>), Aadsts> {
    let mut resource: Option<String> = None;
    let mut values = Vec::new();
    for s in api_scopes {
        // A bare scope value ("User.Read") means Microsoft Graph.
        let (res, value) = match s.rsplit_once('/') {
            Some((res, value)) if s.contains("://") || res.len() == 36 => (res.to_owned(), value.to_owned()),
            _ => (crate::demo::GRAPH_AUDIENCE.to_owned(), (*s).to_owned()),
        };
        match &resource {
            Some(r)
                if !r
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(res.trim_end_matches('/')) =>
            {
                return Err(Aadsts::several_resources());
            }
            _ => resource = Some(res),
        }
        values.push(value);
    }
    if values.is_empty() {
        values.push("User.Read".into());
    }
    Ok((
        resource.unwrap_or_else(|| crate::demo::GRAPH_AUDIENCE.to_owned()),
        values,
    ))
}
