//! The authenticated Kubernetes client: for an EKS cluster straight from the infra outputs (every
//! request carries a fresh in-process EKS token, so runs longer than a token's 15 minutes keep
//! working), or from the user's kubeconfig.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Uri};
use kube::client::{Body, ClientBuilder};
use kube::config::{KubeConfigOptions, KubeconfigError};
use kube::{Client, Config};
use tower::buffer::BufferLayer;
use tower::filter::AsyncFilterLayer;
use tower::BoxError;

use crate::eks_token::{EksTokenSource, TokenError};

/// Limit for opening a connection to the API server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit for an answer (counted from when the request was sent); above the 290 s a watch asks the
/// server for, so only a dead connection trips it.
const READ_TIMEOUT: Duration = Duration::from_secs(295);
/// Requests that may wait for the token layer at once (kube's own buffer is as large).
const BUFFER: usize = 1024;

/// Which cluster to talk to and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAccess {
    /// The EKS cluster rdmabench created, as `rdmabench infra outputs` reports it, with tokens
    /// signed from the user's AWS credentials.
    Eks {
        /// The EKS cluster name (bound into every token).
        cluster_name: String,
        /// Its AWS region.
        region: String,
        /// The API server URL (https; plain http only to a loopback address, for tests).
        endpoint: String,
        /// The cluster CA as base64 of PEM (the `cluster_certificate_authority` output); needed
        /// for https.
        certificate_authority: Option<String>,
    },
    /// A context of the user's kubeconfig (`KUBECONFIG` or `~/.kube/config`), e.g. one written
    /// by `aws eks update-kubeconfig`.
    Kubeconfig {
        /// The context to use; the current one when `None`.
        context: Option<String>,
    },
}

/// The Kubernetes client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is not an https URL (or http to a loopback address).
    #[error("the cluster endpoint {endpoint:?} is not usable: {reason}; use the `cluster_endpoint` that `rdmabench infra outputs` prints")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA is missing or not base64 of a PEM certificate.
    #[error("the cluster certificate authority is not usable: {0}; use the `cluster_certificate_authority` that `rdmabench infra outputs` prints")]
    CertificateAuthority(String),
    /// No EKS token could be made.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The kubeconfig could not be read or has no such context.
    #[error("loading the kubeconfig{}: {source}; check KUBECONFIG or ~/.kube/config (`aws eks update-kubeconfig` writes one)", context.as_ref().map(|c| format!(" (context {c:?})")).unwrap_or_default())]
    Kubeconfig {
        /// The context asked for.
        context: Option<String>,
        /// kube's error.
        source: KubeconfigError,
    },
    /// Neither a kubeconfig nor a pod's service account was found.
    #[error("finding the cluster: {0}; inside a pod this needs the pod's service account (automountServiceAccountToken), outside one a kubeconfig (KUBECONFIG or ~/.kube/config)")]
    Infer(String),
    /// kube could not build its HTTP stack (TLS setup, or an unsupported proxy in HTTPS_PROXY).
    #[error("setting up the Kubernetes client: {0}; check the cluster CA and the HTTPS_PROXY/NO_PROXY settings")]
    Build(#[source] kube::Error),
}

