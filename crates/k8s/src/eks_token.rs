//! EKS bearer tokens: a presigned STS GetCallerIdentity URL, as `aws eks get-token` makes.
