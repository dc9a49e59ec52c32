//! The ephemeral resource RPCs (protocol 6.7, Terraform 1.10+): open, renew and close.

use std::time::SystemTime;

use super::{ProviderServer, run};
use crate::protocol::contracts::Provider;
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::proto::tfplugin6 as pb;

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn open(
        &self,
        req: &pb::open_ephemeral_resource::Request,
    ) -> Result<pb::open_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let config = e.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let opened = run("open", &mut diags, async |d| {
            e.implementation.open(&ctx, &config, d).await
        })
        .await
        .flatten();
        let Some(opened) = opened.filter(|_| !diags.has_errors()) else {
            return Err(diags);
        };
        Ok(pb::open_ephemeral_resource::Response {
            result: e.encode(&opened.result),
            renew_at: opened.renew_at.map(timestamp),
            private: opened.private,
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }

    pub(super) async fn renew(
        &self,
        req: &pb::renew_ephemeral_resource::Request,
    ) -> Result<pb::renew_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let renew_at = run("renew", &mut diags, async |d| {
            e.implementation.renew(&ctx, req.private.as_deref(), d).await
        })
        .await
        .flatten();
        Ok(pb::renew_ephemeral_resource::Response {
            renew_at: renew_at.map(timestamp),
            private: req.private.clone(),
            diagnostics: diags.to_proto(),
        })
    }

    pub(super) async fn close(
        &self,
        req: &pb::close_ephemeral_resource::Request,
    ) -> Result<pb::close_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        run("close", &mut diags, async |d| {
            e.implementation.close(&ctx, req.private.as_deref(), d).await
        })
        .await;
        Ok(pb::close_ephemeral_resource::Response {
            diagnostics: diags.to_proto(),
        })
    }
}
