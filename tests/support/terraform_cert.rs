//! A client certificate like the one Terraform makes for AutoMTLS (ECDSA P-521, SHA-512, self-signed,
//! CA:true, CN localhost), for tests and benchmarks that play Terraform's part. Made with the openssl CLI:
//! the provider's own TLS stack (ring) cannot create P-521 keys, and should not need to.

use std::process::Command;

/// (certificate PEM, private key PEM)
pub fn terraform_like_client_certificate() -> (String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-sha512",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command is needed to play Terraform's part (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(cert).expect("certificate"),
        std::fs::read_to_string(key).expect("key"),
    )
}
