//! gRPC clients for what Terraform 1.0.3 cannot drive, playing Terraform's part: a provider served in this
//! process over an in-memory duplex (a [`TestProvider`] of test resources, or the real provider against the
//! emulator), and the real plugin binary over its socket with AutoMTLS ([`Plugin`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use hyper_util::rt::TokioIo;
use partnercenter_emulator::demo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use terraform_provider_partnercenter::protocol::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_partnercenter::protocol::proto::tfplugin6::provider_server::ProviderServer as ProviderService;
use terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE;
use terraform_provider_partnercenter::protocol::tls::PinnedCertificate;
use terraform_provider_partnercenter::protocol::value::{from_msgpack, to_msgpack};
use terraform_provider_partnercenter::protocol::{
    Attribute, Context, DataSource, Diagnostics, EphemeralResource, Identity, ListResource, PlanRequest,
    PlannedChange, Private, Provider, ProviderServer, Resource, Schema, Type, Value,
};
use terraform_provider_partnercenter::provider::PartnerCenter;
use tonic::transport::{Channel, Endpoint, Uri};

#[allow(unused_imports)]
pub use terraform_provider_partnercenter::protocol::proto::tfplugin6 as pb;

/// A raw provider client.
pub type Client = ProviderClient<Channel>;

// ---------------------------------------------------------------------------------------------------------
// Values and diagnostics as Terraform sends and reads them

/// A value encoded as Terraform encodes it (msgpack).
pub fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty),
        json: Vec::new(),
    })
}

/// The value in an answer, decoded with the type Terraform expects; a missing one fails the test.
pub fn value_of(dv: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    from_msgpack(&dv.expect("a value in the answer").msgpack, ty).expect("a value of the schema's type")
}

pub fn identity_data(v: &Value, ty: &Type) -> Option<pb::ResourceIdentityData> {
    Some(pb::ResourceIdentityData {
        identity_data: dv(v, ty),
    })
}

/// An identity in an answer, checked as Terraform checks it: of the schema's type, wholly known, every
/// part set.
pub fn identity_of(data: Option<pb::ResourceIdentityData>, ty: &Type) -> Option<Value> {
    let data = data?.identity_data?;
    let v = from_msgpack(&data.msgpack, ty).expect("an identity of the served schema's type");
    assert!(
        v.is_wholly_known(),
        "Terraform refuses identities with unknowns: {v:?}"
    );
    for (name, part) in v.entries().expect("an identity is an object") {
        assert!(!part.is_null(), "identity part {name} is null: {v:?}");
    }
    Some(v)
}

/// The error diagnostics of an answer, as "summary: detail".
pub fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

/// The requests of one managed resource type, its values encoded with its type.
pub struct Requests {
    pub type_name: String,
    pub ty: Type,
}

impl Requests {
    pub fn new(type_name: &str, ty: Type) -> Self {
        Requests {
            type_name: type_name.to_owned(),
            ty,
        }
    }

    pub fn dv(&self, v: &Value) -> Option<pb::DynamicValue> {
        dv(v, &self.ty)
    }

    pub fn value_of(&self, dv: Option<&pb::DynamicValue>) -> Value {
        value_of(dv, &self.ty)
    }

    pub fn plan(&self, prior: &Value, proposed: &Value, config: &Value) -> pb::plan_resource_change::Request {
        pb::plan_resource_change::Request {
            type_name: self.type_name.clone(),
            prior_state: self.dv(prior),
            proposed_new_state: self.dv(proposed),
            config: self.dv(config),
            ..Default::default()
        }
    }

    /// An apply of `planned` as a plan answered it (or `self.dv(value)`).
    pub fn apply(
        &self,
        prior: &Value,
        planned: Option<pb::DynamicValue>,
        config: &Value,
    ) -> pb::apply_resource_change::Request {
        pb::apply_resource_change::Request {
            type_name: self.type_name.clone(),
            prior_state: self.dv(prior),
            planned_state: planned,
            config: self.dv(config),
            ..Default::default()
        }
    }

    pub fn read(&self, state: &Value) -> pb::read_resource::Request {
        pb::read_resource::Request {
            type_name: self.type_name.clone(),
            current_state: self.dv(state),
            ..Default::default()
        }
    }

    pub fn import(&self, id: &str) -> pb::import_resource_state::Request {
        pb::import_resource_state::Request {
            type_name: self.type_name.clone(),
            id: id.to_owned(),
            ..Default::default()
        }
    }

