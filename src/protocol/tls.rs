//! go-plugin's AutoMTLS: a fresh self-signed server certificate per start, and a client verifier that
//! accepts exactly the certificate Terraform handed over in `PLUGIN_CLIENT_CERT` (pinned by its bytes).
//! The same pin serves the other direction, for whoever plays Terraform's part (tests, benchmarks): the
//! server certificate announced in the handshake.
//!
//! Terraform's certificate is self-signed with CA:true, which WebPKI verifiers refuse as an end entity, so
//! the pin is checked here directly.
//!
//! TLS runs on ring. aws-lc-rs would verify Terraform's P-521/SHA-512 handshake signature out of the box,
//! but it seeds its random generator from CPU jitter on first use: 44 ms measured here, on every provider
//! start (Terraform starts a provider up to three times per plan). ring starts instantly but has no P-521,
//! so that one signature check is done by RustCrypto's `p521`, plugged in as a rustls verification
//! algorithm; every other scheme stays ring's.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
    SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    #[error("generating the server certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("setting up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The TLS side of the handshake: the server configuration, and the certificate to announce (DER).
pub struct AutoMtls {
    pub config: Arc<ServerConfig>,
    pub server_certificate: Vec<u8>,
}

impl AutoMtls {
    /// `client_pem` is the content of `PLUGIN_CLIENT_CERT`.
    pub fn new(client_pem: &str) -> Result<Self, TlsError> {
        let pinned = CertificateDer::pem_slice_iter(client_pem.as_bytes())
            .next()
            .and_then(Result::ok)
            .ok_or(TlsError::NoClientCertificate)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (certificate, key) = self_signed_localhost()?;
        let verifier =
            PinnedCertificate::new(pinned.into_owned(), provider.signature_verification_algorithms);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![certificate.clone()], key)?;
        // gRPC needs HTTP/2; recent grpc-go clients refuse a server that does not negotiate it.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(AutoMtls {
            config: Arc::new(config),
            server_certificate: certificate.to_vec(),
        })
    }
}

/// A certificate like go-plugin's: CN and SAN localhost, CA:true, fresh key (P-256: fast to make).
fn self_signed_localhost() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "terraform-provider-partnercenter");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let certificate = params.self_signed(&key)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((certificate.der().clone(), key))
}

/// A peer accepted by the exact bytes of its certificate. Signatures are checked with `algorithms`, except
/// P-521/SHA-512 (Terraform's client key), which RustCrypto's `p521` checks: ring has no P-521.
#[derive(Debug)]
pub struct PinnedCertificate {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedCertificate {
    pub fn new(pinned: CertificateDer<'static>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        PinnedCertificate { pinned, algorithms }
    }

    /// Whether `presented` is the pinned certificate; `refusal` says what the peer should have shown.
    fn check(&self, presented: &CertificateDer<'_>, refusal: &str) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.pinned.as_ref() {
            Ok(())
        } else {
            Err(rustls::Error::General(refusal.into()))
        }
    }

    fn algorithms_for(&self, scheme: SignatureScheme) -> &WebPkiSupportedAlgorithms {
        if scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            &P521_ONLY
        } else {
            &self.algorithms
        }
    }

    // Terraform's key is P-521, so that scheme must be offered or its TLS client gives up.
    fn schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.algorithms.supported_schemes();
        if !schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512) {
            schemes.push(SignatureScheme::ECDSA_NISTP521_SHA512);
        }
        schemes
    }
}

/// The handshake signature checks, alike in both verifier traits (which name them alike).
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms_for(dss.scheme))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms_for(dss.scheme))
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.schemes()
        }
    };
}

/// The server's side: the client must be Terraform.
impl ClientCertVerifier for PinnedCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    // No CA hints: Go's TLS client then offers its one certificate unconditionally.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(
            end_entity,
            "client certificate is not the one in PLUGIN_CLIENT_CERT",
        )?;
        Ok(ClientCertVerified::assertion())
    }

    signature_checks!();
}

/// Terraform's side, as go-plugin's client does it: the server must be the plugin that printed the
/// handshake.
impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, "not the announced server certificate")?;
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

static P521_SHA512: EcdsaP521Sha512 = EcdsaP521Sha512;

static P521_ONLY: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&P521_SHA512],
    mapping: &[(SignatureScheme::ECDSA_NISTP521_SHA512, &[&P521_SHA512])],
};

/// ECDSA on P-521 with SHA-512: the signature Terraform's client certificate key makes.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p521_signatures_verify_and_tampering_is_caught() {
        use p521::ecdsa::signature::Signer;
        let signing = p521::ecdsa::SigningKey::from_slice(&[1u8; 66]).unwrap();
        let public = p521::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
        let signature: p521::ecdsa::Signature = signing.sign(b"handshake transcript");
        let der = signature.to_der();
        assert!(
            P521_SHA512
                .verify_signature(public.as_bytes(), b"handshake transcript", der.as_bytes())
                .is_ok()
        );
        assert!(
            P521_SHA512
                .verify_signature(public.as_bytes(), b"another transcript", der.as_bytes())
                .is_err()
        );
        assert!(
            P521_SHA512
                .verify_signature(&public.as_bytes()[1..], b"handshake transcript", der.as_bytes())
                .is_err()
        );
    }
}
