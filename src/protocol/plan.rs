//! The default plan for a managed resource, as Terraform's own frameworks make it: defaults filled in,
//! computed values "known after apply" when they may change, replacement when a requires-replace
//! attribute changes. Resources refine it in `Resource::modify_plan`.

use super::diagnostics::AttributePath;
use super::schema::Schema;
use super::value::Value;

/// What PlanResourceChange answers: the planned state and the attributes that force a replacement.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChange {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
}

impl PlannedChange {
    pub fn is_create(&self, prior: &Value) -> bool {
        prior.is_null() && !self.planned.is_null()
    }

    pub fn is_replace(&self) -> bool {
        !self.requires_replace.is_empty()
    }

    /// Takes back a replacement the default plan made because `attribute` changed, when the resource
    /// knows the change is only a spelling of the same object (e.g. a GUID in other case). With no other
    /// reason to replace, the plan is an in-place update: unknown computed values carry over from `prior`.
    pub fn cancel_replacement_of(&mut self, attribute: &str, prior: &Value) {
        let path = AttributePath::root(attribute);
        self.requires_replace.retain(|p| *p != path);
        if self.requires_replace.is_empty() {
            self.planned = self.planned.with_unknowns_from(prior);
        }
    }

    /// Forces a replacement because of `attribute`; computed values of the new object become unknown.
    pub fn replace_because_of(&mut self, attribute: &str, schema: &Schema, config: &Value) {
        let path = AttributePath::root(attribute);
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
        mark_computed_unknown(schema, config, &mut self.planned, false);
    }
}

/// The default plan from Terraform's proposed new state (config merged with prior state).
pub fn default_plan(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> PlannedChange {
    if proposed.is_null() {
        return PlannedChange {
            planned: Value::Null,
            requires_replace: Vec::new(),
        };
    }
    let mut planned = proposed.clone();
    for attribute in &schema.block.attributes {
        if let Some(default) = &attribute.default {
            if config.get(&attribute.name).is_null() {
                planned.set(&attribute.name, default.clone());
            }
        }
    }

    if prior.is_null() {
        mark_computed_unknown(schema, config, &mut planned, false);
        return PlannedChange {
            planned,
            requires_replace: Vec::new(),
        };
    }

    let requires_replace: Vec<AttributePath> = schema
        .block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && prior.get(&a.name) != planned.get(&a.name))
        .map(|a| AttributePath::root(&a.name))
        .collect();

    if !requires_replace.is_empty() {
        // A new object will be created: none of the old computed values carry over.
        mark_computed_unknown(schema, config, &mut planned, false);
    } else if planned != *prior {
        mark_computed_unknown(schema, config, &mut planned, true);
    }
    PlannedChange {
        planned,
        requires_replace,
    }
}

/// Computed attributes the configuration leaves null become unknown, except attributes with a default
/// (already planned) and, when `keep_stable` is set (an in-place update), attributes marked
/// `use_state_for_unknown` and attributes that require replacement (they cannot change without one).
fn mark_computed_unknown(schema: &Schema, config: &Value, planned: &mut Value, keep_stable: bool) {
    for attribute in &schema.block.attributes {
        let configured = !config.get(&attribute.name).is_null();
        if !attribute.computed || configured || attribute.default.is_some() {
            continue;
        }
        if keep_stable && (attribute.use_state_for_unknown || attribute.requires_replace) {
            continue;
        }
        planned.set(&attribute.name, Value::Unknown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::Attribute;

    fn schema() -> Schema {
        Schema::new("")
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("app").required().requires_replace())
            .attribute(Attribute::string("label").optional())
            .attribute(Attribute::string("name").default("terraform"))
            .attribute(Attribute::string("end").optional().computed().requires_replace())
            .attribute(Attribute::number("days").computed())
    }

    fn state(app: &str, label: Option<&str>) -> Value {
        Value::object([
            ("id", Value::string("k1")),
            ("app", Value::string(app)),
            ("label", Value::from(label)),
            ("name", Value::string("terraform")),
            ("end", Value::string("2027-01-01T00:00:00Z")),
            ("days", Value::from(40)),
        ])
    }

    fn config(app: &str, label: Option<&str>) -> Value {
        Value::object([
            ("id", Value::Null),
            ("app", Value::string(app)),
            ("label", Value::from(label)),
            ("name", Value::Null),
            ("end", Value::Null),
            ("days", Value::Null),
        ])
    }

    #[test]
    fn create_fills_defaults_and_leaves_computed_unknown() {
        let cfg = config("a", None);
        let plan = default_plan(&schema(), &Value::Null, &cfg, &cfg);
        assert_eq!(plan.planned.get("name"), &Value::string("terraform"));
        assert!(plan.planned.get("id").is_unknown());
        assert!(plan.planned.get("end").is_unknown());
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn no_change_plans_the_prior_state() {
        let prior = state("a", None);
        // Terraform's proposed state carries prior values for computed attributes.
        let plan = default_plan(&schema(), &prior, &prior, &config("a", None));
        assert_eq!(plan.planned, prior);
    }

    #[test]
    fn an_in_place_change_keeps_stable_values_and_recomputes_the_rest() {
        let prior = state("a", None);
        let mut proposed = prior.clone();
        proposed.set("label", Value::string("new"));
        let plan = default_plan(&schema(), &prior, &proposed, &config("a", Some("new")));
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned.get("id"), &Value::string("k1"));
        assert!(plan.planned.get("days").is_unknown());
        // Computed but replace-only: an in-place update cannot change it.
        assert_eq!(plan.planned.get("end"), &Value::string("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn a_requires_replace_change_replaces_and_recomputes_everything() {
        let prior = state("a", None);
        let mut proposed = prior.clone();
        proposed.set("app", Value::string("b"));
        let plan = default_plan(&schema(), &prior, &proposed, &config("b", None));
        assert_eq!(plan.requires_replace, vec![AttributePath::root("app")]);
        assert!(plan.planned.get("id").is_unknown());
        assert!(plan.planned.get("end").is_unknown());
    }

    #[test]
    fn destroy_plans_null() {
        let plan = default_plan(&schema(), &state("a", None), &Value::Null, &Value::Null);
        assert!(plan.planned.is_null());
    }
}