    /// `import { identity = {...} }`: an identity and no id.
    pub fn import_identity(
        &self,
        identity: Option<pb::ResourceIdentityData>,
    ) -> pb::import_resource_state::Request {
        pb::import_resource_state::Request {
            identity,
            ..self.import("")
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// In process

/// A provider client as Terraform uses it: a transport failure fails the test, answers come unwrapped.
/// The raw client is one `*` away.
#[derive(Clone)]
pub struct PluginClient(pub Client);

/// Methods named `$name` calling RPC `$rpc` (whose request and response live in module `pb::$rpc`).
macro_rules! unwrapped {
    ($($name:ident: $rpc:ident),* $(,)?) => {$(
        pub async fn $name(&mut self, request: pb::$rpc::Request) -> pb::$rpc::Response {
            self.0.$rpc(request).await.expect(stringify!($rpc)).into_inner()
        }
    )*};
}

impl PluginClient {
    unwrapped!(
        schema: get_provider_schema,
        metadata: get_metadata,
        identity_schemas: get_resource_identity_schemas,
        configure: configure_provider,
        plan: plan_resource_change,
        apply: apply_resource_change,
        read: read_resource,
        import: import_resource_state,
        upgrade_state: upgrade_resource_state,
        upgrade_identity: upgrade_resource_identity,
        read_data: read_data_source,
        open: open_ephemeral_resource,
        renew: renew_ephemeral_resource,
        close: close_ephemeral_resource,
        validate_list: validate_list_resource_config,
        plan_action: plan_action,
        validate_action: validate_action_config,
        stop: stop_provider,
    );
}

impl Deref for PluginClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0
    }
}

impl DerefMut for PluginClient {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0
    }
}

/// Serves `server` in this process over an in-memory connection and returns a client for it.
pub async fn in_process<P: Provider>(server: ProviderServer<P>) -> PluginClient {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(ProviderService::new(server))
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io)))
            .await
    });
    let mut client_io = Some(client_io);
    let channel = Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("connection already used"))
            }
        }))
        .await
        .expect("in-process channel");
    PluginClient(ProviderClient::new(channel))
}

/// `provider` served in process and configured as Terraform `terraform_version` configures it, with an
/// empty provider block; configuring must succeed without diagnostics.
pub async fn configured<P: Provider>(provider: P, terraform_version: &str) -> PluginClient {
    let ty = provider.schema().value_type();
    let mut client = in_process(ProviderServer::new(provider)).await;
    let configured = client
        .configure(pb::configure_provider::Request {
            terraform_version: terraform_version.into(),
            config: dv(&Value::null_object(&ty), &ty),
            ..Default::default()
        })
        .await;
    assert!(configured.diagnostics.is_empty(), "{:?}", configured.diagnostics);
    client
}

/// The value type of the managed resource `type_name` of `provider`.
pub fn resource_type<P: Provider>(provider: &P, type_name: &str) -> Type {
    let resources = provider.resources();
    let found = resources.iter().find(|r| r.type_name() == type_name);
    found.expect("the resource type").schema().value_type()
}

/// The value type of the data source `type_name` of `provider`.
pub fn data_source_type<P: Provider>(provider: &P, type_name: &str) -> Type {
    let sources = provider.data_sources();
    let found = sources.iter().find(|d| d.type_name() == type_name);
    found.expect("the data source").schema().value_type()
}

