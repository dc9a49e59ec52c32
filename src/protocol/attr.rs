//! Typed views of attribute values: `Attr<T>` keeps Terraform's three states (null, unknown, known) that a
//! plain `Option<T>` would blur, and `FromValue` turns a `Value` into Rust types with a diagnostic on the
//! attribute when the shape is wrong.

use std::collections::BTreeMap;

use super::diagnostics::{AttributePath, Diagnostic};
use super::value::Value;

/// An attribute's value as Terraform knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr<T> {
    Null,
    /// Known only after apply (e.g. depends on a resource not yet created).
    Unknown,
    Known(T),
}

impl<T> Attr<T> {
    /// The value when known; `None` for null and unknown alike.
    pub fn known(self) -> Option<T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown)
    }

    pub fn as_ref(&self) -> Attr<&T> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(v),
        }
    }
}

/// Rust types an attribute value converts into.
pub trait FromValue: Sized {
    /// `None` when the value has another shape than expected.
    fn from_value(value: &Value) -> Option<Self>;
    /// What the type is, for diagnostics ("a string").
    const EXPECTED: &'static str;
}

impl FromValue for String {
    const EXPECTED: &'static str = "a string";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "a bool";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "a whole number";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_i64()
    }
}

/// Lists and sets; an unknown element makes the whole collection unusable here.
impl<T: FromValue> FromValue for Vec<T> {
    const EXPECTED: &'static str = "a list of known values";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().map(T::from_value).collect()
            }
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    const EXPECTED: &'static str = "a map of known values";
    fn from_value(value: &Value) -> Option<Self> {
        value
            .entries()?
            .iter()
            .map(|(k, v)| T::from_value(v).map(|t| (k.clone(), t)))
            .collect()
    }
}

impl Value {
    /// The attribute `name` of this object, typed. A shape mismatch is a diagnostic on the attribute
    /// (Terraform has already checked types against the schema, so this means a schema/code mismatch).
    pub fn attr<T: FromValue>(&self, name: &str) -> Result<Attr<T>, Diagnostic> {
        match self.get(name) {
            Value::Null => Ok(Attr::Null),
            Value::Unknown => Ok(Attr::Unknown),
            v => T::from_value(v).map(Attr::Known).ok_or_else(|| {
                Diagnostic::error(
                    format!("Unexpected value for {name}"),
                    format!(
                        "Expected {}; this is a bug in the provider, please report it.",
                        T::EXPECTED
                    ),
                )
                .at(AttributePath::root(name))
            }),
        }
    }

    /// The known value of attribute `name`, or `None` when null, unknown or of another shape.
    pub fn known<T: FromValue>(&self, name: &str) -> Option<T> {
        self.attr(name).ok().and_then(Attr::known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> Value {
        Value::object([
            ("name", Value::string("k")),
            ("later", Value::Unknown),
            ("absent", Value::Null),
            ("scopes", Value::Set(vec![Value::string("a"), Value::string("b")])),
            ("partly", Value::List(vec![Value::string("a"), Value::Unknown])),
            (
                "tags",
                Value::Map([("env".to_owned(), Value::string("prod"))].into()),
            ),
        ])
    }

    #[test]
    fn the_three_states_stay_apart() {
        let v = object();
        assert_eq!(v.attr::<String>("name").unwrap(), Attr::Known("k".to_owned()));
        assert_eq!(v.attr::<String>("later").unwrap(), Attr::Unknown);
        assert_eq!(v.attr::<String>("absent").unwrap(), Attr::Null);
        assert_eq!(
            v.known::<Vec<String>>("scopes"),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            v.known::<BTreeMap<String, String>>("tags").unwrap()["env"],
            "prod"
        );
    }

    #[test]
    fn a_wrong_shape_is_a_diagnostic_on_the_attribute() {
        let v = object();
        let err = v.attr::<bool>("name").unwrap_err();
        assert_eq!(err.attribute, Some(AttributePath::root("name")));
        assert!(
            v.attr::<Vec<String>>("partly").is_err(),
            "an unknown element is not a known list"
        );
    }
}
