//! Resource identity (protocol 6.9, Terraform 1.12+): the few attributes of a managed resource's state
//! that name its remote object for good. A resource declares them ([`Identity::from_state`]); the server
//! derives every identity it sends from the state the resource returned, so an identity can never disagree
//! with the state beside it, and serves the identity schema, identity upgrades and import by identity.
//!
//! The rules Terraform and its frameworks apply, which this module keeps:
//! - an identity sent back is wholly known and of the schema's type (else Terraform fails the operation);
//! - an identity does not change while the object lives: once Terraform holds one, a state that names the
//!   same object (e.g. a GUID spelled in other case) keeps the identity Terraform holds;
//! - importing by identity must return an identity, or Terraform fails the import.

use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::plan::PlannedChange;
use super::proto::tfplugin6 as pb;
use super::schema::{AttributeType, Schema};
use super::value::{self, Type, Value};

/// The identity version every declared identity has. A new version would need an upgrade path from the
/// old one's stored JSON; none exists yet, so the version is not a knob.
pub const VERSION: i64 = 0;

/// What a resource declares: which attributes of its own state identify its remote object. Their types and
/// descriptions are taken from the resource's schema, so the identity cannot drift from the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    attributes: Vec<String>,
    ignore_case: bool,
}

impl Identity {
    /// The identity made of these top-level attributes of the resource's state, in this order (which is
    /// also the order of the parts of an import id made from an identity, see [`Identity::import_id`]).
    pub fn from_state<I, S>(attributes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Identity {
            attributes: attributes.into_iter().map(Into::into).collect(),
            ignore_case: false,
        }
    }

    /// String values that differ only in ASCII case name the same object (GUIDs): a state spelling one
    /// differently keeps the identity Terraform already holds.
    pub fn ignore_case(mut self) -> Self {
        self.ignore_case = true;
        self
    }

    pub fn attributes(&self) -> &[String] {
        &self.attributes
    }

    /// The import id an identity stands for: its values, in declared order, joined with `/`. Resources in
    /// this provider already import `<a>/<b>` ids, so import by identity goes through the same parsing and
    /// the same errors as `terraform import`; a value holding `/` is refused rather than misread.
    pub fn import_id(&self, identity: &Value) -> Result<String, Diagnostic> {
        let mut parts = Vec::with_capacity(self.attributes.len());
        for name in &self.attributes {
            let part = match identity.get(name) {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Unknown => {
                    return Err(Diagnostic::error(
                        "Incomplete identity",
                        format!(
                            "Importing by identity needs \"{name}\" (every one of {}); set it in the import \
                             block's identity.",
                            self.attributes.join(", ")
                        ),
                    )
                    .at(AttributePath::root(name)));
                }
                other => {
                    return Err(Diagnostic::error(
                        "Invalid identity",
                        format!("\"{name}\" must be a single value, not {other:?}."),
                    )
                    .at(AttributePath::root(name)));
                }
            };
            if part.contains('/') {
                return Err(Diagnostic::error(
                    "Invalid identity",
                    format!("\"{name}\" = \"{part}\" cannot contain \"/\"."),
                )
                .at(AttributePath::root(name)));
            }
            parts.push(part);
        }
        Ok(parts.join("/"))
    }
}

/// An [`Identity`] checked against its resource's schema: what the server works with.
#[derive(Debug, Clone)]
pub struct ResolvedIdentity {
    declared: Identity,
    /// (name, type, description), in declared order.
    attributes: Vec<(String, Type, String)>,
    value_type: Type,
}

impl ResolvedIdentity {
    /// Looks the declared attributes up in `schema`. Only plain top-level attributes of primitive types
    /// (or lists of them) qualify: those are what Terraform's `import { identity = {...} }` can write.
    pub fn resolve(declared: &Identity, schema: &Schema) -> Result<Self, String> {
        if declared.attributes.is_empty() {
            return Err("an identity needs at least one attribute".into());
        }
        let mut attributes = Vec::with_capacity(declared.attributes.len());
        for name in &declared.attributes {
            if attributes.iter().any(|(n, _, _)| n == name) {
                return Err(format!("\"{name}\" is listed twice"));
            }
            let attribute = schema
                .block
                .attribute_named(name)
                .ok_or_else(|| format!("the schema has no attribute \"{name}\""))?;
            let ty = match &attribute.kind {
                AttributeType::Plain(ty) if identity_type(ty) => ty.clone(),
                _ => {
                    return Err(format!(
                        "\"{name}\" is not a string, number, bool or list of them"
                    ));
                }
            };
            if attribute.sensitive || attribute.write_only {
                // Identities are shown and stored in the clear.
                return Err(format!("\"{name}\" is sensitive or write-only"));
            }
            attributes.push((name.clone(), ty, attribute.description.clone()));
        }
        let value_type = Type::object(attributes.iter().map(|(n, t, _)| (n.clone(), t.clone())));
        Ok(ResolvedIdentity {
            declared: declared.clone(),
            attributes,
            value_type,
        })
    }