/// The real provider with every endpoint at the emulator at `base` and the demo app's credentials
/// (App+User too when `refresh_token` is set).
pub fn against_emulator(base: &str, refresh_token: bool) -> PartnerCenter {
    let mut env: HashMap<&str, String> = [
        ("PARTNERCENTER_LOGIN_ENDPOINT", base.to_owned()),
        ("PARTNERCENTER_GRAPH_ENDPOINT", base.to_owned()),
        ("PARTNERCENTER_PARTNER_CENTER_ENDPOINT", base.to_owned()),
        ("PARTNERCENTER_TENANT_ID", demo::TENANT_ID.to_owned()),
        ("PARTNERCENTER_CLIENT_ID", demo::APP_ID.to_owned()),
        ("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET.to_owned()),
    ]
    .into_iter()
    .collect();
    if refresh_token {
        env.insert("PARTNERCENTER_REFRESH_TOKEN", demo::REFRESH_TOKEN.to_owned());
    }
    PartnerCenter::with_env(move |k| env.get(k).cloned())
}

// ---------------------------------------------------------------------------------------------------------
// A provider of test resources

/// A provider named "test" (one optional `region` attribute, configuring always succeeds) serving what
/// a test adds.
#[derive(Default)]
pub struct TestProvider {
    resources: Vec<Arc<dyn Resource<()>>>,
    lists: Vec<Arc<dyn ListResource<()>>>,
    ephemeral: Vec<Arc<dyn EphemeralResource<()>>>,
}

impl TestProvider {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn resource(mut self, resource: impl TestResource) -> Self {
        self.resources.push(Arc::new(Served(resource)));
        self
    }

    pub fn list(mut self, list: impl ListResource<()>) -> Self {
        self.lists.push(Arc::new(list));
        self
    }

    pub fn ephemeral(mut self, ephemeral: impl EphemeralResource<()>) -> Self {
        self.ephemeral.push(Arc::new(ephemeral));
        self
    }
}

#[async_trait]
impl Provider for TestProvider {
    type Client = ();
    fn name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new("test").attribute(Attribute::string("region").optional())
    }
    async fn configure(&self, _: &Value, _: &str, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        self.resources.clone()
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        Vec::new()
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<()>>> {
        self.ephemeral.clone()
    }
    fn list_resources(&self) -> Vec<Arc<dyn ListResource<()>>> {
        self.lists.clone()
    }
}

/// A managed resource of a test: it says what it does differently, and everything else echoes Terraform
/// (create and update return the plan, read the state, delete succeeds).
#[async_trait]
pub trait TestResource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn identity(&self) -> Option<Identity> {
        None
    }
    fn modify_plan(&self, _request: &PlanRequest<'_>, _plan: &mut PlannedChange) {}
    async fn create(
        &self,
        _ctx: &Context<()>,
        planned: &Value,
        _private: &mut Private,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        Some(planned.clone())
    }
    fn read(&self, state: &Value) -> Option<Value> {
        Some(state.clone())
    }
    fn update(&self, _prior: &Value, planned: &Value) -> Option<Value> {
        Some(planned.clone())
    }
    fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        diags.error(
            "Not importable",
            format!("{} imports nothing, not \"{id}\"", self.type_name()),
        );
        None
    }
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "No state upgrade",
            format!("{} has no state version {version}", self.type_name()),
        );
        None
    }
}

/// A [`TestResource`] as the server sees it.
struct Served<T>(T);

