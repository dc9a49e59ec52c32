//! The bits of OData the routes need: alternate keys `(appId='...')` and `$filter` with `eq` / `and`.

use http::StatusCode;

use super::error::GraphError;

/// How a request addresses one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityKey {
    /// The object id (`/applications/{id}`).
    Id(String),
    /// The alternate key (`/applications(appId='{appId}')`).
    AppId(String),
}

impl EntityKey {
    pub fn shown(&self) -> &str {
        match self {
            EntityKey::Id(id) | EntityKey::AppId(id) => id,
        }
    }

    /// Whether this key addresses the object with object id `id` and App ID `app_id`.
    pub fn names(&self, id: &str, app_id: &str) -> bool {
        match self {
            EntityKey::Id(wanted) => wanted.eq_ignore_ascii_case(id),
            EntityKey::AppId(wanted) => wanted.eq_ignore_ascii_case(app_id),
        }
    }
}

/// Splits `applications(appId='x')` into the entity set and the key.
pub fn split_alternate_key(segment: &str) -> Result<(String, Option<EntityKey>), GraphError> {
    let Some((set, rest)) = segment.split_once('(') else {
        return Ok((segment.to_owned(), None));
    };
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| GraphError::segment_not_found(segment))?;
    let (name, value) = inner
        .split_once('=')
        .ok_or_else(|| GraphError::segment_not_found(segment))?;
    let value = value.trim().trim_matches('\'');
    if name.trim().eq_ignore_ascii_case("appId") {
        Ok((set.to_owned(), Some(EntityKey::AppId(value.to_owned()))))
    } else {
        // Graph accepts `applications('{id}')` as the object-id form too.
        Ok((set.to_owned(), Some(EntityKey::Id(value.to_owned()))))
    }
}

/// The query options the emulator understands.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `$filter` clauses joined by `and`, each `property eq 'value'`.
    pub filter: Vec<(String, String)>,
}

impl Query {
    pub fn parse(query: Option<&str>) -> Result<Self, GraphError> {
        let mut parsed = Query::default();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if name.eq_ignore_ascii_case("$filter") {
                parsed.filter = parse_filter(&value)?;
            }
        }
        Ok(parsed)
    }

    /// Checks that the filter only uses `allowed` properties, answering Graph's unsupported-query error.
    pub fn only(&self, allowed: &[&str], resource: &str) -> Result<(), GraphError> {
        match self
            .filter
            .iter()
            .find(|(p, _)| !allowed.iter().any(|a| a.eq_ignore_ascii_case(p)))
        {
            Some((property, _)) => Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!(
                    "Unsupported or invalid query filter clause specified for property '{property}' of resource '{resource}'."
                ),
            )),
            None => Ok(()),
        }
    }

    /// Whether `value_of(property)` satisfies every clause.
    pub fn matches(&self, value_of: impl Fn(&str) -> Option<String>) -> bool {
        self.filter.iter().all(|(property, wanted)| {
            value_of(&property.to_ascii_lowercase()).is_some_and(|actual| actual.eq_ignore_ascii_case(wanted))
        })
    }
}

fn parse_filter(text: &str) -> Result<Vec<(String, String)>, GraphError> {
    let invalid = || {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid filter clause: {text}"),
        )
    };
    let mut clauses = Vec::new();
    for clause in split_and(text) {
        let clause = clause.trim();
        let mut words = clause.splitn(3, ' ');
        let (Some(property), Some(op), Some(value)) = (words.next(), words.next(), words.next()) else {
            return Err(invalid());
        };
        if !op.eq_ignore_ascii_case("eq") {
            return Err(invalid());
        }
        let value = value.trim();
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(value);
        clauses.push((property.to_owned(), value.replace("''", "'")));
    }
    Ok(clauses)
}

fn split_and(text: &str) -> Vec<&str> {
    let lower = text.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut start = 0;
    while let Some(found) = lower[start..].find(" and ") {
        parts.push(&text[start..start + found]);
        start += found + 5;
    }
    parts.push(&text[start..]);
    parts
}
