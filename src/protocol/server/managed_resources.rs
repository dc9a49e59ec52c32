//! The managed resource RPCs: state upgrades (of values and of identities), read, plan, apply and import.

use super::{ProviderServer, run};
use crate::protocol::contracts::{PlanRequest, Private, Provider};
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::protocol::identity::ResolvedIdentity;
use crate::protocol::plan::default_plan;
use crate::protocol::proto::tfplugin6 as pb;
use crate::protocol::value::{self, Value};

/// What an apply does, by the state it starts from and the state it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Create,
    Update,
    Delete,
}

impl Change {
    fn of(prior: &Value, planned: &Value) -> Change {
        if planned.is_null() {
            Change::Delete
        } else if prior.is_null() {
            Change::Create
        } else {
            Change::Update
        }
    }
}

/// Stored state as UpgradeResourceState hands it over: JSON (Terraform >= 0.12 never writes flatmap).
fn stored_state(raw: Option<&pb::RawState>) -> Result<serde_json::Value, Diagnostics> {
    let Some(raw) = raw.filter(|raw| !raw.json.is_empty()) else {
        return Err(Diagnostic::error(
            "Unsupported state format",
            "This resource's state is in the pre-0.12 flatmap format, which this provider never wrote.",
        )
        .into());
    };
    serde_json::from_slice(&raw.json).map_err(|e| {
        Diagnostic::error(
            "Cannot read stored state",
            format!("The state is not valid JSON: {e}."),
        )
        .into()
    })
}

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn upgrade_state(
        &self,
        req: &pb::upgrade_resource_state::Request,
    ) -> Result<pb::upgrade_resource_state::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let stored = stored_state(req.raw_state.as_ref())?;
        let current = r.schema.version;
        if req.version > current {
            return Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "This state has schema version {} but this provider knows version {current}; use the newer \
                     provider.",
                    req.version
                ),
            )
            .into());
        }
        let mut diags = Diagnostics::new();
        let json = if req.version < current {
            let upgraded = run("state upgrade", &mut diags, async |d| {
                r.implementation.upgrade_state(req.version, stored, d)
            })
            .await
            .flatten();
            match upgraded {
                Some(json) => json,
                None => return Err(diags),
            }
        } else {
            stored
        };
        // Attributes removed from the schema since the state was written are dropped, not fatal.
        let state = value::from_json(&json, &r.value_type, true).map_err(|e| {
            Diagnostic::error(
                "Cannot read stored state",
                format!("The stored state does not match the schema: {e}."),
            )
        });
        let Some(state) = diags.take(state) else {
            return Err(diags);
        };
        Ok(pb::upgrade_resource_state::Response {
            upgraded_state: r.encode(&state),
            diagnostics: diags.to_proto(),
        })
    }

    pub(super) fn upgrade_identity(
        &self,
        req: &pb::upgrade_resource_identity::Request,
    ) -> Result<pb::upgrade_resource_identity::Response, Diagnostics> {
        let identity = self.identity_of(&req.type_name).ok_or_else(|| {
            Diagnostic::error(
                "Resource identity not supported",
                format!("{} does not define a resource identity.", req.type_name),
            )
        })?;
        let json = req.raw_identity.as_ref().map(|raw| raw.json.as_slice());
        let upgraded = identity.upgrade(req.version, json.unwrap_or_default())?;
        Ok(pb::upgrade_resource_identity::Response {
            upgraded_identity: identity.encode(Some(&upgraded)),
            diagnostics: Vec::new(),
        })
    }

    /// ReadResource. On failure Terraform must keep what it had, not forget the object.
    pub(super) async fn refresh(
        &self,
        req: &pb::read_resource::Request,
    ) -> Result<pb::read_resource::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let state = r.decode(req.current_state.as_ref(), "current state")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let mut private = Private::from_bytes(req.private.clone());
        let read = run("read", &mut diags, async |d| {
            r.implementation.read(&ctx, &state, &mut private, d).await
        })
        .await;
        let (new_state, private) = match read {
            Some(new) if !diags.has_errors() => (new.unwrap_or(Value::Null), private),
            Some(Some(new)) => (new, private),
            _ => (state, Private::from_bytes(req.private.clone())),
        };
        let identity = self.identity_of(&req.type_name);
        Ok(pb::read_resource::Response {
            new_state: r.encode(&new_state),
            diagnostics: diags.to_proto(),
            private: private.into_bytes(),
            new_identity: identity.and_then(|id| id.after_read(req.current_identity.as_ref(), &new_state)),
            ..Default::default()
        })
    }

    /// PlanResourceChange: the default plan, refined by the resource unless the object is to be destroyed.
    pub(super) async fn plan(
        &self,
        req: &pb::plan_resource_change::Request,
    ) -> Result<pb::plan_resource_change::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let prior = r.decode(req.prior_state.as_ref(), "prior state")?;
        let proposed = r.decode(req.proposed_new_state.as_ref(), "proposed state")?;
        let config = r.decode(req.config.as_ref(), "configuration")?;
        let mut plan = default_plan(&r.schema, &prior, &proposed, &config);
        let mut diags = Diagnostics::new();
        if !plan.planned.is_null() {
            let ctx = self.context()?;
            let prior_private = Private::from_bytes(req.prior_private.clone());
            let request = PlanRequest {
                prior: &prior,
                config: &config,
                schema: &r.schema,
                prior_private: &prior_private,
            };
            run("plan", &mut diags, async |d| {
                r.implementation.modify_plan(&ctx, &request, &mut plan, d).await
            })
            .await;
        }
        let identity = self.identity_of(&req.type_name);
        let planned_identity = identity.and_then(|id| {
            id.planned(
                &req.type_name,
                &prior,
                &plan,
                req.prior_identity.as_ref(),
                &mut diags,
            )
        });
        Ok(pb::plan_resource_change::Response {
            planned_state: r.encode(&plan.planned),
            requires_replace: plan.requires_replace.iter().map(|p| p.to_proto()).collect(),
            // Nothing in our plans depends on private data of an earlier plan of the same change
            // (`planned_private`, Terraform 1.16): what the last apply or refresh kept is carried on.
            planned_private: req.prior_private.clone(),
            diagnostics: diags.to_proto(),
            planned_identity,
            ..Default::default()
        })
    }

    /// ApplyResourceChange: create, update or delete, by what the plan says.
    pub(super) async fn apply(
        &self,
        req: &pb::apply_resource_change::Request,
    ) -> Result<pb::apply_resource_change::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let prior = r.decode(req.prior_state.as_ref(), "prior state")?;
        let planned = r.decode(req.planned_state.as_ref(), "planned state")?;
        let config = r.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let imp = &r.implementation;
        let mut diags = Diagnostics::new();
        let mut private = Private::from_bytes(req.planned_private.clone());
        let new_state = match Change::of(&prior, &planned) {
            Change::Delete => {
                let done = run("delete", &mut diags, async |d| {
                    imp.delete(&ctx, &prior, &private, d).await
                })
                .await;
                // A failed delete leaves the object in state.
                if done.is_some() && !diags.has_errors() {
                    Value::Null
                } else {
                    prior.clone()
                }
            }
            Change::Create => {
                // A new object starts with nothing kept beside it.
                private = Private::default();
                let created = run("create", &mut diags, async |d| {
                    imp.create(&ctx, &planned, &config, &mut private, d).await
                })
                .await;
                created.flatten().unwrap_or(Value::Null)
            }
            Change::Update => {
                let updated = run("update", &mut diags, async |d| {
                    imp.update(&ctx, &prior, &planned, &config, &mut private, d).await
                })
                .await;
                updated.flatten().unwrap_or(prior.clone())
            }
        };
        let identity = self.identity_of(&req.type_name);
        Ok(pb::apply_resource_change::Response {
            new_state: r.encode(&new_state),
            private: private.into_bytes(),
            diagnostics: diags.to_proto(),
            new_identity: identity
                .and_then(|id| id.after_apply(&prior, &new_state, req.planned_identity.as_ref())),
            ..Default::default()
        })
    }

    /// ImportResourceState, by id or (Terraform 1.12+) by identity. Import by identity goes through the
    /// resource's own import of the id the identity stands for: one parser, one set of errors.
    pub(super) async fn import(
        &self,
        req: &pb::import_resource_state::Request,
    ) -> Result<pb::import_resource_state::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let identity = self.identity_of(&req.type_name);
        let requested = self.requested_identity(req, identity)?;
        let import_id = match (identity, &requested) {
            (Some(id), Some(requested)) => id.declared().import_id(requested)?,
            _ => req.id.clone(),
        };
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let state = run("import", &mut diags, async |d| {
            r.implementation.import(&ctx, &import_id, d).await
        })
        .await
        .flatten();
        let imported = match state {
            Some(state) if !diags.has_errors() => vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: r.encode(&state),
                identity: identity.and_then(|id| id.imported(requested, &state)),
                ..Default::default()
            }],
            _ => Vec::new(),
        };
        Ok(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }

    /// The identity `import { identity = {...} }` (Terraform 1.12) asks for: it sends one and an empty id.
    pub(super) fn requested_identity(
        &self,
        req: &pb::import_resource_state::Request,
        identity: Option<&ResolvedIdentity>,
    ) -> Result<Option<Value>, Diagnostics> {
        if !req.id.is_empty() || req.identity.is_none() {
            return Ok(None);
        }
        let Some(identity) = identity else {
            return Err(Diagnostic::error(
                "Import by identity not supported",
                format!(
                    "{} has no resource identity; import it by id instead.",
                    req.type_name
                ),
            )
            .into());
        };
        identity.requested(req.identity.as_ref()).map(Some)
    }
}
