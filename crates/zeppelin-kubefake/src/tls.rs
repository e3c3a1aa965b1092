//! HTTPS on demand: a certificate authority and a server certificate for `127.0.0.1` and
//! `localhost`, made fresh at start, and the acceptor `connections` finishes handshakes with.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;

/// The certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not generate the server certificate")]
    Certificate(#[source] rcgen::Error),
    #[error("could not set up TLS with the generated certificate")]
    Config(#[source] rustls::Error),
}

/// What serving HTTPS needs: the CA clients must trust, and the acceptor.
pub(crate) struct Identity {
    /// PEM of the certificate authority, for the kubeconfig.
    pub(crate) ca_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

/// Makes a CA and a server certificate it signs.
pub(crate) fn identity() -> Result<Identity, TlsError> {
    let ca_key = KeyPair::generate().map_err(TlsError::Certificate)?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(TlsError::Certificate)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "zeppelin-kubefake CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(TlsError::Certificate)?;

    let server_key = KeyPair::generate().map_err(TlsError::Certificate)?;
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let mut server_params = CertificateParams::new(names).map_err(TlsError::Certificate)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "zeppelin-kubefake");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .map_err(TlsError::Certificate)?;

    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let chain = vec![server_cert.der().clone(), ca.der().clone()];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Config)?;
    // HTTP/1.1 only: the server speaks nothing else.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
