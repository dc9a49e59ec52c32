//! The data source RPC: ReadDataSource.

use super::{ProviderServer, run};
use crate::protocol::contracts::Provider;
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::proto::tfplugin6 as pb;

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn read_data(
        &self,
        req: &pb::read_data_source::Request,
    ) -> Result<pb::read_data_source::Response, Diagnostics> {
        let source = self.data_sources.get(&req.type_name)?;
        let config = source.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let state = run("read", &mut diags, async |d| {
            source.implementation.read(&ctx, &config, d).await
        })
        .await
        .flatten();
        Ok(pb::read_data_source::Response {
            state: state
                .filter(|_| !diags.has_errors())
                .and_then(|s| source.encode(&s)),
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }
}