    pub fn declared(&self) -> &Identity {
        &self.declared
    }

    /// The type of identity values.
    pub fn value_type(&self) -> &Type {
        &self.value_type
    }

    pub(crate) fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: VERSION,
            identity_attributes: self
                .attributes
                .iter()
                .map(
                    |(name, ty, description)| pb::resource_identity_schema::IdentityAttribute {
                        name: name.clone(),
                        r#type: ty.to_json().to_string().into_bytes(),
                        // Each part is needed to build the import id.
                        required_for_import: true,
                        optional_for_import: false,
                        description: description.clone(),
                    },
                )
                .collect(),
        }
    }

    /// The identity of the object `state` describes: `None` when the state is null, or when any identity
    /// attribute is null or not wholly known (Terraform refuses such identities outside create plans, and
    /// no identity at all is always acceptable).
    pub fn of_state(&self, state: &Value) -> Option<Value> {
        if state.is_null() || state.is_unknown() {
            return None;
        }
        let mut fields = Vec::with_capacity(self.attributes.len());
        for (name, _, _) in &self.attributes {
            let v = state.get(name);
            if v.is_null() || !v.is_wholly_known() {
                return None;
            }
            fields.push((name.clone(), v.clone()));
        }
        Some(Value::object(fields))
    }

    /// Whether two identities name the same object: equal values, strings compared without regard to
    /// ASCII case when the identity says so.
    pub fn same(&self, a: &Value, b: &Value) -> bool {
        self.attributes
            .iter()
            .all(|(name, _, _)| match (a.get(name), b.get(name)) {
                (Value::String(x), Value::String(y)) if self.declared.ignore_case => {
                    x.eq_ignore_ascii_case(y)
                }
                (x, y) => x == y,
            })
    }

    /// The identity to send for an object Terraform already holds as `held`: `held` itself when `derived`
    /// names the same object (an identity does not change while the object lives) or when the state no
    /// longer yields a complete identity; otherwise `derived`.
    pub fn keep_held(&self, held: Option<Value>, derived: Option<Value>) -> Option<Value> {
        match (held, derived) {
            (Some(held), Some(derived)) if self.same(&held, &derived) => Some(held),
            (held, None) => held,
            (_, derived) => derived,
        }
    }

    /// ReadResource: the object Terraform holds keeps its identity; a gone object has none.
    pub(crate) fn after_read(
        &self,
        held: Option<&pb::ResourceIdentityData>,
        state: &Value,
    ) -> Option<pb::ResourceIdentityData> {
        if state.is_null() {
            return None;
        }
        let held = self.held(held, "current identity");
        self.encode(self.keep_held(held, self.of_state(state)).as_ref())
    }

    /// PlanResourceChange: a new object (create, or the second plan of a replacement) gets whatever
    /// identity its plan already knows, none until every part is known; an object updated in place keeps
    /// the identity Terraform holds, and a plan that would change it is a provider bug, reported.
    pub(crate) fn planned(
        &self,
        type_name: &str,
        prior: &Value,
        plan: &PlannedChange,
        held: Option<&pb::ResourceIdentityData>,
        diags: &mut Diagnostics,
    ) -> Option<pb::ResourceIdentityData> {
        let derived = self.of_state(&plan.planned);
        if prior.is_null() || plan.planned.is_null() || plan.is_replace() {
            return self.encode(derived.as_ref());
        }
        let held = self.held(held, "prior identity");
        if let (Some(h), Some(d)) = (&held, &derived) {
            if !self.same(h, d) {
                diags.error(
                    "Identity would change in an in-place update",
                    format!(
                        "The plan keeps this {type_name} object but changes what identifies it ({}); this is a bug \
                         in the provider, please report it.",
                        self.declared.attributes().join(", ")
                    ),
                );
            }
        }
        self.encode(self.keep_held(held, derived).as_ref())
    }

    /// ApplyResourceChange: a created object gets the identity of its state, an updated one keeps the
    /// identity its plan announced, a destroyed one has none.
    pub(crate) fn after_apply(
        &self,
        prior: &Value,
        state: &Value,
        planned: Option<&pb::ResourceIdentityData>,
    ) -> Option<pb::ResourceIdentityData> {
        if state.is_null() {
            return None;
        }
        let derived = self.of_state(state);
        if prior.is_null() {
            return self.encode(derived.as_ref());
        }
        let held = self.held(planned, "planned identity");
        self.encode(self.keep_held(held, derived).as_ref())
    }

    /// The identity `import { identity = {...} }` asks for; sending none is an error.
    pub(crate) fn requested(&self, data: Option<&pb::ResourceIdentityData>) -> Result<Value, Diagnostics> {
        self.decode(data, "identity")?.ok_or_else(|| {
            Diagnostic::error(
                "Empty identity",
                "Terraform asked to import by identity but sent none.",
            )
            .into()
        })
    }

    /// ImportResourceState: the requested identity when the state names the same object (Terraform keeps
    /// it as asked for), else the state's; the requested one when the state alone is incomplete.
    pub(crate) fn imported(
        &self,
        requested: Option<Value>,
        state: &Value,
    ) -> Option<pb::ResourceIdentityData> {
        self.encode(self.keep_held(requested, self.of_state(state)).as_ref())
    }

    /// Decodes an identity Terraform sent; absent or null data is `None`. The value is checked against the
    /// type, so a wrong shape is a diagnostic rather than a silently wrong import.
    fn decode(
        &self,
        data: Option<&pb::ResourceIdentityData>,
        what: &str,
    ) -> Result<Option<Value>, Diagnostics> {
        let Some(dv) = data.and_then(|d| d.identity_data.as_ref()) else {
            return Ok(None);
        };
        match value::from_dynamic(dv, &self.value_type) {
            Ok(Value::Null) => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(Diagnostic::error(
                format!("Cannot decode {what}"),
                format!("Terraform sent an identity the provider could not read: {e}."),
            )
            .into()),
        }
    }

    /// The identity Terraform holds, sent along with a state: one it sent but we cannot read is logged and
    /// treated as none, so the state's own identity is sent back instead of failing the operation.
    fn held(&self, data: Option<&pb::ResourceIdentityData>, what: &str) -> Option<Value> {
        match self.decode(data, what) {
            Ok(held) => held,
            Err(diags) => {
                let problem = diags
                    .iter()
                    .map(|d| d.detail.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                tracing::warn!(%problem, "ignoring the {what} Terraform sent");
                None
            }
        }
    }

    pub(crate) fn encode(&self, identity: Option<&Value>) -> Option<pb::ResourceIdentityData> {
        identity.map(|v| pb::ResourceIdentityData {
            identity_data: Some(value::to_dynamic(v, &self.value_type)),
        })
    }

    /// UpgradeResourceIdentity: the stored JSON of identity `version`, in the current shape. Version 0 is
    /// the only one so far: it passes through (attributes since dropped are ignored, as for state).
    pub(crate) fn upgrade(&self, version: i64, json: &[u8]) -> Result<Value, Diagnostic> {
        if version > VERSION {
            return Err(Diagnostic::error(
                "Identity written by a newer provider",
                format!(
                    "This identity has version {version} but this provider knows version {VERSION}; use the newer \
                     provider."
                ),
            ));
        }
        if version < VERSION {
            return Err(Diagnostic::error(
                "Unsupported identity version",
                format!("There is no upgrade from identity version {version}."),
            ));
        }
        let parsed: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
            Diagnostic::error(
                "Cannot read stored identity",
                format!("The identity is not valid JSON: {e}."),
            )
        })?;
        let upgraded = value::from_json(&parsed, &self.value_type, true).map_err(|e| {
            Diagnostic::error(
                "Cannot read stored identity",
                format!("The stored identity does not match the identity schema: {e}."),
            )
        })?;
        if upgraded.is_null() || !upgraded.is_wholly_known() {
            return Err(Diagnostic::error(
                "Cannot read stored identity",
                "The stored identity is empty.",
            ));
        }
        Ok(upgraded)
    }
}

