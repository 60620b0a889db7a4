//! The few AWS APIs rdmabench calls itself (everything else goes through Terraform): STS for
//! "who am I", Service Quotas for the preflight, and the tagging API to find a stack's resources
//! without Terraform state. Endpoints come from the standard SDK environment (`AWS_ENDPOINT_URL`
//! and friends), which is how the offline tests point them at a local moto server.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Tag whose value is the stack name, on every resource the stack creates.
pub const STACK_TAG: &str = "rdmabench:stack";
/// Limit for any single AWS call including retries, so nothing waits forever on a dead endpoint.
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// An AWS call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The SDK reported an error (credentials, permissions, throttling, network ...).
    #[error("{call}: {message}")]
    Call {
        /// The API call, e.g. "sts:GetCallerIdentity".
        call: &'static str,
        /// The SDK's message with its error code.
        message: String,
    },
    /// The call did not finish within its limit.
    #[error("{call}: no answer within {limit:?} (check network access and AWS_ENDPOINT_URL)")]
    TimedOut {
        /// The API call.
        call: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// No credentials in the environment, the profile files or the rest of the SDK's chain.
    #[error("{0}; configure AWS credentials (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and run the command again")]
    NoCredentials(String),
    /// The async runtime could not be started.
    #[error("starting the AWS client runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// 12-digit account id.
    pub account: String,
    /// ARN of the caller (an assumed-role session ARN for roles).
    pub arn: String,
}

impl CallerIdentity {
    /// The partition ("aws", "aws-cn", "aws-us-gov") from the ARN.
    pub fn partition(&self) -> &str {
        self.arn.split(':').nth(1).unwrap_or("aws")
    }
}

/// One resource found through the tagging API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    /// Its ARN.
    pub arn: String,
    /// All its tags.
    pub tags: BTreeMap<String, String>,
}

impl TaggedResource {
    /// The service and resource type of the ARN, e.g. ("ec2", "subnet") or ("eks", "cluster").
    pub fn kind(&self) -> (&str, &str) {
        let mut parts = self.arn.splitn(6, ':');
        let service = parts.nth(2).unwrap_or_default();
        let resource = parts.nth(2).unwrap_or_default();
        let kind = resource.split(['/', ':']).next().unwrap_or_default();
        (service, kind)
    }

    /// Whether AWS keeps listing this kind after deletion (KMS keys until their deletion window
    /// ends, NAT gateways for about an hour), so its presence alone does not prove a live stack.
    /// Neither can hold a stack up: a live NAT gateway needs a live subnet, which is listed too.
    pub fn lingers_after_deletion(&self) -> bool {
        matches!(self.kind(), ("kms", "key") | ("ec2", "natgateway"))
    }

    /// The resource's id: the last path element of the ARN (vpc-..., subnet-..., a name).
    pub fn id(&self) -> &str {
        self.arn.rsplit(['/', ':']).next().unwrap_or_default()
    }
}

/// A connection to one AWS region with the user's default credential chain.
pub struct Aws {
    runtime: tokio::runtime::Runtime,
    config: SdkConfig,
}

fn call_error(call: &'static str, error: impl std::error::Error) -> AwsError {
    AwsError::Call {
        call,
        message: with_sources(&error),
    }
}

/// The error with its source chain: the SDK's Display is terse ("service error"); the sources
/// have the code and message.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    message
}