#[async_trait]
impl<T: TestResource> Resource<()> for Served<T> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
    fn schema(&self) -> Schema {
        self.0.schema()
    }
    fn identity(&self) -> Option<Identity> {
        self.0.identity()
    }
    async fn modify_plan(
        &self,
        _: &Context<()>,
        request: &PlanRequest<'_>,
        plan: &mut PlannedChange,
        _: &mut Diagnostics,
    ) {
        self.0.modify_plan(request, plan)
    }
    async fn create(
        &self,
        ctx: &Context<()>,
        planned: &Value,
        _: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        self.0.create(ctx, planned, private, diags).await
    }
    async fn read(
        &self,
        _: &Context<()>,
        state: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        self.0.read(state)
    }
    async fn update(
        &self,
        _: &Context<()>,
        prior: &Value,
        planned: &Value,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        self.0.update(prior, planned)
    }
    async fn delete(&self, _: &Context<()>, _: &Value, _: &Private, _: &mut Diagnostics) {}
    async fn import(&self, _: &Context<()>, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        self.0.import(id, diags)
    }
    fn upgrade_state(
        &self,
        version: i64,
        state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        self.0.upgrade_state(version, state, diags)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The plugin binary

/// The provider binary started as Terraform starts it (magic cookie, protocol versions, a client
/// certificate like Terraform's unless `env` brings one) with `env` on top, and the handshake line it
/// printed (empty when it printed none). Its stderr goes to `stderr`.
pub fn launch(env: &[(&str, &str)], stderr: Stdio) -> (Child, String) {
    let mut cmd = Command::new(super::provider_binary());
    if !env.iter().any(|(k, _)| *k == "PLUGIN_CLIENT_CERT") {
        let (cert, _) = super::terraform_cert::terraform_like_client_certificate();
        cmd.env("PLUGIN_CLIENT_CERT", cert);
    }
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_MIN_PORT")
        .env_remove("PLUGIN_MAX_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start plugin");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("handshake line");
    (child, line.trim().to_owned())
}

/// Where the plugin listens, as its handshake says.
#[derive(Debug, Clone)]
pub enum Address {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

/// The provider binary started as Terraform starts it, with a P-521 client certificate like Terraform's.
pub struct Plugin {
    pub child: Child,
    pub address: Address,
    pub server_certificate: Vec<u8>,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub handshake: String,
}

impl Plugin {
    /// On a unix socket, go-plugin's transport outside Windows.
    pub fn start(extra_env: &[(&str, &str)]) -> Plugin {
        Self::start_on("unix", extra_env)
    }

    /// On TCP (go-plugin's transport on Windows), forced with PARTNERCENTER_PLUGIN_TRANSPORT.
    pub fn start_tcp(extra_env: &[(&str, &str)]) -> Plugin {
        let mut env = vec![("PARTNERCENTER_PLUGIN_TRANSPORT", "tcp")];
        env.extend_from_slice(extra_env);
        Self::start_on("tcp", &env)
    }

    /// Started with its own Terraform-like certificate; the handshake must announce `network`.
    fn start_on(network: &str, extra_env: &[(&str, &str)]) -> Plugin {
        let (cert, key) = super::terraform_cert::terraform_like_client_certificate();
        let mut env = vec![("PLUGIN_CLIENT_CERT", cert.as_str())];
        env.extend_from_slice(extra_env);
        let (child, handshake) = launch(&env, Stdio::inherit());
        let parts: Vec<&str> = handshake.split('|').collect();
        assert_eq!(parts.len(), 6, "handshake: {handshake}");
        assert_eq!(&parts[..3], &["1", "6", network], "handshake: {handshake}");
        assert_eq!(parts[4], "grpc", "handshake: {handshake}");
        let address = match network {
            "tcp" => Address::Tcp(parts[3].parse().expect("the address is IP:PORT")),
            _ => Address::Unix(PathBuf::from(parts[3])),
        };
        let server_certificate = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .expect("certificate is unpadded standard base64");
        Plugin {
            child,
            address,
            server_certificate,
            client_cert_pem: cert,
            client_key_pem: key,
            handshake,
        }
    }

    /// The unix socket it listens on.
    pub fn socket(&self) -> &Path {
        match &self.address {
            Address::Unix(path) => path,
            Address::Tcp(address) => panic!("listening on TCP {address}, not a unix socket"),
        }
    }

    /// The TCP address it listens on.
    pub fn tcp_address(&self) -> SocketAddr {
        match &self.address {
            Address::Tcp(address) => *address,
            Address::Unix(path) => panic!("listening on {}, not TCP", path.display()),
        }
    }

    /// A provider client presenting `identity` (certificate PEM, key PEM), or no certificate at all.
    pub async fn connect(
        &self,
        identity: Option<(&str, &str)>,
    ) -> Result<ProviderClient<Channel>, tonic::transport::Error> {
        Ok(ProviderClient::new(self.channel(identity).await?))
    }

    /// A client presenting Terraform's certificate.
    pub async fn connect_as_terraform(&self) -> ProviderClient<Channel> {
        let identity = Some((self.client_cert_pem.as_str(), self.client_key_pem.as_str()));
        self.connect(identity).await.expect("connect as Terraform")
    }

    /// A channel presenting Terraform's certificate, for any of the plugin's services.
    pub async fn channel_as_terraform(&self) -> Channel {
        let identity = Some((self.client_cert_pem.as_str(), self.client_key_pem.as_str()));
        self.channel(identity).await.expect("connect as Terraform")
    }

    /// Whether a client presenting `identity` gets the provider schema: connecting and asking both work.
    pub async fn answers(&self, identity: Option<(&str, &str)>) -> bool {
        match self.connect(identity).await {
            Err(_) => false,
            Ok(mut client) => client
                .get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .is_ok(),
        }
    }

    /// A channel presenting `identity`, for any of the plugin's services. The server certificate is pinned
    /// to the one the handshake announced, as go-plugin's client does.
    pub async fn channel(&self, identity: Option<(&str, &str)>) -> Result<Channel, tonic::transport::Error> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.tls_client(identity)));
        let address = self.address.clone();
        Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let (connector, address) = (connector.clone(), address.clone());
                async move {
                    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                    let tls = match address {
                        Address::Unix(path) => {
                            let stream = tokio::net::UnixStream::connect(path).await?;
                            Box::new(connector.connect(name, stream).await?) as Box<dyn Io>
                        }
                        Address::Tcp(address) => {
                            let stream = tokio::net::TcpStream::connect(address).await?;
                            Box::new(connector.connect(name, stream).await?) as Box<dyn Io>
                        }
                    };
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await
    }

    /// Terraform's TLS client: aws-lc-rs, since it signs with a P-521 key (ring has no P-521).
    fn tls_client(&self, identity: Option<(&str, &str)>) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let pinned = CertificateDer::from(self.server_certificate.clone());
        let verifier = PinnedCertificate::new(pinned, provider.signature_verification_algorithms);
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert pem")],
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key pem"),
                )
                .expect("client auth"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        config
    }

    /// Waits for the plugin to exit, at most `within`.
    pub async fn exit_status(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the plugin's status") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "still running {within:?} after Shutdown"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A connection, over whichever socket.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