fn identity_type(ty: &Type) -> bool {
    match ty {
        Type::String | Type::Number | Type::Bool => true,
        Type::List(element) => matches!(**element, Type::String | Type::Number | Type::Bool),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::Attribute;

    fn schema() -> Schema {
        Schema::new("")
            .attribute(Attribute::string("id").computed().description("The id."))
            .attribute(
                Attribute::string("application_id")
                    .required()
                    .description("The app."),
            )
            .attribute(Attribute::string("key_id").computed().description("The key."))
            .attribute(Attribute::string("value").computed().sensitive())
            .attribute(Attribute::new("tags", Type::map(Type::String)).optional())
    }

    fn key_identity() -> ResolvedIdentity {
        let declared = Identity::from_state(["application_id", "key_id"]).ignore_case();
        ResolvedIdentity::resolve(&declared, &schema()).unwrap()
    }

    fn state(app: &str, key: Value) -> Value {
        Value::object([
            ("id", Value::string("x")),
            ("application_id", Value::string(app)),
            ("key_id", key),
            ("value", Value::Null),
            ("tags", Value::Null),
        ])
    }

    #[test]
    fn types_and_descriptions_come_from_the_schema() {
        let proto = key_identity().to_proto();
        assert_eq!(proto.version, 0);
        let names: Vec<_> = proto
            .identity_attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["application_id", "key_id"]);
        for a in &proto.identity_attributes {
            assert_eq!(a.r#type, b"\"string\"");
            assert!(a.required_for_import && !a.optional_for_import);
        }
        assert_eq!(proto.identity_attributes[1].description, "The key.");
    }

    #[test]
    fn declarations_the_schema_cannot_back_are_refused() {
        let s = schema();
        for (declared, why) in [
            (Identity::from_state(["nope"]), "no attribute"),
            (Identity::from_state(["tags"]), "not a string"),
            (Identity::from_state(["value"]), "sensitive"),
            (Identity::from_state(["id", "id"]), "twice"),
            (Identity::from_state(Vec::<String>::new()), "at least one"),
        ] {
            let err = ResolvedIdentity::resolve(&declared, &s).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn an_identity_comes_only_from_wholly_known_values() {
        let id = key_identity();
        let known = id.of_state(&state("A", Value::string("k"))).unwrap();
        assert_eq!(known.get("application_id"), &Value::string("A"));
        assert_eq!(known.entries().unwrap().len(), 2);
        assert_eq!(id.of_state(&state("A", Value::Unknown)), None);
        assert_eq!(id.of_state(&state("A", Value::Null)), None);
        assert_eq!(id.of_state(&Value::Null), None);
    }

    #[test]
    fn the_held_identity_stays_when_only_the_case_differs() {
        let id = key_identity();
        let held = id.of_state(&state("0D4E", Value::string("k"))).unwrap();
        let respelled = id.of_state(&state("0d4e", Value::string("K")));
        assert_eq!(id.keep_held(Some(held.clone()), respelled), Some(held.clone()));
        let other = id.of_state(&state("0d4e", Value::string("other")));
        assert_eq!(id.keep_held(Some(held.clone()), other.clone()), other);
        assert_eq!(id.keep_held(Some(held.clone()), None), Some(held));
        assert_eq!(id.keep_held(None, None), None);

        let exact = ResolvedIdentity::resolve(&Identity::from_state(["application_id"]), &schema()).unwrap();
        let a = Value::object([("application_id", Value::string("A"))]);
        let b = Value::object([("application_id", Value::string("a"))]);
        assert!(!exact.same(&a, &b), "case matters unless declared otherwise");
    }

    #[test]
    fn an_import_id_joins_the_values_in_declared_order() {
        let declared = Identity::from_state(["application_id", "key_id"]);
        let identity = Value::object([
            ("key_id", Value::string("k")),
            ("application_id", Value::string("a")),
        ]);
        assert_eq!(declared.import_id(&identity).unwrap(), "a/k");
        let partial = Value::object([("application_id", Value::string("a")), ("key_id", Value::Null)]);
        let err = declared.import_id(&partial).unwrap_err();
        assert_eq!(err.attribute, Some(AttributePath::root("key_id")));
        let slashed = Value::object([
            ("application_id", Value::string("a/b")),
            ("key_id", Value::string("k")),
        ]);
        assert!(declared.import_id(&slashed).is_err());
    }

    #[test]
    fn identities_round_trip_and_version_0_upgrades_as_is() {
        let id = key_identity();
        let v = id.of_state(&state("A", Value::string("k"))).unwrap();
        let data = id.encode(Some(&v));
        assert_eq!(id.decode(data.as_ref(), "identity").unwrap(), Some(v.clone()));
        assert_eq!(id.decode(None, "identity").unwrap(), None);
        let upgraded = id
            .upgrade(0, br#"{"application_id":"A","key_id":"k","dropped":"x"}"#)
            .unwrap();
        assert_eq!(upgraded, v);
        assert!(id.upgrade(1, b"{}").unwrap_err().summary.contains("newer"));
        assert!(id.upgrade(0, b"not json").is_err());
        assert!(id.upgrade(0, b"null").is_err());
    }
}
