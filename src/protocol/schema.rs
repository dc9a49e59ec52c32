//! Schemas: what Terraform is told about a provider, resource or data source, plus the behaviours this
//! crate attaches to attributes (defaults, validators, requires-replace) so resources need not repeat them.

use std::fmt;
use std::sync::Arc;

use super::diagnostics::{AttributePath, Diagnostics};
use super::proto::tfplugin6 as pb;
use super::value::{Type, Value};

/// A versioned schema. Bumping `version` makes Terraform call `UpgradeResourceState` with the old version.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(description: &str) -> Self {
        Schema {
            version: 0,
            block: Block::new(description),
        }
    }

    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.block.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.block.blocks.push(block);
        self
    }

    /// The object type of values of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    pub(crate) fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub description: String,
    pub deprecated: bool,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    pub fn new(description: &str) -> Self {
        Block {
            description: description.to_owned(),
            ..Default::default()
        }
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    pub fn value_type(&self) -> Type {
        let attrs = self.attributes.iter().map(|a| (a.name.clone(), a.value_type()));
        let blocks = self.blocks.iter().map(|b| (b.name.clone(), b.value_type()));
        Type::object(attrs.chain(blocks))
    }

    pub fn attribute_named(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    fn to_proto(&self, version: i64) -> pb::schema::Block {
        pb::schema::Block {
            version,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self.blocks.iter().map(NestedBlock::to_proto).collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            // Deprecation messages (Terraform 1.15) and computed blocks (6.11) are not used by any schema
            // here; older clients would ignore them anyway.
            deprecation_message: String::new(),
            computed: false,
        }
    }

    /// Runs every attribute's validators over the known parts of `config`.
    pub(crate) fn validate(&self, config: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        for attribute in &self.attributes {
            let value = config.get(&attribute.name);
            let attr_path = extend(path, &attribute.name);
            if !value.is_null() && !value.is_unknown() {
                for validator in &attribute.validators {
                    (validator.check)(value, &attr_path, diags);
                }
            }
            if let AttributeType::Nested { attributes, nesting } = &attribute.kind {
                let nested = Block {
                    attributes: attributes.clone(),
                    ..Default::default()
                };
                for_each_nested(value, *nesting == Nesting::Single, &attr_path, |v, p| {
                    nested.validate(v, &p, diags)
                });
            }
        }
        for block in &self.blocks {
            let attr_path = extend(path, &block.name);
            for_each_nested(
                config.get(&block.name),
                block.nesting == Nesting::Single,
                &attr_path,
                |v, p| block.block.validate(v, &p, diags),
            );
        }
    }
}

fn extend(path: &AttributePath, name: &str) -> AttributePath {
    if path.0.is_empty() {
        AttributePath::root(name)
    } else {
        path.clone().attribute(name)
    }
}

fn for_each_nested(
    value: &Value,
    single: bool,
    path: &AttributePath,
    mut f: impl FnMut(&Value, AttributePath),
) {
    if single {
        if !value.is_null() && !value.is_unknown() {
            f(value, path.clone());
        }
        return;
    }
    match value {
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                f(item, path.clone().index(i as i64));
            }
        }
        Value::Set(items) => items.iter().for_each(|item| f(item, path.clone())),
        Value::Map(m) => m.iter().for_each(|(k, item)| f(item, path.clone().key(k))),
        _ => {}
    }
}

/// How a nested block or nested attribute repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
}

impl Nesting {
    /// The name Terraform's JSON schema uses (`nesting_mode`).
    pub fn name(self) -> &'static str {
        match self {
            Nesting::Single => "single",
            Nesting::List => "list",
            Nesting::Set => "set",
            Nesting::Map => "map",
        }
    }

    /// The type of the values of something nested this way, whose single object has type `object`.
    fn wrap(self, object: Type) -> Type {
        match self {
            Nesting::Single => object,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
            Nesting::Map => Type::map(object),
        }
    }

    /// The protocol's nesting mode. Nested attributes (`Schema.Object.NestingMode`) and blocks
    /// (`Schema.NestedBlock.NestingMode`) have an enum each, numbering these four modes alike.
    fn to_proto(self) -> i32 {
        use pb::schema::nested_block::NestingMode;
        let mode = match self {
            Nesting::Single => NestingMode::Single,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
            Nesting::Map => NestingMode::Map,
        };
        mode as i32
    }
}

/// An attribute's type: a plain cty type, or nested attributes (protocol 6 only).
#[derive(Debug, Clone)]
pub enum AttributeType {
    Plain(Type),
    Nested {
        nesting: Nesting,
        attributes: Vec<Attribute>,
    },
}

type Check = Arc<dyn Fn(&Value, &AttributePath, &mut Diagnostics) + Send + Sync>;

/// Checks one attribute's configured value; runs at validate time, before any network call.
#[derive(Clone)]
pub struct Validator {
    /// Shown in generated docs, e.g. "must be a GUID".
    pub description: String,
    check: Check,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validator({})", self.description)
    }
}