/// A client for `access`. For EKS this loads the AWS credential chain for the cluster's region
/// and signs a first token, so missing credentials show up here rather than on the first call.
pub async fn connect(access: &ClusterAccess) -> Result<Client, ClientError> {
    match access {
        ClusterAccess::Eks {
            cluster_name,
            region,
            endpoint,
            certificate_authority,
        } => {
            let tokens = EksTokenSource::from_environment(cluster_name, region).await;
            eks_client(endpoint, certificate_authority.as_deref(), tokens).await
        }
        ClusterAccess::Kubeconfig { context } => {
            let options = KubeConfigOptions {
                context: context.clone(),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_kubeconfig(&options).await.map_err(|source| {
                ClientError::Kubeconfig {
                    context: context.clone(),
                    source,
                }
            })?;
            Client::try_from(with_limits(config)).map_err(ClientError::Build)
        }
    }
}

/// A client for wherever this process runs: the kubeconfig when there is one, else the pod's
/// own service account (how `rdmabench launch` reaches the API from the mpirun pod).
pub async fn infer() -> Result<Client, ClientError> {
    let config = Config::infer()
        .await
        .map_err(|e| ClientError::Infer(e.to_string()))?;
    Client::try_from(with_limits(config)).map_err(ClientError::Build)
}

/// A client for the API server at `endpoint` (trusting `certificate_authority`, base64 of PEM)
/// whose every request carries `Authorization: Bearer` with a token from `tokens`, re-signed
/// whenever the source deems the cached one too old. A first token is signed before returning.
pub async fn eks_client(
    endpoint: &str,
    certificate_authority: Option<&str>,
    tokens: EksTokenSource,
) -> Result<Client, ClientError> {
    let url = parse_endpoint(endpoint)?;
    let mut config = Config::new(url.clone());
    config.root_cert = match (certificate_authority, url.scheme_str()) {
        (Some(ca), _) => Some(decode_certificate_authority(ca)?),
        (None, Some("https")) => {
            return Err(ClientError::CertificateAuthority(
                "none given for an https endpoint".into(),
            ))
        }
        (None, _) => None,
    };
    tokens.token().await?;
    let tokens = Arc::new(tokens);
    let bearer = AsyncFilterLayer::new(move |mut request: Request<Body>| {
        let tokens = Arc::clone(&tokens);
        async move {
            let token = tokens.token().await?;
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.as_str()))?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok::<_, BoxError>(request)
        }
    });
    // kube's default stack (TLS, timeouts, retries, tracing) is boxed and not Clone, which the
    // token filter needs to hold the inner service across the await: a buffer makes it so.
    Ok(ClientBuilder::try_from(with_limits(config))
        .map_err(ClientError::Build)?
        .with_layer(&BufferLayer::new(BUFFER))
        .with_layer(&bearer)
        .build())
}

/// The connection limits rdmabench wants on every client: a wait never lasts forever.
fn with_limits(mut config: Config) -> Config {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.reset_reader_on_write = true;
    config
}

/// https, or http to a loopback address only: a bearer token never travels in clear text.
fn parse_endpoint(endpoint: &str) -> Result<Uri, ClientError> {
    let invalid = |reason: String| ClientError::Endpoint {
        endpoint: endpoint.to_string(),
        reason,
    };
    let url: Uri = endpoint.parse().map_err(|e| invalid(format!("{e}")))?;
    let host = url.host().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme_str() {
        Some("https") if !host.is_empty() => Ok(url),
        Some("http") if loopback => Ok(url),
        Some("http") => Err(invalid(
            "plain http is only allowed to a loopback address (it would expose the token)".into(),
        )),
        _ => Err(invalid("expected an https:// URL with a host".into())),
    }
}

/// The DER certificates in base64-of-PEM, as EKS reports `certificateAuthority.data`.
fn decode_certificate_authority(data: &str) -> Result<Vec<Vec<u8>>, ClientError> {
    let compact: String = data.split_whitespace().collect();
    let pem_text = STANDARD
        .decode(compact)
        .map_err(|e| ClientError::CertificateAuthority(format!("not base64 ({e})")))?;
    let certificates: Vec<Vec<u8>> = pem::parse_many(pem_text)
        .map_err(|e| ClientError::CertificateAuthority(format!("not PEM ({e})")))?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if certificates.is_empty() {
        return Err(ClientError::CertificateAuthority(
            "no CERTIFICATE block in the PEM".into(),
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_or_loopback_http() {
        assert!(parse_endpoint("https://ABC.gr7.us-west-2.eks.amazonaws.com").is_ok());
        assert!(parse_endpoint("http://127.0.0.1:6443").is_ok());
        assert!(parse_endpoint("http://[::1]:6443").is_ok());
        assert!(parse_endpoint("http://localhost:6443").is_ok());
        for bad in ["http://10.0.0.1:6443", "ftp://example.com", "not a url", ""] {
            let error = parse_endpoint(bad).unwrap_err().to_string();
            assert!(error.contains("rdmabench infra outputs"), "{error}");
        }
    }

    #[test]
    fn certificate_authority_is_base64_of_pem() {
        let pem_text = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";
        let encoded = STANDARD.encode(pem_text);
        assert_eq!(
            decode_certificate_authority(&encoded).unwrap(),
            vec![vec![1, 2, 3]]
        );
        for bad in [
            "%%%",
            &STANDARD.encode("hello"),
            &STANDARD.encode("-----BEGIN KEY-----\nAQID\n-----END KEY-----\n"),
        ] {
            let error = decode_certificate_authority(bad).unwrap_err().to_string();
            assert!(error.contains("rdmabench infra outputs"), "{error}");
        }
    }
}