impl Aws {
    /// Loads credentials and settings the way the AWS CLI does (environment, profiles, SSO,
    /// instance roles), for `region`.
    pub fn connect(region: &str) -> Result<Aws, AwsError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(Duration::from_secs(20))
            .build();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(region.to_string()))
                .timeout_config(timeouts)
                .load(),
        );
        Ok(Aws { runtime, config })
    }

    /// The loaded SDK settings, for clients of services this crate does not wrap (ECR).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Runs one SDK call to completion within the per-call limit, naming `call` in any error.
    pub fn call<T, E: std::error::Error>(
        &self,
        call: &'static str,
        future: impl Future<Output = Result<T, E>>,
    ) -> Result<T, AwsError> {
        self.runtime
            .block_on(async { tokio::time::timeout(CALL_LIMIT, future).await })
            .map_err(|_| AwsError::TimedOut {
                call,
                limit: CALL_LIMIT,
            })?
            .map_err(|e| call_error(call, e))
    }

    /// Resolves credentials through the chain every SDK call (and Terraform's AWS provider) uses,
    /// without calling AWS: a command can then say once that there are none, before terraform
    /// prints its own errors about them.
    pub fn check_credentials(&self) -> Result<(), AwsError> {
        use aws_sdk_sts::config::ProvideCredentials;
        let Some(provider) = self.config.credentials_provider() else {
            return Err(AwsError::NoCredentials("no credentials provider".into()));
        };
        self.runtime
            .block_on(async {
                tokio::time::timeout(CALL_LIMIT, provider.provide_credentials()).await
            })
            .map_err(|_| AwsError::TimedOut {
                call: "resolving credentials",
                limit: CALL_LIMIT,
            })?
            .map(|_| ())
            .map_err(|e| {
                // CredentialsNotLoaded: every provider of the chain had nothing, which the SDK
                // explains in one line per provider; a provider that failed (an expired SSO
                // token, a broken profile) keeps its own words.
                let detail = with_sources(&e);
                AwsError::NoCredentials(
                    if detail.starts_with("the credential provider was not enabled") {
                        "no AWS credentials found (looked in the environment, the profile files, web identity, ECS and instance metadata)".into()
                    } else {
                        format!("AWS credentials could not be loaded: {detail}")
                    },
                )
            })
    }

    /// sts:GetCallerIdentity: proves the credentials work and names the caller.
    pub fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let client = aws_sdk_sts::Client::new(&self.config);
        let output = self.call("sts:GetCallerIdentity", client.get_caller_identity().send())?;
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_string(),
            arn: output.arn().unwrap_or_default().to_string(),
        })
    }

    /// servicequotas:GetServiceQuota: the applied value of one quota (None if AWS reports none).
    pub fn quota(&self, service: &str, code: &str) -> Result<Option<f64>, AwsError> {
        let client = aws_sdk_servicequotas::Client::new(&self.config);
        let output = self.call(
            "servicequotas:GetServiceQuota",
            client
                .get_service_quota()
                .service_code(service)
                .quota_code(code)
                .send(),
        )?;
        Ok(output.quota().and_then(|q| q.value()))
    }

    /// tag:GetResources for `rdmabench:stack = name`, every page, sorted by ARN.
    pub fn stack_resources(&self, name: &str) -> Result<Vec<TaggedResource>, AwsError> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let client = aws_sdk_resourcegroupstagging::Client::new(&self.config);
        let filter = TagFilter::builder().key(STACK_TAG).values(name).build();
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a stack has tens of resources, 100 per page.
        for _page in 0..100 {
            let output = self.call(
                "tag:GetResources",
                client
                    .get_resources()
                    .tag_filters(filter.clone())
                    .set_pagination_token(token.clone())
                    .send(),
            )?;
            for mapping in output.resource_tag_mapping_list() {
                found.push(TaggedResource {
                    arn: mapping.resource_arn().unwrap_or_default().to_string(),
                    tags: mapping
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                });
            }
            match output.pagination_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        found.sort_by(|a, b| a.arn.cmp(&b.arn));
        found.dedup_by(|a, b| a.arn == b.arn);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(arn: &str) -> TaggedResource {
        TaggedResource {
            arn: arn.into(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn arn_kinds_and_ids() {
        let subnet = resource("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc");
        assert_eq!(subnet.kind(), ("ec2", "subnet"));
        assert_eq!(subnet.id(), "subnet-0abc");
        let cluster = resource("arn:aws:eks:us-east-1:123456789012:cluster/bench");
        assert_eq!(cluster.kind(), ("eks", "cluster"));
        assert_eq!(cluster.id(), "bench");
        let key = resource("arn:aws:kms:us-east-1:123456789012:key/1234-abcd");
        assert_eq!(key.kind(), ("kms", "key"));
        assert_eq!(key.id(), "1234-abcd");
        assert!(key.lingers_after_deletion() && !subnet.lingers_after_deletion());
        let logs = resource("arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/b/cluster");
        assert_eq!(logs.kind(), ("logs", "log-group"));
    }

    #[test]
    fn partition_comes_from_the_arn() {
        let caller = CallerIdentity {
            account: "1".into(),
            arn: "arn:aws-cn:sts::1:assumed-role/r/s".into(),
        };
        assert_eq!(caller.partition(), "aws-cn");
    }
}