impl Validator {
    /// A check on string values. Applied to each element when the attribute is a collection of strings,
    /// and skipped for unknown elements. The error text should say what is wrong and what to do.
    pub fn string<F>(description: &str, check: F) -> Self
    where
        F: Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    {
        Validator {
            description: description.to_owned(),
            check: Arc::new(move |value, path, diags| {
                let mut report = |s: &str, path: AttributePath| {
                    if let Err(detail) = check(s) {
                        diags.attribute_error(path.clone(), format!("Invalid value for {path}"), detail);
                    }
                };
                match value {
                    Value::String(s) => report(s, path.clone()),
                    Value::List(items) | Value::Set(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Value::String(s) = item {
                                let p = if matches!(value, Value::List(_)) {
                                    path.clone().index(i as i64)
                                } else {
                                    path.clone()
                                };
                                report(s, p);
                            }
                        }
                    }
                    Value::Map(m) => m.iter().for_each(|(k, v)| {
                        if let Value::String(s) = v {
                            report(s, path.clone().key(k));
                        }
                    }),
                    _ => {}
                }
            }),
        }
    }

    /// A check on the whole value, for anything `string` cannot express.
    pub fn value<F>(description: &str, check: F) -> Self
    where
        F: Fn(&Value, &AttributePath, &mut Diagnostics) + Send + Sync + 'static,
    {
        Validator {
            description: description.to_owned(),
            check: Arc::new(check),
        }
    }
}

/// Builder methods named after a `bool` field of the same name, which each sets (see the field's doc).
macro_rules! switches_on {
    ($($flag:ident),* $(,)?) => {$(
        #[doc = concat!("Sets `", stringify!($flag), "`.")]
        pub fn $flag(mut self) -> Self {
            self.$flag = true;
            self
        }
    )*};
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeType,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    /// A change to this attribute destroys and recreates the object.
    pub requires_replace: bool,
    /// On update, keep the prior value instead of "known after apply" (for values that never change).
    pub use_state_for_unknown: bool,
    /// The value planned when the configuration leaves the attribute null (implies optional + computed).
    pub default: Option<Value>,
    pub validators: Vec<Validator>,
}

impl Attribute {
    pub fn new(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.to_owned(),
            kind: AttributeType::Plain(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            requires_replace: false,
            use_state_for_unknown: false,
            default: None,
            validators: Vec::new(),
        }
    }

    pub fn string(name: &str) -> Self {
        Self::new(name, Type::String)
    }

    pub fn bool(name: &str) -> Self {
        Self::new(name, Type::Bool)
    }

    pub fn number(name: &str) -> Self {
        Self::new(name, Type::Number)
    }

    /// Nested attributes. Terraform 1.0 renders these poorly in plans, so prefer blocks for user input.
    pub fn nested(name: &str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        let mut a = Self::new(name, Type::Dynamic);
        a.kind = AttributeType::Nested { nesting, attributes };
        a
    }

    pub fn description(mut self, markdown: &str) -> Self {
        self.description = markdown.to_owned();
        self
    }

    switches_on!(
        required,
        optional,
        computed,
        sensitive,
        write_only,
        deprecated,
        requires_replace,
        use_state_for_unknown,
    );

    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self.optional = true;
        self.computed = true;
        self
    }

    pub fn validate(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }

    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested { nesting, attributes } => nesting.wrap(Type::object(
                attributes.iter().map(|a| (a.name.clone(), a.value_type())),
            )),
        }
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        // Exactly one of `type` and `nested_type`: Terraform panics when both are set.
        let (ty, nested_type) = match &self.kind {
            AttributeType::Plain(t) => (t.to_json().to_string().into_bytes(), None),
            AttributeType::Nested { nesting, attributes } => (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: attributes.iter().map(Attribute::to_proto).collect(),
                    nesting: nesting.to_proto(),
                    ..Default::default()
                }),
            ),
        };
        #[allow(deprecated)]
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: ty,
            nested_type,
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            write_only: self.write_only,
            deprecation_message: String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        let max_items = if nesting == Nesting::Single { 1 } else { 0 };
        NestedBlock {
            name: name.to_owned(),
            nesting,
            block,
            min_items: 0,
            max_items,
        }
    }

    pub fn value_type(&self) -> Type {
        self.nesting.wrap(self.block.value_type())
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        pb::schema::NestedBlock {
            type_name: self.name.clone(),
            block: Some(self.block.to_proto(0)),
            nesting: self.nesting.to_proto(),
            // Terraform rejects min/max on single blocks other than 0/1.
            min_items: self.min_items,
            max_items: if self.nesting == Nesting::Single {
                0
            } else {
                self.max_items
            },
        }
    }
}

/// The JSON shape `terraform providers schema -json` prints, for the `schema` subcommand and docs.
pub mod terraform_json {
    use serde_json::{Map, Value as Json, json};

    use super::{Attribute, AttributeType, Block, Nesting, Schema};

    pub fn schema(schema: &Schema) -> Json {
        json!({ "version": schema.version, "block": block(&schema.block) })
    }

