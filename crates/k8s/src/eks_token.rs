//! EKS bearer tokens: a presigned STS GetCallerIdentity URL, as `aws eks get-token` makes.
//!
//! The API server hands the URL to STS, which answers with the caller's identity; the signed
//! `x-k8s-aws-id` header binds the token to one cluster. STS accepts such a URL for 15 minutes
//! after its `X-Amz-Date` (whatever `X-Amz-Expires` says), so [`EksTokenSource`] signs a new one
//! well before that and a long run never presents an expired token. Everything is signed here
//! with the caller's AWS credentials: no aws CLI, no exec plugin.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::Region;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// How long STS accepts a presigned GetCallerIdentity URL after its `X-Amz-Date`.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// When [`EksTokenSource::from_environment`] signs a new token: a third of the lifetime is left
/// for clock skew and for requests already under way.
pub const DEFAULT_REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);
/// The latest a token is ever reused: a minute before it expires, as `aws eks get-token` does.
const MAX_REFRESH_AFTER: Duration = Duration::from_secs(14 * 60);
/// Stop reusing a token this long before its credentials expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(60);
/// `X-Amz-Expires` of the presigned URL. STS ignores it; aws-iam-authenticator 0.3 and older
/// require 0..=60, so every client sends 60.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
/// Limit for the AWS credential providers (SSO, instance metadata ... go over the network).
const CREDENTIALS_LIMIT: Duration = Duration::from_secs(60);
const TOKEN_PREFIX: &str = "k8s-aws-v1.";
const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// botocore's parameter order (operation, then authentication parameters, signature last), so
/// the URL is byte for byte what `aws eks get-token` would produce.
const QUERY_ORDER: [&str; 9] = [
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

/// An EKS token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The AWS credential chain had no usable credentials.
    #[error("no AWS credentials to sign the EKS token with ({0}): configure credentials as for the AWS CLI (environment, `aws configure`, AWS_PROFILE, `aws sso login`)")]
    Credentials(String),
    /// The AWS credential providers did not answer in time.
    #[error("the AWS credential providers gave no answer within {0:?}: check network access to SSO or the instance metadata service, or set credentials in the environment")]
    CredentialsTimedOut(Duration),
    /// SigV4 rejected its inputs (in practice a cluster name or region with odd characters).
    #[error("signing the EKS token for cluster {cluster:?} in {region:?}: {message} (check the cluster name and region in `rdmabench infra outputs`)")]
    Sign {
        /// The cluster name the token was for.
        cluster: String,
        /// The region.
        region: String,
        /// What the signer reported.
        message: String,
    },
}

/// A bearer token for one EKS cluster.
#[derive(Clone)]
pub struct EksToken {
    token: String,
    signed_at: SystemTime,
    expires_at: SystemTime,
}

impl EksToken {
    /// The token, `k8s-aws-v1.` + base64url(presigned URL) without padding, for
    /// `Authorization: Bearer`.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// When it was signed (its `X-Amz-Date`).
    pub fn signed_at(&self) -> SystemTime {
        self.signed_at
    }

    /// When the API server stops accepting it: 15 minutes after signing, or earlier when the
    /// credentials that signed it expire first.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for EksToken {
    // The token grants cluster access for 15 minutes: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EksToken")
            .field("token", &"<redacted>")
            .field("signed_at", &self.signed_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Signs EKS tokens for one cluster: pure, given credentials and a time.
#[derive(Debug, Clone)]
pub struct EksTokenSigner {
    cluster_name: String,
    region: String,
}

impl EksTokenSigner {
    /// A signer for `cluster_name` in `region`, using the regional STS endpoint.
    pub fn new(cluster_name: impl Into<String>, region: impl Into<String>) -> Self {
        EksTokenSigner {
            cluster_name: cluster_name.into(),
            region: region.into(),
        }
    }

    /// The token for `credentials` signed at `now`.
    pub fn sign(&self, credentials: &Credentials, now: SystemTime) -> Result<EksToken, TokenError> {
        let url = format!(
            "https://{}/?Action=GetCallerIdentity&Version=2011-06-15",
            sts_host(&self.region)
        );
        let identity = credentials.clone().into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(PRESIGN_EXPIRES);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sts")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| self.sign_error(e))?
            .into();
        let request = SignableRequest::new(
            "GET",
            &url,
            std::iter::once((CLUSTER_ID_HEADER, self.cluster_name.as_str())),
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| self.sign_error(e))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| self.sign_error(e))?
            .into_parts();
        let (_headers, mut query) = instructions.into_parts();
        let rank = |name: &str| QUERY_ORDER.iter().position(|n| *n == name);
        query.sort_by_key(|(name, _)| rank(name).unwrap_or(QUERY_ORDER.len()));
        let mut presigned = url;
        for (name, value) in query {
            presigned.push('&');
            presigned.push_str(name);
            presigned.push('=');
            presigned.push_str(&uri_encode(&value));
        }
        let lifetime_end = now + TOKEN_LIFETIME;
        Ok(EksToken {
            token: format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(presigned)),
            signed_at: now,
            expires_at: credentials
                .expiry()
                .map_or(lifetime_end, |expiry| expiry.min(lifetime_end)),
        })
    }

