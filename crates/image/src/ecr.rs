//! The ECR side of a push: the repository named by its URL, registry credentials from
//! GetAuthorizationToken (no aws CLI needed), and whether a tag is already there
//! (DescribeImages). Endpoints and credentials come from the standard SDK environment, so
//! `AWS_ENDPOINT_URL` points the offline tests at moto.

use std::fmt;

use aws_sdk_ecr::types::ImageIdentifier;
use base64::Engine;
use rdmabench_infra::aws::Aws;

use crate::ImageError;

/// An ECR repository, from its URL `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The registry host, what `docker login` takes.
    pub registry: String,
    /// The 12-digit account (the registry id).
    pub account: String,
    /// The region, where the ECR API calls go.
    pub region: String,
    /// The repository name, e.g. `rdmabench/bench`.
    pub name: String,
}

impl Repository {
    /// Parses a repository URL as `infra outputs` prints it (`ecr_repository_url`).
    pub fn parse(url: &str) -> Result<Repository, ImageError> {
        let invalid = |reason: &str| ImageError::Repository {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let (registry, name) = url
            .split_once('/')
            .ok_or_else(|| invalid("no repository name after the registry host"))?;
        let labels: Vec<&str> = registry.split('.').collect();
        let (account, region) = match labels.as_slice() {
            [account, "dkr", "ecr", region, "amazonaws", "com", rest @ ..]
                if rest.is_empty() || rest == ["cn"] =>
            {
                (*account, *region)
            }
            _ => {
                return Err(invalid(
                    "the host is not ACCOUNT.dkr.ecr.REGION.amazonaws.com",
                ))
            }
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the account id in the host is not 12 digits"));
        }
        if name.is_empty() || name.contains([':', '@']) {
            return Err(invalid(
                "give the repository without a tag or digest; the tag comes from the source",
            ));
        }
        Ok(Repository {
            registry: registry.to_string(),
            account: account.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        })
    }

    /// `REGISTRY/NAME:TAG`.
    pub fn reference(&self, tag: &str) -> String {
        format!("{}/{}:{tag}", self.registry, self.name)
    }
}

/// Registry credentials from ECR; the password stays out of Debug output.
pub struct RegistryLogin {
    /// Always `AWS` for ECR tokens.
    pub username: String,
    password: String,
}

impl RegistryLogin {
    /// Decodes an authorization token: base64 of `USER:PASSWORD`.
    fn decode(token: &str) -> Result<RegistryLogin, ImageError> {
        let bad = |why: &str| ImageError::Token(why.to_string());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| bad("not base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| bad("no USER:PASSWORD inside"))?;
        Ok(RegistryLogin {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    /// The password, for `docker login --password-stdin` only.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for RegistryLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryLogin")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The ECR API of one region.
pub struct Ecr {
    aws: Aws,
    client: aws_sdk_ecr::Client,
}

impl Ecr {
    /// Loads credentials and settings for `region` the way the AWS CLI does.
    pub fn connect(region: &str) -> Result<Ecr, ImageError> {
        let aws = Aws::connect(region)?;
        let client = aws_sdk_ecr::Client::new(aws.sdk_config());
        Ok(Ecr { aws, client })
    }

    /// ecr:GetAuthorizationToken, decoded into what `docker login` takes (valid 12 hours).
    pub fn login(&self) -> Result<RegistryLogin, ImageError> {
        let output = self.aws.call(
            "ecr:GetAuthorizationToken",
            self.client.get_authorization_token().send(),
        )?;
        let token = output
            .authorization_data()
            .first()
            .and_then(|data| data.authorization_token())
            .ok_or_else(|| ImageError::Token("ECR returned no authorization data".into()))?;
        RegistryLogin::decode(token)
    }

    /// ecr:DescribeImages for one tag: whether `repository` already holds it.
    pub fn has_tag(&self, repository: &Repository, tag: &str) -> Result<bool, ImageError> {
        let request = self
            .client
            .describe_images()
            .registry_id(&repository.account)
            .repository_name(&repository.name)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build());
        let found = self.aws.call("ecr:DescribeImages", async {
            match request.send().await {
                Ok(output) => Ok(!output.image_details().is_empty()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_image_not_found_exception()) =>
                {
                    Ok(false)
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_as_terraform_prints_them() {
        let repo =
            Repository::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench/bench")
                .unwrap();
        assert_eq!(
            repo.registry,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            (
                repo.account.as_str(),
                repo.region.as_str(),
                repo.name.as_str()
            ),
            ("123456789012", "us-east-1", "rdmabench/bench")
        );
        assert_eq!(
            repo.reference("0.1.0-abc"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench/bench:0.1.0-abc"
        );
        let china =
            Repository::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/b").unwrap();
        assert_eq!(china.region, "cn-north-1");
    }

    #[test]
    fn other_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "no repository name",
            ),
            ("docker.io/library/ubuntu", "not ACCOUNT.dkr.ecr"),
            ("12345.dkr.ecr.us-east-1.amazonaws.com/b", "12 digits"),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/b:latest",
                "without a tag",
            ),
        ] {
            let error = Repository::parse(url).unwrap_err().to_string();
            assert!(error.contains(reason) && error.contains(url), "{error}");
        }
    }

    #[test]
    fn tokens_decode_and_passwords_stay_out_of_debug() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:s3cr:et");
        let login = RegistryLogin::decode(&token).unwrap();
        assert_eq!(
            (login.username.as_str(), login.password()),
            ("AWS", "s3cr:et")
        );
        assert!(!format!("{login:?}").contains("s3cr"));
        assert!(RegistryLogin::decode("%%%").is_err());
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWS");
        assert!(RegistryLogin::decode(&no_colon).is_err());
    }
}