    fn block(b: &Block) -> Json {
        let mut out = Map::new();
        if !b.attributes.is_empty() {
            out.insert("attributes".into(), attributes(&b.attributes));
        }
        if !b.blocks.is_empty() {
            let blocks: Map<String, Json> = b
                .blocks
                .iter()
                .map(|nb| {
                    let mut m = Map::new();
                    m.insert("nesting_mode".into(), nb.nesting.name().into());
                    m.insert("block".into(), block(&nb.block));
                    if nb.min_items > 0 {
                        m.insert("min_items".into(), nb.min_items.into());
                    }
                    if nb.max_items > 0 && nb.nesting != Nesting::Single {
                        m.insert("max_items".into(), nb.max_items.into());
                    }
                    (nb.name.clone(), Json::Object(m))
                })
                .collect();
            out.insert("block_types".into(), Json::Object(blocks));
        }
        if !b.description.is_empty() {
            out.insert("description".into(), b.description.clone().into());
        }
        out.insert("description_kind".into(), "markdown".into());
        if b.deprecated {
            out.insert("deprecated".into(), true.into());
        }
        Json::Object(out)
    }

    fn attributes(attrs: &[Attribute]) -> Json {
        Json::Object(attrs.iter().map(|a| (a.name.clone(), attribute(a))).collect())
    }

    fn attribute(a: &Attribute) -> Json {
        let mut m = Map::new();
        match &a.kind {
            AttributeType::Plain(t) => {
                m.insert("type".into(), t.to_json());
            }
            AttributeType::Nested {
                nesting: n,
                attributes: inner,
            } => {
                m.insert(
                    "nested_type".into(),
                    json!({ "attributes": attributes(inner), "nesting_mode": n.name() }),
                );
            }
        }
        if !a.description.is_empty() {
            m.insert("description".into(), a.description.clone().into());
        }
        m.insert("description_kind".into(), "markdown".into());
        for (flag, set) in [
            ("required", a.required),
            ("optional", a.optional),
            ("computed", a.computed),
            ("sensitive", a.sensitive),
            ("deprecated", a.deprecated),
            ("write_only", a.write_only),
        ] {
            if set {
                m.insert(flag.into(), true.into());
            }
        }
        Json::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Schema {
        Schema::new("A key.")
            .attribute(Attribute::string("name").required().requires_replace())
            .attribute(Attribute::string("display").default("terraform"))
            .attribute(Attribute::nested(
                "items",
                Nesting::List,
                vec![Attribute::string("id").computed()],
            ))
            .block(NestedBlock::new(
                "timeouts",
                Nesting::Single,
                Block::new("").attribute(Attribute::string("create").optional()),
            ))
    }

    #[test]
    fn value_type_covers_attributes_nested_attributes_and_blocks() {
        let ty = sample().value_type();
        let expected = Type::object([
            ("name", Type::String),
            ("display", Type::String),
            ("items", Type::list(Type::object([("id", Type::String)]))),
            ("timeouts", Type::object([("create", Type::String)])),
        ]);
        assert_eq!(ty, expected);
    }

    #[test]
    fn an_attribute_never_carries_both_type_and_nested_type() {
        let proto = sample().to_proto();
        for a in proto.block.unwrap().attributes {
            assert!(a.r#type.is_empty() != a.nested_type.is_none(), "{}", a.name);
        }
    }

    #[test]
    fn nested_attributes_and_blocks_number_their_nesting_modes_alike() {
        use pb::schema::{nested_block, object};
        for (nesting, name) in [
            (Nesting::Single, "SINGLE"),
            (Nesting::List, "LIST"),
            (Nesting::Set, "SET"),
            (Nesting::Map, "MAP"),
        ] {
            let block = nested_block::NestingMode::from_str_name(name).map(|m| m as i32);
            let attribute = object::NestingMode::from_str_name(name).map(|m| m as i32);
            assert_eq!(block, Some(nesting.to_proto()), "{name}");
            assert_eq!(attribute, Some(nesting.to_proto()), "{name}");
        }
    }

    #[test]
    fn defaults_make_an_attribute_optional_and_computed() {
        let s = sample();
        let display = s.block.attribute_named("display").unwrap();
        assert!(display.optional && display.computed);
    }

    #[test]
    fn string_validators_report_on_the_attribute_and_list_element() {
        let guid = || {
            Validator::string("a GUID", |s| {
                if s.len() == 36 {
                    Ok(())
                } else {
                    Err("must be a GUID".into())
                }
            })
        };
        let block = Block::new("")
            .attribute(Attribute::string("id").optional().validate(guid()))
            .attribute(
                Attribute::new("ids", Type::list(Type::String))
                    .optional()
                    .validate(guid()),
            );
        let config = Value::object([
            ("id", Value::string("nope")),
            (
                "ids",
                Value::List(vec![
                    Value::string("00000000-0000-0000-0000-000000000000"),
                    Value::string("x"),
                    Value::Unknown,
                ]),
            ),
        ]);
        let mut diags = Diagnostics::new();
        block.validate(&config, &AttributePath::default(), &mut diags);
        let paths: Vec<String> = diags
            .iter()
            .map(|d| d.attribute.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths, vec!["id", "ids[1]"]);
    }
}
