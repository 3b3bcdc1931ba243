//! TLS between nodes, as OTP's `inet_tls_dist` does it: the TCP connection
//! is encrypted first, then the nodes shake hands as usual inside it.
//!
//! Each node has a certificate and its key, and trusts the certificate
//! authorities that sign the other nodes' certificates. By default both
//! sides verify: a node that connects checks that the other's certificate
//! is signed by a trusted authority and names the host of the node it
//! asked for, and a node that accepts requires a certificate from the other
//! and checks its signature, as Erlang's `{verify, verify_peer}` and
//! `{fail_if_no_peer_cert, true}` do.

mod framing;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::error::DistError;

pub(crate) use framing::Packet4;

/// How a node encrypts its connections and checks its peers: its
/// certificate and key, and the authorities it trusts. Given to a node by
/// [`NodeOptions::tls`](crate::NodeOptions::tls).
///
/// ```no_run
/// use fauxtp_dist::{Cookie, Node, NodeOptions, Tls};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = Tls::from_pem_files("node.pem", "node.key", "ca.pem")?;
/// let options = NodeOptions::new().tls(tls);
/// let node = Node::start_with("rust@localhost", Cookie::new("secret"), options).await?;
/// # let _ = node;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Tls {
    pub(crate) server: Arc<ServerConfig>,
    pub(crate) client: Arc<ClientConfig>,
}

/// What a node checks of its peers' certificates: how [`Tls`] is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verify {
    /// Both sides must show a certificate signed by a trusted authority,
    /// and the certificate of a node this node connects to must name the
    /// host of the node name it dialled (`rust@db1.example.com`:
    /// `db1.example.com`; an address for `rust@10.0.0.5`). The default;
    /// Erlang's `verify_peer` with `fail_if_no_peer_cert` and its host name
    /// check. As in Erlang, the certificate of a node that connects is not
    /// matched against the node name it gives: any node with a trusted
    /// certificate may connect under any name.
    Peer,
    /// As [`Peer`](Verify::Peer), without the host name check: any
    /// certificate the authorities signed will do, whatever host it names.
    PeerAnyHost,
    /// No check at all: connections are encrypted, but anyone with the
    /// cookie may connect, and this node connects to whoever answers
    /// (Erlang's `verify_none`). For trying things out only.
    None,
}

impl Tls {
    /// A node's TLS from PEM files: its certificate chain (its own
    /// certificate first), its private key (PKCS#8, PKCS#1 or SEC1), and
    /// the authorities that sign its peers' certificates. The files Erlang
    /// is given as `certfile`, `keyfile` and `cacertfile` in its
    /// `ssl_dist_optfile`. Peers are verified ([`Verify::Peer`]).
    ///
    /// # Errors
    ///
    /// [`DistError::Tls`] naming the file that cannot be read or holds no
    /// certificate or key, or a key that does not fit the certificate.
    pub fn from_pem_files(
        certificates: impl AsRef<Path>,
        key: impl AsRef<Path>,
        authorities: impl AsRef<Path>,
    ) -> Result<Tls, DistError> {
        Tls::from_pem_files_verifying(certificates, key, authorities, Verify::Peer)
    }

    /// [`from_pem_files`](Tls::from_pem_files), checking peers as `verify`
    /// says.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](Tls::from_pem_files).
    pub fn from_pem_files_verifying(
        certificates: impl AsRef<Path>,
        key: impl AsRef<Path>,
        authorities: impl AsRef<Path>,
        verify: Verify,
    ) -> Result<Tls, DistError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| tls_error(format!("cannot read {}: {e}", path.display())))
        };
        let (certificates, key, authorities) =
            (certificates.as_ref(), key.as_ref(), authorities.as_ref());
        Tls::from_pem_verifying(
            &read(certificates)?,
            &read(key)?,
            &read(authorities)?,
            verify,
        )
        .map_err(|e| match e {
            DistError::Tls { reason } => tls_error(format!(
                "{reason} (files {}, {}, {})",
                certificates.display(),
                key.display(),
                authorities.display()
            )),
            other => other,
        })
    }

    /// A node's TLS from PEM text: as [`from_pem_files`](Tls::from_pem_files).
    ///
    /// # Errors
    ///
    /// [`DistError::Tls`] for PEM text without a certificate or a key, or a
    /// key that does not fit the certificate.
    pub fn from_pem(certificates: &[u8], key: &[u8], authorities: &[u8]) -> Result<Tls, DistError> {
        Tls::from_pem_verifying(certificates, key, authorities, Verify::Peer)
    }

    /// [`from_pem`](Tls::from_pem), checking peers as `verify` says.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Tls::from_pem).
    pub fn from_pem_verifying(
        certificates: &[u8],
        key: &[u8],
        authorities: &[u8],
        verify: Verify,
    ) -> Result<Tls, DistError> {
        let chain = certificates_of(certificates, "certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| tls_error(format!("no private key: {e}")))?;
        let mut roots = RootCertStore::empty();
        for authority in certificates_of(authorities, "authorities")? {
            roots
                .add(authority)
                .map_err(|e| tls_error(format!("bad authority certificate: {e}")))?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());

        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(e.to_string()))?;
        let server = match verify {
            Verify::None => server.with_no_client_auth(),
            Verify::Peer | Verify::PeerAnyHost => server.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| tls_error(e.to_string()))?,
            ),
        }
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(|e| tls_error(format!("certificate and key: {e}")))?;

        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(e.to_string()))?;
        let client = match verify {
            Verify::Peer => client.with_root_certificates(roots),
            Verify::PeerAnyHost => client
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyHost(
                    WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                        .build()
                        .map_err(|e| tls_error(e.to_string()))?,
                ))),
            Verify::None => client
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoCheck(provider))),
        }
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(format!("certificate and key: {e}")))?;

        Ok(Tls::from_configs(Arc::new(server), Arc::new(client)))
    }

    /// A node's TLS from rustls configurations made by hand, for what the
    /// other constructors do not offer (other authorities for each side,
    /// revocation lists, a certificate resolver): `server` serves the
    /// connections other nodes make, `client` the ones this node makes.
    pub fn from_configs(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Tls {
        Tls { server, client }
    }

    /// The name a certificate must have to be a node on `host`.
    pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
        ServerName::try_from(host.to_owned()).map_err(|e| format!("host {host:?}: {e}"))
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn tls_error(reason: String) -> DistError {
    DistError::Tls { reason }
}

fn certificates_of(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, DistError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("{what}: {e}")))?;
    if certificates.is_empty() {
        return Err(tls_error(format!("{what}: no certificate")));
    }
    Ok(certificates)
}

/// Checks a node's certificate as rustls does, but not the host it names.
#[derive(Debug)]
struct AnyHost(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHost {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Takes any certificate, checking only that the peer holds its key.
#[derive(Debug)]
struct NoCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
