//! The rustls client configuration of a TLS sink, built once from `[sinks.NAME.tls]`.
//!
//! Certificate and host-name verification are always on: these settings only choose what to trust
//! (`ca_file`, else the system's roots) and who we are (`cert_file` + `key_file` for mutual TLS).
//! Every file is read here, when the sink is created, so a missing or unreadable file is a startup
//! error rather than a surprise at the first connection. (Acknowledgement semantics belong to the
//! sinks that use this; nothing here sends data.)

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::config::TlsConfig;

/// The crypto provider of every TLS connection logferry makes.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the client configuration: trust anchors, optional client certificate, safe defaults
/// (TLS 1.2 and 1.3, the provider's default cipher suites).
pub fn client_config(tls: &TlsConfig) -> anyhow::Result<Arc<ClientConfig>> {
    let roots = match &tls.ca_file {
        Some(ca) => file_roots(ca.get_ref())?,
        None => system_roots()?,
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no safe protocol version")?
        .with_root_certificates(roots);
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert.get_ref())?;
            let key_path = key.get_ref();
            let key = PrivateKeyDer::from_pem_file(key_path)
                .map_err(|e| anyhow!("tls.key_file {}: {e}", key_path.display()))?;
            builder.with_client_auth_cert(chain, key).with_context(|| {
                format!(
                    "tls.key_file {} does not fit tls.cert_file",
                    key_path.display()
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => bail!("tls.cert_file and tls.key_file go together"),
    };
    Ok(Arc::new(config))
}

/// The name the collector's certificate must match: `server_name`, else `host` (the host part of the
/// address). An IP literal becomes an IP-address name, matched against the certificate's IP SANs.
pub fn server_name(tls: &TlsConfig, host: &str) -> anyhow::Result<ServerName<'static>> {
    let name = tls.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string())
        .map_err(|e| anyhow!("{name:?} is not a valid TLS server name ({e}); set tls.server_name"))
}

/// Every certificate of a PEM file; none is an error.
pub(crate) fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no PEM certificate in the file", path.display());
    }
    Ok(certs)
}

/// Trust exactly the CA certificates of `path`.
fn file_roots(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .with_context(|| format!("tls.ca_file {}: unusable CA certificate", path.display()))?;
    }
    Ok(roots)
}

/// Trust the operating system's roots; finding none is an error (every connection would fail).
fn system_roots() -> anyhow::Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!("reading the system's root certificates: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!("ignored {ignored} unparsable system root certificates");
    }
    if added == 0 {
        bail!("no usable system root certificates; install some or set tls.ca_file");
    }
    Ok(roots)
}
