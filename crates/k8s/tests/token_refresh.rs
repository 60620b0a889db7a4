//! A measurement that outlives its EKS token: the orchestration keeps working because every
//! request carries a token from the refreshing source. The fake API (tests/support/kube_fake.py)
//! checks each token like the EKS authenticator does and answers 401 once it is older than
//! allowed; here "allowed" is scaled down from 15 minutes to seconds, and the refresh age with it.

#[path = "../../../tests/support/kube_fake.rs"]
mod kube_fake;
#[path = "../../../tests/support/service.rs"]
mod service;

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_async::time::SystemTimeSource;
use kube_fake::FakeApi;
use rdmabench_infra::instances::lookup;
use rdmabench_infra::EfaDevices;
use rdmabench_k8s::client::eks_client;
use rdmabench_k8s::eks_token::{EksTokenSigner, EksTokenSource};
use rdmabench_k8s::manifests::{BenchSpec, Bundle, Mode};
use rdmabench_k8s::orchestrate::{Cluster, Timeouts};
use rdmabench_k8s::K8sError;

/// Tokens older than this are refused by the fake.
const MAX_TOKEN_AGE_SECONDS: &str = "4";
/// How long the fake client pod "measures": longer than a token may live.
const RUN_SECONDS: &str = "9";

fn start_fake() -> FakeApi {
    let log = kube_fake::fixture_results();
    FakeApi::start(&[
        "--eks-max-age".as_ref(),
        MAX_TOKEN_AGE_SECONDS.as_ref(),
        "--run-seconds".as_ref(),
        RUN_SECONDS.as_ref(),
        "--client-log".as_ref(),
        log.as_os_str(),
    ])
}

/// Runs one pod-mode measurement with tokens renewed after `refresh_after`.
async fn measure(fake: &FakeApi, refresh_after: Duration) -> Result<(), K8sError> {
    let tokens = EksTokenSource::new(
        EksTokenSigner::new("rdmabench-test", "us-east-1"),
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        ),
        SystemTimeSource::new(),
        refresh_after,
    );
    let client = eks_client(&fake.service.url(), None, tokens).await.unwrap();
    let spec = BenchSpec {
        namespace: "rdmabench".into(),
        image: "registry.example/rdmabench:1".into(),
        region: "us-east-1".into(),
        instance: lookup("c7gn.16xlarge").unwrap(),
        hugepages_2mi: 0,
        port: 18515,
        test: "pingpong".into(),
        bench_args: vec!["--transport".into(), "socket".into()],
        deadline_seconds: 120,
        launcher: false,
        efa_devices: EfaDevices::DevicePlugin,
    };
    let bundle = Bundle::new(&spec, &[Mode::Pod]);
    let cluster = Cluster::new(client, &spec.namespace, std::sync::Arc::new(|_: &str| {}));
    cluster.deploy(&bundle, 1, Duration::from_secs(10)).await?;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let timeouts = Timeouts {
        start: Duration::from_secs(10),
        run: Duration::from_secs(60),
        delete: Duration::from_secs(10),
    };
    let measurement = cluster
        .measure(&bundle.modes[0], timeouts, shutdown)
        .await?;
    assert_eq!(measurement.results.results.len(), 2);
    Ok(())
}

/// The distinct tokens the fake accepted, in order of first use.
fn accepted_tokens(fake: &FakeApi) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for entry in fake.journal() {
        let token = entry["token"].as_str().unwrap().to_string();
        if entry["rejected"].is_null() && !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    tokens
}

#[tokio::test]
async fn a_run_longer_than_a_token_lives_keeps_working() {
    let fake = start_fake();
    measure(&fake, Duration::from_secs(2)).await.unwrap();
    let tokens = accepted_tokens(&fake);
    assert!(
        tokens.len() >= 3,
        "a ~10 s run with 2 s refreshes uses several tokens, got {}",
        tokens.len()
    );
}

#[tokio::test]
async fn without_refresh_the_same_run_fails_on_the_expired_token() {
    let fake = start_fake();
    let error = measure(&fake, Duration::from_secs(600)).await.unwrap_err();
    assert!(
        error.to_string().contains("Unauthorized"),
        "the fake must refuse the stale token: {error}"
    );
}
