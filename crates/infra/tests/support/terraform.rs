//! Terraform and its aws provider mirror for the tests that run terraform offline: both, or a
//! skip that fails when scripts/test requires terraform (RDMABENCH_REQUIRE_TERRAFORM).

use std::path::PathBuf;

use rdmabench_infra::terraform::{provider_mirror, Terraform};

/// Terraform and the mirror, or None after saying why the test is skipped.
pub fn terraform_or_skip() -> Option<(Terraform, PathBuf)> {
    let required = std::env::var_os("RDMABENCH_REQUIRE_TERRAFORM").is_some();
    match (Terraform::find(), provider_mirror()) {
        (Ok(t), Some(m)) => Some((t, m)),
        (t, m) => {
            assert!(
                !required,
                "RDMABENCH_REQUIRE_TERRAFORM is set but terraform ({:?}) or the aws provider mirror ({m:?}) is missing",
                t.err()
            );
            eprintln!("skipping: terraform or its provider mirror is not installed");
            None
        }
    }
}
