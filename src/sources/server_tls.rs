//! The rustls server configuration of a listening source (`[sources.NAME.tls]`), built once at start,
//! and the check of a client certificate's subject against `allowed_subjects`.
//!
//! With `client_ca_file`, a client must present a certificate chaining to one of its CAs (rustls
//! refuses the handshake otherwise); `allowed_subjects` then narrows which certificates are accepted,
//! by subject common name or DNS name. Every file is read here, so a missing or bad one stops the
//! start (or a reload) with an error naming it.

use std::sync::Arc;

use anyhow::{anyhow, Context};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ServerTlsConfig;
use crate::sinks::tls::{provider, read_certs};

/// Builds the server configuration; `alpn` lists the protocols to offer (empty for syslog).
pub fn server_config(tls: &ServerTlsConfig, alpn: &[&[u8]]) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_certs(tls.cert_file.get_ref())?;
    let key_path = tls.key_file.get_ref();
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| anyhow!("tls.key_file {}: {e}", key_path.display()))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no safe protocol version")?;
    let builder = match &tls.client_ca_file {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca.get_ref())? {
                roots.add(cert).with_context(|| {
                    format!(
                        "tls.client_ca_file {}: unusable CA certificate",
                        ca.get_ref().display()
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .context("tls.client_ca_file: cannot verify clients with it")?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).with_context(|| {
        format!(
            "tls.key_file {} does not fit tls.cert_file",
            key_path.display()
        )
    })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The subject common names and DNS names of a certificate; empty if it does not parse.
pub fn subject_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_string());
            }
        }
    }
    names
}

/// Whether a client presenting `chain` may send: always without an allow-list; with one, only if
/// its certificate names one of the allowed subjects.
pub fn client_allowed(allowed: Option<&[String]>, chain: Option<&[CertificateDer<'_>]>) -> bool {
    let Some(allowed) = allowed else {
        return true;
    };
    let Some(leaf) = chain.and_then(|c| c.first()) else {
        return false;
    };
    subject_names(leaf)
        .iter()
        .any(|name| allowed.iter().any(|a| a == name))
}