    fn sign_error(&self, error: impl fmt::Display) -> TokenError {
        TokenError::Sign {
            cluster: self.cluster_name.clone(),
            region: self.region.clone(),
            message: error.to_string(),
        }
    }
}

/// The regional STS endpoint (what aws-iam-authenticator and recent AWS CLIs use); China
/// regions live under amazonaws.com.cn.
fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// SigV4 URI encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX (uppercase hex).
fn uri_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Hands out a valid token for one cluster, signing a new one when the cached one is older than
/// the refresh age (or its credentials are about to expire), so callers never see an expired one.
#[derive(Debug)]
pub struct EksTokenSource {
    signer: EksTokenSigner,
    credentials: SharedCredentialsProvider,
    clock: SharedTimeSource,
    refresh_after: Duration,
    /// The current token and when to stop reusing it.
    cached: Mutex<Option<(EksToken, SystemTime)>>,
}

impl EksTokenSource {
    /// Tokens for `cluster_name` in `region`, signed with the credentials the AWS CLI would use
    /// (environment, profiles, SSO, instance roles), on the system clock, renewed after
    /// [`DEFAULT_REFRESH_AFTER`].
    pub async fn from_environment(cluster_name: &str, region: &str) -> Self {
        let chain = DefaultCredentialsChain::builder()
            .region(Region::new(region.to_string()))
            .build()
            .await;
        EksTokenSource::new(
            EksTokenSigner::new(cluster_name, region),
            chain,
            SystemTimeSource::new(),
            DEFAULT_REFRESH_AFTER,
        )
    }

    /// Tokens from `signer` with `credentials`, timed by `clock` (tests pass fixed ones), reused
    /// until they are `refresh_after` old (at most 14 minutes, as `aws eks get-token`).
    pub fn new(
        signer: EksTokenSigner,
        credentials: impl ProvideCredentials + 'static,
        clock: impl TimeSource + 'static,
        refresh_after: Duration,
    ) -> Self {
        EksTokenSource {
            signer,
            credentials: SharedCredentialsProvider::new(credentials),
            clock: SharedTimeSource::new(clock),
            refresh_after: refresh_after.min(MAX_REFRESH_AFTER),
            cached: Mutex::new(None),
        }
    }

    /// A token the API server accepts for a while yet (by default at least 5 more minutes): the
    /// cached one while it is younger than the refresh age, else a newly signed one.
    pub async fn token(&self) -> Result<EksToken, TokenError> {
        let now = self.clock.now();
        if let Some(token) = self.reusable(now) {
            return Ok(token);
        }
        let credentials =
            tokio::time::timeout(CREDENTIALS_LIMIT, self.credentials.provide_credentials())
                .await
                .map_err(|_| TokenError::CredentialsTimedOut(CREDENTIALS_LIMIT))?
                .map_err(|e| TokenError::Credentials(error_chain(&e)))?;
        let token = self.signer.sign(&credentials, self.clock.now())?;
        let credentials_end = token.expires_at.checked_sub(CREDENTIALS_MARGIN);
        let reuse_until =
            (token.signed_at + self.refresh_after).min(credentials_end.unwrap_or(token.signed_at));
        *self.lock() = Some((token.clone(), reuse_until));
        Ok(token)
    }

    fn reusable(&self, now: SystemTime) -> Option<EksToken> {
        match &*self.lock() {
            Some((token, reuse_until)) if token.signed_at <= now && now < *reuse_until => {
                Some(token.clone())
            }
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(EksToken, SystemTime)>> {
        // The guarded code cannot panic halfway; a poisoned cache is still a consistent one.
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error with its sources: the SDK's Display alone is terse ("the credential provider was
/// not enabled").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encode_keeps_only_unreserved_characters() {
        assert_eq!(uri_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(uri_encode("a/b+c=;"), "a%2Fb%2Bc%3D%3B");
    }

    #[test]
    fn china_regions_use_the_cn_partition() {
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(sts_host("us-gov-west-1"), "sts.us-gov-west-1.amazonaws.com");
    }
}
